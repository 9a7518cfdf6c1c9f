/**
 * Lets plain `tsc` (tsconfig.json, `npm run typecheck`) follow imports of `.astro` components
 * from .ts files such as src/components/lesson/index.ts. Astro checks the components' own props
 * at build time; here they are typed loosely.
 */
declare module '*.astro' {
  const Component: (props: Record<string, unknown>) => unknown;
  export default Component;
}

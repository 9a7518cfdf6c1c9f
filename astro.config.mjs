// @ts-check
/**
 * IOV Lab site config. The built site must work from file:// (OFFLINE.md): static HTML in
 * folders (`lessons/<slug>/index.html`), stylesheets inlined, every link relative and naming a
 * file (src/lib/paths.ts), and no Vite-bundled client script anywhere — interactive code is
 * classic scripts in public/ (nav.js; the lab bundles under public/generated/) loaded with
 * `<script is:inline src="relative/path.js">`. src/build/check-offline.mjs enforces all of this
 * on dist/ after every build.
 */
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';

export default defineConfig({
  output: 'static',
  // No `site`/`base`: nothing may depend on where the folder is served from or unzipped to.
  trailingSlash: 'ignore',
  // Builds against other content (IOVLAB_CONTENT_DIR, see src/content.config.ts) keep their own
  // content cache, so they never mix with the course's; pair with `astro build --outDir …`.
  cacheDir: process.env.IOVLAB_ASTRO_CACHE_DIR || './node_modules/.astro',
  build: {
    format: 'directory',
    inlineStylesheets: 'always',
  },
  integrations: [mdx()],
  markdown: {
    shikiConfig: {
      // Both palettes are emitted as CSS variables; src/styles/global.css picks one per theme.
      themes: { light: 'github-light', dark: 'github-dark' },
      wrap: false,
    },
  },
  // Prefetch and the dev toolbar inject module scripts; the course has none.
  prefetch: false,
  devToolbar: { enabled: false },
  vite: {
    build: {
      // Never let Vite inline or emit client assets with absolute URLs.
      assetsInlineLimit: 0,
    },
  },
});

/**
 * Emit something once per rendered page: a lesson with five cells needs lab.js once. Components
 * of one page render share `Astro.request`, so a WeakMap keyed by it forgets finished pages.
 * (lab.js also guards itself, so a duplicate tag would only cost a re-parse.)
 */
const seen = new WeakMap<object, Set<string>>();

export function firstOnPage(request: object, key: string): boolean {
  let keys = seen.get(request);
  if (!keys) seen.set(request, (keys = new Set()));
  if (keys.has(key)) return false;
  keys.add(key);
  return true;
}

/** JSON for a <script type="application/json"> block: `<` escaped so `</script>` cannot end it. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

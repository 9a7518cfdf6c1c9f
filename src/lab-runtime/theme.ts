/**
 * Is the page dark right now? The site sets `data-theme="dark" | "light"` on <html> (nav.js);
 * without it the OS preference decides. Shared by the lab bundle and the editor bundle.
 */
export function isDarkTheme(): boolean {
  const root = document.documentElement;
  const t = root.dataset['theme'] ?? (root.classList.contains('dark') ? 'dark' : root.classList.contains('light') ? 'light' : undefined);
  if (t === 'dark') return true;
  if (t === 'light') return false;
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
}

/** Call `fn` whenever the theme may have changed. */
export function onThemeChange(fn: () => void): void {
  new MutationObserver(fn).observe(document.documentElement, { attributes: true, attributeFilter: ['class', 'data-theme'] });
  if (typeof matchMedia === 'function') matchMedia('(prefers-color-scheme: dark)').addEventListener('change', fn);
}

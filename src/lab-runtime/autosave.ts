/**
 * Saves code on every edit (debounced), shows a visible "saved" state, and flushes when the
 * page is hidden or closed, so nothing typed is lost (DESIGN.md §1).
 */
import type { Scope, Store } from './storage.ts';

export const SAVE_DELAY_MS = 250;

export class AutoSaver {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pendingCode: string | undefined;
  private readonly store: Store;
  private readonly scope: Scope;
  private readonly id: string;
  private readonly status: HTMLElement;
  version: string;
  /** False while saving is paused (damaged data that could not be backed up). */
  enabled = true;

  constructor(store: Store, scope: Scope, id: string, version: string, status: HTMLElement) {
    this.store = store;
    this.scope = scope;
    this.id = id;
    this.version = version;
    this.status = status;
    const flush = (): void => this.flush();
    addEventListener('pagehide', flush);
    document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && flush());
    if (!store.available) this.show('unavailable', 'Not saved: this browser does not let the page use its storage');
  }

  schedule(code: string): void {
    this.pendingCode = code;
    if (!this.store.available || !this.enabled) return;
    this.show('pending', 'Saving…');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pendingCode === undefined || !this.store.available || !this.enabled) return;
    const ok = this.store.saveCode(this.scope, this.id, this.pendingCode, this.version);
    this.pendingCode = undefined;
    if (ok) this.show('saved', 'Saved in this browser');
    else this.show('error', 'Not saved: the browser refused (storage full?) — copy your code somewhere safe');
  }

  show(state: 'saved' | 'pending' | 'error' | 'unavailable' | 'paused', text: string): void {
    this.status.dataset['state'] = state;
    this.status.textContent = text;
  }
}

/** A localStorage stand-in for the storage tests; `quota` = max number of keys (setItem throws past it, as a full store does). */
import type { StorageLike } from '../../src/lab-runtime/storage.ts';

export class MemStorage implements StorageLike {
  map = new Map<string, string>();
  readonly quota: number;
  constructor(quota = Infinity, init: Record<string, string> = {}) {
    this.quota = quota;
    for (const [k, v] of Object.entries(init)) this.map.set(k, v);
  }
  get length(): number {
    return this.map.size;
  }
  key(i: number): string | null {
    return [...this.map.keys()][i] ?? null;
  }
  getItem(k: string): string | null {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    if (!this.map.has(k) && this.map.size >= this.quota) throw new DOMException('full', 'QuotaExceededError');
    this.map.set(k, v);
  }
  removeItem(k: string): void {
    this.map.delete(k);
  }
  snapshot(): Record<string, string> {
    return Object.fromEntries([...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}

/**
 * Guest RAM as the migration sees it: 4 KiB pages, each with a content version (bumped on every
 * write), on the source and on the destination; and dirty bitmaps, one bit per page, as KVM
 * (KVM_GET_DIRTY_LOG, a `unsigned long` bitmap per memslot), vhost (the VHOST_SET_LOG_BASE log)
 * and a device (VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT) keep them. A page's version stands for
 * its bytes: two sides hold the same bytes exactly when they hold the same version.
 */

export const PAGE_BYTES = 4096;

/** A bitmap of `pages` bits in 32-bit words (bit i of word w is page 32w + i). */
export class DirtyBitmap {
  readonly words: Uint32Array;
  readonly pages: number;

  constructor(pages: number) {
    this.pages = pages;
    this.words = new Uint32Array(Math.ceil(pages / 32));
  }

  set(page: number): void {
    this.words[page >>> 5]! |= 1 << (page & 31);
  }

  test(page: number): boolean {
    return (this.words[page >>> 5]! & (1 << (page & 31))) !== 0;
  }

  /** Every page marked (QEMU starts pre-copy with the whole migration bitmap set). */
  fill(): void {
    this.words.fill(0xffffffff);
    const tail = this.pages & 31;
    if (tail) this.words[this.words.length - 1] = (1 << tail) - 1 >>> 0;
  }

  count(): number {
    let n = 0;
    for (let i = 0; i < this.words.length; i++) n += popcount(this.words[i]!);
    return n;
  }

  /**
   * OR this bitmap into `into` and clear it (QEMU's sync: read the log, merge it into the
   * migration bitmap, clear the log). Returns how many pages were newly set in `into`.
   */
  drainInto(into: DirtyBitmap): number {
    const a = this.words;
    const b = into.words;
    let added = 0;
    for (let i = 0; i < a.length; i++) {
      const w = a[i]!;
      if (w === 0) continue;
      added += popcount(w & ~b[i]!);
      b[i] = (b[i]! | w) >>> 0;
      a[i] = 0;
    }
    return added;
  }
}

/** Set bits of a 32-bit word (SWAR). */
export function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Page versions on one host. */
export class PageStore {
  readonly versions: Uint32Array;

  constructor(pages: number, initial = 0) {
    this.versions = new Uint32Array(pages);
    if (initial) this.versions.fill(initial);
  }

  get pages(): number {
    return this.versions.length;
  }
}

/** Pages whose versions differ between two stores. */
export function countMismatched(a: PageStore, b: PageStore): number {
  const x = a.versions;
  const y = b.versions;
  let n = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) n++;
  return n;
}

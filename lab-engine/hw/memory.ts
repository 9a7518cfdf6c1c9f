/**
 * Guest RAM as real bytes, addressed by guest-physical address (GPA). Sparse: 4 KiB pages are
 * allocated on first write, so a VM costs what it touches (DESIGN.md §3). Reads of untouched
 * pages return zeros, as freshly zeroed RAM does. All multi-byte accesses are little-endian,
 * the byte order of the structures that live here (e1000 descriptors, virtio rings).
 */
const PAGE = 4096;

export class GuestMemory {
  readonly size: number;
  /** Page number → page, allocated on first write (a holey array: fast indexed lookups). */
  #pages: (Uint8Array | undefined)[];
  #touched = 0;

  constructor(sizeBytes: number) {
    this.size = sizeBytes;
    this.#pages = new Array(Math.ceil(sizeBytes / PAGE));
  }

  /** Is [gpa, gpa+len) entirely inside guest RAM? */
  contains(gpa: number, len: number): boolean {
    return Number.isInteger(gpa) && Number.isInteger(len) && gpa >= 0 && len >= 0 && gpa + len <= this.size;
  }

  #page(n: number, create: boolean): Uint8Array | undefined {
    let p = this.#pages[n];
    if (!p && create) {
      p = new Uint8Array(PAGE);
      this.#pages[n] = p;
      this.#touched++;
    }
    return p;
  }

  /** Copy out `len` bytes. Caller checks bounds (contains) first. */
  read(gpa: number, len: number): Uint8Array {
    const pn0 = Math.floor(gpa / PAGE);
    const off0 = gpa - pn0 * PAGE;
    if (off0 + len <= PAGE) {
      // Fast path: inside one page.
      const p = this.#page(pn0, false);
      return p ? p.slice(off0, off0 + len) : new Uint8Array(len);
    }
    const out = new Uint8Array(len);
    this.readInto(gpa, len, out, 0);
    return out;
  }

  /** Copy `len` bytes into `out` at `outOffset` without allocating. Caller checks bounds. */
  readInto(gpa: number, len: number, out: Uint8Array, outOffset: number): void {
    let done = 0;
    while (done < len) {
      const a = gpa + done;
      const pn = Math.floor(a / PAGE);
      const off = a - pn * PAGE;
      const n = Math.min(len - done, PAGE - off);
      const p = this.#page(pn, false);
      if (p) out.set(p.subarray(off, off + n), outOffset + done);
      else out.fill(0, outOffset + done, outOffset + done + n);
      done += n;
    }
  }

  write(gpa: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const a = gpa + done;
      const pn = Math.floor(a / PAGE);
      const off = a - pn * PAGE;
      const n = Math.min(bytes.length - done, PAGE - off);
      this.#page(pn, true)!.set(bytes.subarray(done, done + n), off);
      done += n;
    }
  }

  read8(gpa: number): number {
    const pn = Math.floor(gpa / PAGE);
    return this.#page(pn, false)?.[gpa - pn * PAGE] ?? 0;
  }
  write8(gpa: number, v: number): void {
    const pn = Math.floor(gpa / PAGE);
    this.#page(pn, true)![gpa - pn * PAGE] = v & 0xff;
  }
  read16(gpa: number): number {
    return this.read8(gpa) | (this.read8(gpa + 1) << 8);
  }
  write16(gpa: number, v: number): void {
    this.write8(gpa, v);
    this.write8(gpa + 1, v >>> 8);
  }
  read32(gpa: number): number {
    const pn = Math.floor(gpa / PAGE);
    const o = gpa - pn * PAGE;
    if (o <= PAGE - 4) {
      const p = this.#page(pn, false);
      return p ? (p[o]! | (p[o + 1]! << 8) | (p[o + 2]! << 16) | (p[o + 3]! << 24)) >>> 0 : 0;
    }
    return (this.read16(gpa) | (this.read16(gpa + 2) << 16)) >>> 0;
  }
  write32(gpa: number, v: number): void {
    const pn = Math.floor(gpa / PAGE);
    const o = gpa - pn * PAGE;
    if (o <= PAGE - 4) {
      const p = this.#page(pn, true)!;
      p[o] = v & 0xff;
      p[o + 1] = (v >>> 8) & 0xff;
      p[o + 2] = (v >>> 16) & 0xff;
      p[o + 3] = (v >>> 24) & 0xff;
      return;
    }
    this.write16(gpa, v & 0xffff);
    this.write16(gpa + 2, (v >>> 16) & 0xffff);
  }
  /** 64-bit little-endian as a JS number (exact below 2^53, which every GPA here is). */
  read64(gpa: number): number {
    return this.read32(gpa) + this.read32(gpa + 4) * 0x1_0000_0000;
  }
  write64(gpa: number, v: number): void {
    this.write32(gpa, v >>> 0);
    this.write32(gpa + 4, Math.floor(v / 0x1_0000_0000) >>> 0);
  }

  /** Pages touched so far (a memory-footprint figure for benchmarks). */
  get pagesTouched(): number {
    return this.#touched;
  }
}

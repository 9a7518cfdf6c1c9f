/**
 * Stable, dependency-free hashing for fingerprints (trace hash, code hash, lab version).
 * Two 32-bit FNV-1a lanes with different offset bases give a 64-bit hex digest. Not
 * cryptographic: submissions are records, the score is always recomputed (DESIGN.md §4).
 */
export class Hasher {
  #a = 0x811c9dc5;
  #b = 0x01000193 ^ 0x5bd1e995;

  update(s: string): this {
    let a = this.#a;
    let b = this.#b;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ (c & 0xff), 0x01000193);
      a = Math.imul(a ^ (c >>> 8), 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    this.#a = a;
    this.#b = b;
    return this;
  }

  updateNumber(n: number): this {
    return this.update(String(n)).update(',');
  }

  digest(): string {
    return (this.#a >>> 0).toString(16).padStart(8, '0') + (this.#b >>> 0).toString(16).padStart(8, '0');
  }
}

export function hashText(s: string): string {
  return new Hasher().update(s).digest();
}

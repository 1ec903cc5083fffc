/** Typed arrays that grow, and marks kept in one. */

/** A copy at least `size` long (doubling), the old contents kept. */
type Typed = Uint32Array | Int32Array | Uint16Array | Uint8Array;

export function grown<T extends Typed>(a: T, size: number, min = 16): T {
  const next = new (a.constructor as new (n: number) => T)(Math.max(size, a.length * 2, min));
  next.set(a);
  return next;
}

/**
 * Marks on the numbers below a size (files, path ranks), all cleared at once by moving to a new
 * stamp: a set of numbers without hashing, for a set made again for every export of a bulk answer.
 */
export class Marks {
  private stamps = new Uint32Array(0);
  private stamp = 0;

  /** Clears every mark, with room for numbers below `size`. */
  clear(size: number): void {
    if (this.stamps.length < size) this.stamps = new Uint32Array(size + 1024);
    if (++this.stamp === 0xffffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  mark(n: number): void {
    this.stamps[n] = this.stamp;
  }

  has(n: number): boolean {
    return this.stamps[n] === this.stamp;
  }
}

/** Growing typed arrays: a copy at least `size` long (doubling), the old contents kept. */
type Typed = Uint32Array | Int32Array | Uint16Array | Uint8Array;

export function grown<T extends Typed>(a: T, size: number, min = 16): T {
  const next = new (a.constructor as new (n: number) => T)(Math.max(size, a.length * 2, min));
  next.set(a);
  return next;
}

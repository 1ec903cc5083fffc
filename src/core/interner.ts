/**
 * Identifier interning keyed on raw bytes: the scanner hashes identifiers while it reads them and only
 * creates a JS string the first time an identifier is seen. Ids are dense, starting at 0.
 */
export class Interner {
  private table: Int32Array;
  private mask: number;
  private hashes: Uint32Array;
  private starts: Uint32Array;
  private lens: Uint16Array;
  private arena: Uint8Array;
  private arenaUsed = 0;
  readonly strings: string[] = [];

  constructor(capacityLog2 = 16) {
    this.table = new Int32Array(1 << capacityLog2).fill(-1);
    this.mask = (1 << capacityLog2) - 1;
    this.hashes = new Uint32Array(1 << (capacityLog2 - 1));
    this.starts = new Uint32Array(1 << (capacityLog2 - 1));
    this.lens = new Uint16Array(1 << (capacityLog2 - 1));
    this.arena = new Uint8Array(1 << 20);
  }

  get size(): number {
    return this.strings.length;
  }

  /** Id of the identifier `buf[start, end)` whose FNV-1a hash is `hash`. */
  internBytes(buf: Uint8Array, start: number, end: number, hash: number): number {
    const len = end - start;
    let slot = hash & this.mask;
    for (;;) {
      const id = this.table[slot]!;
      if (id < 0) break;
      if (this.hashes[id] === hash && this.lens[id] === len) {
        const s = this.starts[id]!;
        let k = 0;
        while (k < len && this.arena[s + k] === buf[start + k]) k++;
        if (k === len) return id;
      }
      slot = (slot + 1) & this.mask;
    }
    return this.insert(buf, start, end, hash, slot);
  }

  intern(name: string): number {
    const bytes = Buffer.from(name, 'latin1');
    return this.internBytes(bytes, 0, bytes.length, fnv1a(bytes, 0, bytes.length));
  }

  private insert(buf: Uint8Array, start: number, end: number, hash: number, slot: number): number {
    const id = this.strings.length;
    const len = Math.min(end - start, 0xffff);
    if (id >= this.hashes.length) this.growIds();
    if (this.arenaUsed + len > this.arena.length) {
      const next = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + len));
      next.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = next;
    }
    this.arena.set(buf.subarray(start, start + len), this.arenaUsed);
    this.hashes[id] = hash;
    this.starts[id] = this.arenaUsed;
    this.lens[id] = len;
    this.arenaUsed += len;
    this.table[slot] = id;
    this.strings.push(Buffer.isBuffer(buf) ? buf.toString('latin1', start, start + len) : Buffer.from(buf.buffer, buf.byteOffset + start, len).toString('latin1'));
    if (this.strings.length * 2 > this.table.length) this.rehash();
    return id;
  }

  private growIds(): void {
    const n = this.hashes.length * 2;
    const h = new Uint32Array(n);
    h.set(this.hashes);
    const s = new Uint32Array(n);
    s.set(this.starts);
    const l = new Uint16Array(n);
    l.set(this.lens);
    this.hashes = h;
    this.starts = s;
    this.lens = l;
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2).fill(-1);
    const mask = table.length - 1;
    for (let id = 0; id < this.strings.length; id++) {
      let slot = this.hashes[id]! & mask;
      while (table[slot]! >= 0) slot = (slot + 1) & mask;
      table[slot] = id;
    }
    this.table = table;
    this.mask = mask;
  }
}

export function fnv1a(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

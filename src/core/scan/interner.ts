/**
 * Identifier interning keyed on raw bytes: the scanner hashes identifiers while it reads them, and a
 * JS string is made only when a name is asked for. Ids are dense, starting at 0. The whole table can be
 * saved as typed arrays and restored without hashing anything again.
 */
import { nativeAddon } from './nativeScanner';
import { grown } from '../util/typed';

export interface InternerState {
  table: Int32Array;
  hashes: Uint32Array;
  starts: Uint32Array;
  lens: Uint16Array;
  arena: Uint8Array;
  size: number;
}

/** Names in one internPacked() call for which the addon's loop is worth growing the arrays. */
const BULK = 1 << 16;

/** Ids in the main arrays when there is no overflow: all of them. */
const NO_OVERFLOW = 2 ** 31;

interface Overflow {
  hashes: Uint32Array;
  starts: Uint32Array;
  lens: Uint16Array;
  arena: Buffer;
  /** Bytes of `arena` in use. */
  used: number;
}

export class Interner {
  private table: Int32Array;
  private mask: number;
  private hashes: Uint32Array;
  private starts: Uint32Array;
  private lens: Uint16Array;
  private arena: Buffer;
  private arenaUsed = 0;
  private count = 0;
  /**
   * The names made into strings so far, by id. A Map: an array written at scattered ids past its end
   * becomes a dictionary in V8, and every lookup hashed slowly (2.3 s of a query for every export of
   * linux-6.1); an array sized ahead for all 2.1 M ids cost 35-60 MB.
   */
  private readonly names = new Map<number, string>();
  /**
   * Names added once the arrays above were full, from id `base` on. A warm start's arrays are the
   * mapped cache's, exactly full: growing them for a review's or an edit's first new name copied all
   * of them (tens of MB, each page faulted in). They are joined when the whole state is needed.
   */
  private base = NO_OVERFLOW;
  private more: Overflow | undefined;
  /** Made from a saved state, and not grown since: new names go to the overflow. */
  private restored = false;

  constructor(capacityLog2 = 16, state?: InternerState) {
    if (state) {
      this.table = state.table;
      this.mask = state.table.length - 1;
      this.hashes = state.hashes;
      this.starts = state.starts;
      this.lens = state.lens;
      this.arena = Buffer.from(state.arena.buffer, state.arena.byteOffset, state.arena.byteLength);
      this.arenaUsed = state.arena.length;
      this.count = state.size;
      this.restored = true;
      return;
    }
    this.table = new Int32Array(1 << capacityLog2).fill(-1);
    this.mask = (1 << capacityLog2) - 1;
    // Room for as many names as the table takes before it rehashes (0.6 full): with half that, linux's
    // 2.14 M names outgrew the 2 M ids of a table sized for them, and the three arrays doubled.
    const ids = Math.ceil((1 << capacityLog2) * 0.6);
    this.hashes = new Uint32Array(ids);
    this.starts = new Uint32Array(ids);
    this.lens = new Uint16Array(ids);
    // About 20 bytes a name, reserved but not touched: growing from 1 MB by doubling copied the arena
    // over and over on a kernel tree, and ended larger than this.
    this.arena = Buffer.allocUnsafe(Math.max(1 << 20, ids * 20));
  }

  get size(): number {
    return this.count;
  }

  /** The name of id. */
  name(id: number): string {
    let s = this.names.get(id);
    if (s === undefined) {
      if (id < this.base) {
        const start = this.starts[id]!;
        s = this.arena.toString('latin1', start, start + this.lens[id]!);
      } else {
        const m = this.more!;
        const start = m.starts[id - this.base]!;
        s = m.arena.toString('latin1', start, start + m.lens[id - this.base]!);
      }
      this.names.set(id, s);
    }
    return s;
  }

  /** The state to save; restoring it with `new Interner(0, state)` gives the same ids. */
  state(): InternerState {
    this.join();
    const n = this.count;
    return {
      table: this.table,
      hashes: this.hashes.subarray(0, n),
      starts: this.starts.subarray(0, n),
      lens: this.lens.subarray(0, n),
      arena: this.arena.subarray(0, this.arenaUsed),
      size: n,
    };
  }

  /** Id of the identifier `buf[start, end)` whose FNV-1a hash is `hash`. */
  internBytes(buf: Uint8Array, start: number, end: number, hash: number): number {
    const len = end - start;
    let slot = hash & this.mask;
    for (let probes = 0; ; probes++) {
      const id = this.table[slot]!;
      if (id < 0) break;
      // A table with no free slot: a mapped cache cut short under the index reads as zeros.
      if (probes > this.mask) throw new Error('the name table is damaged');
      if (this.matches(id, buf, start, len, hash)) return id;
      slot = (slot + 1) & this.mask;
    }
    return this.insert(buf, start, end, hash, slot);
  }

  /** Id of `name`, or -1 when it was never interned. */
  find(name: string): number {
    const bytes = Buffer.from(name, 'latin1');
    return this.findBytes(bytes, 0, bytes.length);
  }

  /** Id of the identifier `buf[start, end)`, or -1 when it was never interned; nothing is added. */
  findBytes(buf: Uint8Array, start: number, end: number): number {
    const hash = fnv1a(buf, start, end);
    const len = end - start;
    let slot = hash & this.mask;
    for (let probes = 0; probes <= this.mask; probes++) {
      const id = this.table[slot]!;
      if (id < 0) return -1;
      if (this.matches(id, buf, start, len, hash)) return id;
      slot = (slot + 1) & this.mask;
    }
    return -1;
  }

  /** Whether id's name is `buf[start, start + len)`, whose hash is `hash`. */
  private matches(id: number, buf: Uint8Array, start: number, len: number, hash: number): boolean {
    let hashes = this.hashes;
    let lens = this.lens;
    let starts = this.starts;
    let arena = this.arena;
    let at = id;
    if (id >= this.base) {
      ({ hashes, lens, starts, arena } = this.more!);
      at = id - this.base;
    }
    if (hashes[at] !== hash || lens[at] !== len) return false;
    const s = starts[at]!;
    let k = 0;
    while (k < len && arena[s + k] === buf[start + k]) k++;
    return k === len;
  }

  /**
   * Interns names packed as one latin1 byte run and their lengths; returns their ids here, in order.
   * Large batches (the scanners' names, millions for a kernel tree) go through the native scanner's
   * loop on these same arrays.
   */
  internPacked(bytes: Uint8Array, lens: Uint16Array): Int32Array {
    // The addon writes into the arrays as they are, so they must have room for every name first.
    // Where that means growing them, the loop below grows them only for the names that are new:
    // the editor's one-file scan into a warm start's full table sends a thousand names, nearly all
    // known, and room for all of them cost a copy of the whole table (tens of MB). A batch as large
    // as a tree's rescan is worth that copy.
    const addon = lens.length >= 256 && (lens.length >= BULK || this.fits(lens.length, bytes.length)) ? nativeAddon() : undefined;
    if (addon) {
      this.reserve(lens.length, bytes.length);
      const ids = new Int32Array(lens.length);
      const state = new Float64Array([this.count, this.arenaUsed]);
      addon.internPacked(this.table, this.hashes, this.starts, this.lens, this.arena, state, bytes, lens, ids);
      this.count = state[0]!;
      this.arenaUsed = state[1]!;
      return ids;
    }
    const ids = new Int32Array(lens.length);
    let pos = 0;
    for (let k = 0; k < lens.length; k++) {
      const end = pos + lens[k]!;
      ids[k] = this.internBytes(bytes, pos, end, fnv1a(bytes, pos, end));
      pos = end;
    }
    return ids;
  }

  intern(name: string): number {
    const bytes = Buffer.from(name, 'latin1');
    return this.internBytes(bytes, 0, bytes.length, fnv1a(bytes, 0, bytes.length));
  }

  private insert(buf: Uint8Array, start: number, end: number, hash: number, slot: number): number {
    const id = this.count;
    const len = Math.min(end - start, 0xffff);
    if (!this.restored || (this.more === undefined && id < this.hashes.length && this.arenaUsed + len <= this.arena.length)) {
      this.roomFor(1, len);
      this.arena.set(buf.subarray(start, start + len), this.arenaUsed);
      this.hashes[id] = hash;
      this.starts[id] = this.arenaUsed;
      this.lens[id] = len;
      this.arenaUsed += len;
    } else {
      const m = this.overflowFor(len);
      const at = id - this.base;
      m.arena.set(buf.subarray(start, start + len), m.used);
      m.hashes[at] = hash;
      m.starts[at] = m.used;
      m.lens[at] = len;
      m.used += len;
    }
    this.table[slot] = id;
    this.count++;
    // Linear probing stays short up to 0.6 full; at 0.5 a kernel tree's names took twice the slots.
    if (this.count * 5 > this.table.length * 3) this.rehash();
    return id;
  }

  /** The overflow, started or grown (by doubling) to take one more name of `len` bytes. */
  private overflowFor(len: number): Overflow {
    if (!this.more) {
      this.base = this.count;
      this.more = { hashes: new Uint32Array(1024), starts: new Uint32Array(1024), lens: new Uint16Array(1024), arena: Buffer.allocUnsafe(1 << 16), used: 0 };
    }
    const m = this.more;
    const n = this.count - this.base + 1;
    if (n > m.hashes.length) {
      m.hashes = grown(m.hashes, n);
      m.starts = grown(m.starts, n);
      m.lens = grown(m.lens, n);
    }
    m.arena = withRoom(m.arena, m.used, len);
    return m;
  }

  /** The overflow's names moved into the main arrays, grown to take them. */
  private join(): void {
    const m = this.more;
    if (!m) return;
    const n = this.count - this.base;
    this.count = this.base;
    this.more = undefined;
    this.base = NO_OVERFLOW;
    this.restored = false;
    this.roomFor(n, m.used);
    this.hashes.set(m.hashes.subarray(0, n), this.count);
    this.lens.set(m.lens.subarray(0, n), this.count);
    for (let k = 0; k < n; k++) this.starts[this.count + k] = m.starts[k]! + this.arenaUsed;
    m.arena.copy(this.arena, this.arenaUsed, 0, m.used);
    this.arenaUsed += m.used;
    this.count += n;
  }

  /** Whether `names` more names of `bytes` bytes fit without growing anything (never with an overflow). */
  private fits(names: number, bytes: number): boolean {
    return this.more === undefined && this.count + names <= this.hashes.length && this.arenaUsed + bytes <= this.arena.length && (this.count + names) * 5 <= this.table.length * 3;
  }

  /** Room for `names` more names of `bytes` bytes in all, with the table at most 0.6 full after. */
  private reserve(names: number, bytes: number): void {
    this.join();
    this.restored = false;
    this.roomFor(names, bytes);
    while ((this.count + names) * 5 > this.table.length * 3) this.rehash();
  }

  /** Ids and arena room for `names` more names of `bytes` bytes in all, each grown by doubling at least. */
  private roomFor(names: number, bytes: number): void {
    if (this.count + names > this.hashes.length) {
      const n = this.count + names;
      this.hashes = grown(this.hashes, n);
      this.starts = grown(this.starts, n);
      this.lens = grown(this.lens, n);
    }
    this.arena = withRoom(this.arena, this.arenaUsed, bytes);
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2).fill(-1);
    const mask = table.length - 1;
    for (let id = 0; id < this.count; id++) {
      let slot = (id < this.base ? this.hashes[id]! : this.more!.hashes[id - this.base]!) & mask;
      while (table[slot]! >= 0) slot = (slot + 1) & mask;
      table[slot] = id;
    }
    this.table = table;
    this.mask = mask;
  }
}

/** The arena, or a copy of its first `used` bytes at least twice as large, with room for `bytes` more. */
function withRoom(arena: Buffer, used: number, bytes: number): Buffer {
  if (used + bytes <= arena.length) return arena;
  const next = Buffer.allocUnsafe(Math.max(arena.length * 2, used + bytes));
  arena.copy(next, 0, 0, used);
  return next;
}

export function fnv1a(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

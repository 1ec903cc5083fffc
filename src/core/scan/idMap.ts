/** Wire numbers to a name table's ids: each scanner numbers names its own way, in the order it first sends them. */
import type { Interner } from './interner';
import type { FileScan } from './scanTypes';
import { grown } from '../util/typed';

/** Maps one scanner's identifier ids (a worker's, an addon thread's) to the global table's, from the packed names it sends. */
export class IdMap {
  private map = new Int32Array(1024);
  private mapped = 0;
  constructor(private readonly interner: Interner) {}

  /** Maps the names a scanner sent; `fresh`: it started a new name table, with ids from 0 again. */
  add(bytes: Uint8Array, lens: Uint16Array, fresh = false): void {
    if (fresh) this.mapped = 0;
    const ids = this.interner.internPacked(bytes, lens);
    if (this.mapped + ids.length > this.map.length) this.map = grown(this.map, this.mapped + ids.length);
    this.map.set(ids, this.mapped);
    this.mapped += ids.length;
  }

  /** A scan's uses and proxy names, from the worker's ids to the table's. */
  translate(scan: FileScan): void {
    const map = this.map;
    for (const triples of [scan.uses, scan.proxies]) for (let k = 0; k < triples.length; k += 3) triples[k] = map[triples[k]!]!;
  }
}

/**
 * A scanner's names looked up in a table that is only read, each when first asked for: the helper
 * search's scans ask the index's table (perhaps a cache's) about the names of a few functions per
 * file, of the tens of thousands each run of files sends. A name the table lacks is -1.
 */
export class KnownIds {
  private ids = new Int32Array(1024);
  private starts = new Uint32Array(1024);
  private arena = new Uint8Array(1 << 16);
  private count = 0;
  private used = 0;
  constructor(private readonly interner: Interner) {}

  /** Keeps the names a scanner sent; `fresh`: it started a new name table, with ids from 0 again. */
  add(bytes: Uint8Array, lens: Uint16Array, fresh = false): void {
    if (fresh) this.count = this.used = 0;
    const n = this.count + lens.length;
    if (n + 1 > this.ids.length) {
      this.ids = grown(this.ids, n + 1);
      this.starts = grown(this.starts, n + 1);
    }
    if (this.used + bytes.length > this.arena.length) this.arena = grown(this.arena, this.used + bytes.length);
    this.arena.set(bytes, this.used);
    this.ids.fill(-2, this.count, n);
    let at = this.used;
    for (let k = 0; k < lens.length; k++) {
      this.starts[this.count + k] = at;
      at += lens[k]!;
    }
    this.starts[n] = at;
    this.count = n;
    this.used = at;
  }

  /** The table's id of a scanner's id, or -1. */
  of(id: number): number {
    const known = this.ids[id]!;
    if (known !== -2) return known;
    return (this.ids[id] = this.interner.findBytes(this.arena, this.starts[id]!, this.starts[id + 1]!));
  }
}

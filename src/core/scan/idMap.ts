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

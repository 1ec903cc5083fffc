/**
 * The postings: for every identifier, where files use or define it, as (file, line, context) triples.
 * A full build makes them in one counting sort (on the addon's thread where it loads); files scanned
 * again later add theirs to an overlay, which compact() folds in. Context 0 is a direct use,
 * DEF_CTX a definition, k + 1 a use inside proxy k: a header's inline function or macro, whose
 * name, line and kind are kept here too.
 */
import type { NativeAddon } from '../scan/nativeScanner';
import { DEF_CTX, type FileScan } from '../scan/scanTypes';
import { grown } from '../util/typed';

/** Growable postings of one identifier beyond the compact arrays: (file, line, ctx) triples. */
type Overlay = Map<number, number[]>;

/** The compact arrays, as a cache holds them. */
export interface PostingArrays {
  offsets: Uint32Array;
  /** 16 bits wide when loaded from a cache whose values fit. */
  postFile: Uint32Array | Uint16Array;
  postLine: Uint32Array | Uint16Array;
  postCtx: Uint32Array;
}

/** The proxies, as a cache holds them. */
export interface ProxyArrays {
  proxyName: Uint32Array;
  proxyLine: Uint32Array;
  proxyKind: Uint8Array;
  proxyCount: number;
}

export class Postings implements PostingArrays, ProxyArrays {
  /** Entries of name id k are [offsets[k], offsets[k+1]). */
  offsets: Uint32Array = new Uint32Array(1);
  postFile: Uint32Array | Uint16Array = new Uint32Array(0);
  postLine: Uint32Array | Uint16Array = new Uint32Array(0);
  postCtx: Uint32Array = new Uint32Array(0);
  overlay: Overlay = new Map();
  proxyName: Uint32Array = new Uint32Array(0);
  proxyLine: Uint32Array = new Uint32Array(0);
  proxyKind: Uint8Array = new Uint8Array(0);
  proxyCount = 0;

  /** alive(file): whether a file record still counts (a replaced or deleted one does not). */
  constructor(private readonly alive: (file: number) => boolean) {}

  /** Takes a cache's proxies. */
  restoreProxies(p: ProxyArrays): void {
    this.proxyName = p.proxyName;
    this.proxyLine = p.proxyLine;
    this.proxyKind = p.proxyKind;
    this.proxyCount = p.proxyCount;
  }

  /** Takes a cache's compact postings. */
  restore(p: PostingArrays): void {
    this.offsets = p.offsets;
    this.postFile = p.postFile;
    this.postLine = p.postLine;
    this.postCtx = p.postCtx;
  }

  /** Files a scan's proxies; returns the first one's index. */
  addProxies(scan: FileScan | undefined): number {
    const start = this.proxyCount;
    const proxies = scan?.proxies;
    if (!proxies?.length) return start;
    this.ensureProxies(this.proxyCount + proxies.length / 3);
    // The scanner numbers the names for us (the pool mapped them): looking up a kernel tree's proxy
    // names here, one string at a time, was a large part of the warm-up.
    for (let k = 0; k < proxies.length; k += 3) {
      this.proxyName[this.proxyCount] = proxies[k]!;
      this.proxyLine[this.proxyCount] = proxies[k + 1]!;
      this.proxyKind[this.proxyCount] = proxies[k + 2]!;
      this.proxyCount++;
    }
    return start;
  }

  /**
   * The uses of files numbered from `base` in one counting sort: the compact arrays when they are the
   * first, else the overlay. proxyStart(fi): the first proxy of scanned[fi], as addProxies() gave it.
   */
  add(uses: readonly (Uint32Array | undefined)[], base: number, names: number, proxyStart: (fi: number) => number): void {
    const counts = new Uint32Array(names + 1);
    let total = 0;
    let maxLine = 0;
    for (const u of uses) {
      if (!u) continue;
      for (let k = 0; k < u.length; k += 3) {
        counts[u[k]!]!++;
        if (u[k + 1]! > maxLine) maxLine = u[k + 1]!;
      }
      total += u.length / 3;
    }
    const offsets = new Uint32Array(names + 1);
    for (let k = 0, acc = 0; k < names; k++) {
      offsets[k] = acc;
      acc += counts[k]!;
      offsets[k + 1] = acc;
    }
    const fill = offsets.slice(0, names);
    const { postFile, postLine, postCtx } = postingArrays(total, base + uses.length, maxLine);
    for (let fi = 0; fi < uses.length; fi++) {
      const u = uses[fi];
      if (!u) continue;
      const fileIdx = base + fi;
      const pStart = proxyStart(fi);
      for (let k = 0; k < u.length; k += 3) {
        const at = fill[u[k]!]!++;
        postFile[at] = fileIdx;
        postLine[at] = u[k + 1]!;
        const c = u[k + 2]!;
        postCtx[at] = c === 0 || c === DEF_CTX ? c : pStart + c; // global proxy index + 1
      }
    }
    if (base === 0) this.restore({ offsets, postFile, postLine, postCtx });
    else
      for (let k = 0; k < names; k++) {
        for (let at = offsets[k]!; at < offsets[k + 1]!; at++) this.addOverlay(k, postFile[at]!, postLine[at]!, postCtx[at]!);
      }
  }

  /**
   * add() of a full build's files on one of the addon's threads: resolves when the arrays are in.
   * Nothing may ask for a name's postings, nor change the scans, before. pStarts[fi]: the first proxy
   * of scans[fi], as addProxies() numbers them.
   */
  async addInBackground(addon: NativeAddon, scans: readonly (FileScan | undefined)[], names: number, pStarts: Uint32Array): Promise<void> {
    let total = 0;
    // A file's lines bound its uses' lines: the same 16 or 32 bits as add() where no file with uses
    // passes 65,535 lines.
    let maxLine = 0;
    for (const scan of scans) {
      if (!scan) continue;
      total += scan.uses.length / 3;
      if (scan.uses.length && scan.lines > maxLine) maxLine = scan.lines;
    }
    const offsets = new Uint32Array(names + 1);
    const { postFile, postLine, postCtx } = postingArrays(total, scans.length, maxLine);
    const uses = scans.map((s) => s?.uses ?? null);
    await new Promise<void>((resolve, reject) => addon.fillPostings(uses, pStarts, offsets, postFile, postLine, postCtx, (err) => (err ? reject(new Error(`postings: ${err.message}`)) : resolve())));
    this.restore({ offsets, postFile, postLine, postCtx });
  }

  /** One file's uses, scanned again: into the overlay. */
  addFile(uses: Uint32Array, fileIdx: number, pStart: number): void {
    for (let k = 0; k < uses.length; k += 3) {
      const c = uses[k + 2]!;
      this.addOverlay(uses[k]!, fileIdx, uses[k + 1]!, c === 0 || c === DEF_CTX ? c : pStart + c);
    }
  }

  /**
   * Folds the overlay into the compact postings and drops the postings of deleted and replaced file
   * records, so that a refreshed warm start can be written as a cache again. Answers do not change:
   * each name's postings keep their order, the compact ones first.
   */
  compact(names: number, files: number): void {
    // Two passes of the queries' own walk (forEach): the count, then the copy.
    const next = new Uint32Array(names + 1);
    let count = 0;
    let maxLine = 0;
    const counted = (_f: number, l: number): void => {
      count++;
      if (l > maxLine) maxLine = l;
    };
    for (let id = 0; id < names; id++) {
      this.forEach(id, counted);
      next[id + 1] = count;
    }
    const { postFile: file, postLine: line, postCtx: ctx } = postingArrays(count, files, maxLine);
    let to = 0;
    const copied = (f: number, l: number, c: number): void => {
      file[to] = f;
      line[to] = l;
      ctx[to++] = c;
    };
    for (let id = 0; id < names; id++) this.forEach(id, copied);
    this.restore({ offsets: next, postFile: file, postLine: line, postCtx: ctx });
    this.overlay = new Map();
  }

  /** A name's postings in live files: the compact ones, then the overlay's. */
  forEach(id: number, fn: (file: number, line: number, ctx: number) => void): void {
    if (id + 1 < this.offsets.length) {
      const end = this.offsets[id + 1]!;
      for (let at = this.offsets[id]!; at < end; at++) {
        const file = this.postFile[at]!;
        if (this.alive(file)) fn(file, this.postLine[at]!, this.postCtx[at]!);
      }
    }
    const extra = this.overlay.get(id);
    if (extra) {
      for (let k = 0; k < extra.length; k += 3) {
        const file = extra[k]!;
        if (this.alive(file)) fn(file, extra[k + 1]!, extra[k + 2]!);
      }
    }
  }

  private addOverlay(id: number, file: number, line: number, ctx: number): void {
    let list = this.overlay.get(id);
    if (!list) this.overlay.set(id, (list = []));
    list.push(file, line, ctx);
  }

  private ensureProxies(size: number): void {
    if (size <= this.proxyName.length) return;
    this.proxyName = grown(this.proxyName, size, 1024);
    this.proxyLine = grown(this.proxyLine, size, 1024);
    this.proxyKind = grown(this.proxyKind, size, 1024);
  }
}

/** Compact postings' arrays for `total` postings: 16 bits where files and lines fit, as they do for linux (half the memory of those two arrays). */
function postingArrays(total: number, files: number, maxLine: number): Omit<PostingArrays, 'offsets'> {
  return {
    postFile: files <= 0x10000 ? new Uint16Array(total) : new Uint32Array(total),
    postLine: maxLine <= 0xffff ? new Uint16Array(total) : new Uint32Array(total),
    postCtx: new Uint32Array(total),
  };
}

/**
 * Consumers: who uses an export, directly or through header inline functions and macros (proxies),
 * and the other questions asked of the postings by name.
 */
import { posix } from 'node:path';
import { consumerNames } from '../exportMacros';
import type { NameTable } from '../scan/scanPool';
import { DEF_CTX, PROXY_MACRO } from '../scan/scanTypes';
import { grown, Marks } from '../util/typed';
import { archOf, type BaseClass, baseClass, classFrom, classify, type ConsumerClass } from './classify';
import { pastedUses } from './pasted';
import type { Postings } from './postings';
import type { Consumer, Export, IndexedFile, Via } from './types';

/** Lines are below this in a key of (file, line) as one number. */
const LINE_SPAN = 2 ** 24;

/** What the search reads of the index. */
export interface SearchedTree {
  readonly files: readonly IndexedFile[];
  readonly byPath: ReadonlyMap<string, number>;
  readonly table: NameTable;
  readonly postings: Postings;
}

const BASES: readonly BaseClass[] = ['tools', 'test', 'driver', 'subsystem'];

export class ConsumerSearch {
  constructor(private readonly tree: SearchedTree) {}

  /** File indices in path order, and each file's place in it, for the `files` array they were made for. */
  private ranked: number[] = [];
  private rank = new Uint32Array(0);
  private rankedFor: readonly IndexedFile[] | undefined;

  /**
   * Consumers of an export: uses outside the exporting file, and, transitively, uses of the header
   * inline functions and macros (proxies) whose bodies use it. `stop` ends the search early;
   * a whole list comes in path order (inPathOrder()).
   * Popular exports reach tens of thousands of files through proxies such as printk(), so the walk
   * runs on integers: file stamps instead of a map, cached per-file classes.
   */
  consumers(exp: Export, stop?: (c: Consumer) => boolean): Consumer[] {
    const out: Consumer[] = [];
    const outFile: number[] = [];
    const stopped = this.walk(exp, (fileIdx, path, line, via) => {
      const cls = this.classOf(fileIdx, exp.file);
      const c: Consumer = via ? { file: path, line, cls, via } : { file: path, line, cls };
      out.push(c);
      outFile.push(fileIdx);
      return stop !== undefined && stop(c);
    });
    return stopped ? out : this.inPathOrder(out, outFile);
  }

  /**
   * consumers() one at a time, in the same order, without an object for each; returns how many.
   * What bulk answers write: every export of linux-6.1 has 12 M consumers, and as objects, or in
   * lists made for each export, they were garbage by the hundred MB. `via` is shared between the
   * consumers reached through one proxy.
   */
  eachConsumer(exp: Export, each: (file: string, line: number, fileIdx: number, cls: ConsumerClass, via: Via | undefined) => void): number {
    let n = 0;
    this.walk(exp, (fileIdx, _path, line, via) => {
      if (this.lineFiles.length <= n) {
        this.lineFiles = grown(this.lineFiles, n + 1, 1024);
        this.lineLines = grown(this.lineLines, n + 1, 1024);
      }
      this.lineFiles[n] = fileIdx;
      this.lineLines[n] = line;
      this.lineVias[n++] = via;
      return false;
    });
    const files = this.lineFiles.subarray(0, n);
    const order = this.pathOrder(files);
    // the walk learnt the files' paths, and may have grown the array
    const { paths } = this.facts;
    for (let k = 0; k < n; k++) {
      const at = order ? order[k]! : k;
      const fileIdx = files[at]!;
      each(paths[fileIdx]!, this.lineLines[at]!, fileIdx, this.classOf(fileIdx, exp.file), this.lineVias[at]);
    }
    this.lineVias.fill(undefined, 0, n);
    return n;
  }
  private lineFiles = new Int32Array(0);
  private lineLines = new Int32Array(0);
  private readonly lineVias: (Via | undefined)[] = [];

  /**
   * The walk behind consumers(): `take` gets each consumer file as it is found, and ends the walk by
   * returning true (then walk() does too).
   */
  private walk(exp: Export, take: (fileIdx: number, path: string, line: number, via: Via | undefined) => boolean): boolean {
    const { state, paths, asm } = this.fileFacts();
    // Stamps of earlier queries need not be kept: a new, zeroed array with room for the names a
    // review's patches add, not a doubled copy (8.5 MB of names' stamps for linux-6.1)
    if (this.fileStamp.length < paths.length) this.fileStamp = new Uint32Array(paths.length + 1024);
    if (this.nameStamp.length < this.tree.table.size) this.nameStamp = new Uint32Array(this.tree.table.size + 65_536);
    const stamp = ++this.queryStamp;
    const fileStamp = this.fileStamp;
    const nameStamp = this.nameStamp;
    const own = this.tree.byPath.get(exp.file) ?? -1;
    const queue: number[] = [];
    const vias: (Via | undefined)[] = [];
    for (const n of consumerNames(exp.flavour, exp.name)) {
      const id = this.tree.table.get(n);
      if (id !== undefined && nameStamp[id] !== stamp) {
        nameStamp[id] = stamp;
        queue.push(id);
        vias.push(undefined);
      }
    }
    const { offsets, postFile, postLine, postCtx, proxyName, proxyLine, proxyKind, overlay } = this.tree.postings;
    const scope = renameScope(exp);
    if (this.proxyVias.length < this.tree.postings.proxyCount) this.proxyVias = sized(this.proxyVias, this.tree.postings.proxyCount + 4096);
    const viaOf = this.proxyVias;
    // viaInline: the use is inside a header inline function
    const visit = (fileIdx: number, line: number, ctx: number, via: Via | undefined, viaInline: boolean): boolean => {
      if (ctx === DEF_CTX || fileIdx === own || (state[fileIdx] !== 1 && (state[fileIdx] === 2 || !this.learn(fileIdx)))) return false;
      if (ctx === 0) {
        // assembly cannot call a C inline: `wrmsr` in vmenter.S is the instruction, not msr.h's wrmsr()
        if (fileStamp[fileIdx] === stamp || (viaInline && asm[fileIdx] === 1)) return false;
        const path = paths[fileIdx]!;
        if (scope !== undefined && !path.startsWith(scope)) return false;
        fileStamp[fileIdx] = stamp;
        return take(fileIdx, path, line, via);
      }
      const p = ctx - 1;
      const nameId = proxyName[p]!;
      if (nameStamp[nameId] === stamp) return false;
      nameStamp[nameId] = stamp;
      queue.push(nameId);
      vias.push((viaOf[p] ??= { name: this.tree.table.name(nameId), file: paths[fileIdx]!, line: proxyLine[p]!, kind: proxyKind[p] === PROXY_MACRO ? 'macro' : 'inline' }));
      return false;
    };
    let q = 0;
    const drain = (): boolean => {
      for (; q < queue.length; q++) {
        const id = queue[q]!;
        const via = vias[q];
        const viaInline = via?.kind === 'inline';
        if (id + 1 < offsets.length) {
          const end = offsets[id + 1]!;
          for (let at = offsets[id]!; at < end; at++) {
            // Nine postings in ten repeat a file or a proxy this query has reached already: they are
            // passed over here, on integers alone, before any call.
            const ctx = postCtx[at]!;
            if (ctx === 0 ? fileStamp[postFile[at]!] === stamp : ctx === DEF_CTX || nameStamp[proxyName[ctx - 1]!] === stamp) continue;
            if (visit(postFile[at]!, postLine[at]!, ctx, via, viaInline)) return true;
          }
        }
        const extra = overlay.get(id);
        if (extra) for (let k = 0; k < extra.length; k += 3) if (visit(extra[k]!, extra[k + 1]!, extra[k + 2]!, via, viaInline)) return true;
      }
      return false;
    };
    if (drain()) return true;
    // then the uses a macro pastes together (pasted.ts): the macro and its argument on one line
    for (const p of pastedUses(exp.name, exp.flavour)) {
      if (p.proxies) {
        // the macro defines inline functions around the export, whose names no other code makes: their
        // users are its consumers (the definitions themselves are macro calls the scanner reads as none)
        for (const name of p.proxies) {
          const id = this.tree.table.get(name);
          if (id === undefined || nameStamp[id] === stamp) continue;
          nameStamp[id] = stamp;
          queue.push(id);
          vias.push({ name, file: p.header, line: 0, kind: 'inline' });
        }
        if (drain()) return true;
        continue;
      }
      const macroId = this.tree.table.get(p.macro);
      const argId = this.tree.table.get(p.arg);
      if (macroId === undefined || argId === undefined) continue;
      const lines = new Set<number>();
      this.tree.postings.forEach(macroId, (file, line, ctx) => void (ctx !== DEF_CTX && lines.add(file * LINE_SPAN + line)));
      if (lines.size === 0) continue;
      const via: Via = { name: p.macro, file: p.header, line: 0, kind: 'macro' };
      let stopped = false;
      this.tree.postings.forEach(argId, (file, line, ctx) => void (!stopped && lines.has(file * LINE_SPAN + line) && (stopped = visit(file, line, ctx, via, false))));
      if (stopped || drain()) return true;
    }
    return false;
  }

  /**
   * Consumers in path order, however the index was made: a file edited since the build has its
   * postings at the end, so the traversal order alone would differ between a warm refresh and a cold
   * build. Most lists come in that order already (pathOrder()).
   */
  private inPathOrder(out: Consumer[], outFile: readonly number[]): Consumer[] {
    const order = this.pathOrder(outFile);
    return order ? Array.from(order, (k) => out[k]!) : out;
  }

  /**
   * The positions of `files` (each once) in path order; undefined when they come in it already.
   * Each file comes once, so its path's rank alone orders it, in a typed array's numeric sort.
   */
  private pathOrder(files: ArrayLike<number>): Int32Array | undefined {
    if (files.length < 2) return undefined;
    const rank = this.pathRanks();
    let inOrder = true;
    for (let k = 1; k < files.length && inOrder; k++) inOrder = rank[files[k]!]! > rank[files[k - 1]!]!;
    if (inOrder) return undefined;
    if (this.atRank.length < rank.length) this.atRank = new Int32Array(rank.length);
    const order = new Int32Array(files.length);
    if (files.length * 16 >= rank.length) {
      // A list of a sixteenth of the tree's files or more (printk's reaches 33,000 of 56,000): the
      // ranks it holds, read off in one pass over every rank, not sorted (0.3 s of every export's
      // walk on linux-6.1 was the sort).
      const held = this.heldRanks;
      held.clear(rank.length);
      for (let k = 0; k < files.length; k++) {
        const r = rank[files[k]!]!;
        held.mark(r);
        this.atRank[r] = k;
      }
      for (let r = 0, j = 0; j < files.length; r++) if (held.has(r)) order[j++] = this.atRank[r]!;
      return order;
    }
    if (this.rankKeys.length < files.length) this.rankKeys = new Uint32Array(files.length + 1024);
    const keys = this.rankKeys.subarray(0, files.length);
    for (let k = 0; k < files.length; k++) this.atRank[(keys[k] = rank[files[k]!]!)] = k;
    keys.sort();
    for (let k = 0; k < keys.length; k++) order[k] = this.atRank[keys[k]!]!;
    return order;
  }
  private rankKeys = new Uint32Array(0);
  private atRank = new Int32Array(0);
  private readonly heldRanks = new Marks();

  /**
   * Each file's place in path order. A build's files, and a cache written from one, are in path order
   * already (checked, not sorted); files added since are put in their places one at a time.
   */
  private pathRanks(): Uint32Array {
    const files = this.tree.files;
    if (this.rankedFor !== files) {
      this.rankedFor = files;
      this.ranked = [];
    }
    if (this.ranked.length === files.length) return this.rank;
    const path = (k: number): string => files[k]!.path;
    if (this.ranked.length === 0) {
      const order = Array.from(files.keys());
      let sorted = true;
      for (let k = 1; k < files.length && sorted; k++) sorted = path(k - 1) <= path(k);
      if (!sorted) order.sort((a, b) => (path(a) < path(b) ? -1 : path(a) > path(b) ? 1 : a - b));
      this.ranked = order;
    } else {
      for (let f = this.ranked.length; f < files.length; f++) {
        let lo = 0;
        let hi = this.ranked.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (path(this.ranked[mid]!) <= path(f)) lo = mid + 1;
          else hi = mid;
        }
        this.ranked.splice(lo, 0, f);
      }
    }
    if (this.rank.length < files.length) this.rank = new Uint32Array(files.length + 1024);
    for (let k = 0; k < this.ranked.length; k++) this.rank[this.ranked[k]!] = k;
    return this.rank;
  }

  /**
   * The .c files outside tools/ among the export's consumers that use it directly (not through a
   * proxy), in path order, as consumers() lists them; undefined past `limit` of them. Found from
   * the export's own postings: a walk of its consumers can list 33,000 files to find them.
   */
  directSources(exp: Export, limit: number): string[] | undefined {
    const own = this.tree.byPath.get(exp.file) ?? -1;
    const scope = renameScope(exp);
    const found = new Set<number>();
    for (const n of consumerNames(exp.flavour, exp.name)) {
      const id = this.tree.table.get(n);
      if (id === undefined) continue;
      let over = false;
      this.tree.postings.forEach(id, (file, _line, ctx) => {
        if (over || ctx !== 0 || file === own || found.has(file)) return;
        const path = this.tree.files[file]!.path;
        if (!path.endsWith('.c') || (scope !== undefined && !path.startsWith(scope)) || this.classOf(file, exp.file) === 'tools') return;
        found.add(file);
        over = found.size > limit;
      });
      if (over) return undefined;
    }
    return [...found].map((f) => this.tree.files[f]!.path).sort();
  }

  /**
   * Files other than the exporter's that name the export in code today: direct uses, and header
   * inlines and macros whose bodies use it. Export history searches these for the first consumer.
   */
  literalUsers(exp: Export): string[] {
    const own = this.tree.byPath.get(exp.file) ?? -1;
    const seen = new Set<number>();
    for (const n of consumerNames(exp.flavour, exp.name)) {
      const id = this.tree.table.get(n);
      if (id === undefined) continue;
      this.tree.postings.forEach(id, (file, _line, ctx) => {
        if (ctx !== DEF_CTX && file !== own) seen.add(file);
      });
    }
    return [...seen].map((f) => this.tree.files[f]!.path).sort();
  }

  /**
   * The Via of each proxy, made the first time a query reaches it: a query for every export of
   * linux-6.1 reaches 14 M proxies, of 297,000. Proxies are only ever added, under new numbers.
   */
  private proxyVias: (Via | undefined)[] = [];
  /**
   * Per file what the walk asks of its record, in flat arrays, learnt the first time a query reaches
   * the file: a query for every export of linux-6.1 reads it 26 M times, and reading the records
   * themselves, scattered over the heap, was a third of the walk. `state`: 0 not learnt yet, 1 live,
   * 2 dropped. Files are only ever added at the end, or dropped (fileDropped()).
   */
  private facts = { files: undefined as readonly IndexedFile[] | undefined, state: new Uint8Array(0), asm: new Uint8Array(0), paths: [] as string[] };

  private fileFacts(): { state: Uint8Array; asm: Uint8Array; paths: string[] } {
    const files = this.tree.files;
    if (this.facts.files !== files) this.facts = { files, state: new Uint8Array(0), asm: new Uint8Array(0), paths: [] };
    const f = this.facts;
    const n = files.length;
    if (f.state.length < n) {
      f.state = grown(f.state, n, 1024);
      f.asm = grown(f.asm, n, 1024);
    }
    if (f.paths.length < n) f.paths = sized(f.paths, n + 1024);
    return f;
  }

  /** Learns a file's facts from its record: whether it is live. */
  private learn(fileIdx: number): boolean {
    const rec = this.tree.files[fileIdx]!;
    const f = this.facts;
    f.paths[fileIdx] = rec.path;
    f.asm[fileIdx] = rec.path.endsWith('.S') ? 1 : 0;
    f.state[fileIdx] = rec.alive ? 1 : 2;
    return rec.alive;
  }

  /** The index marked a file's record dead (replaced or deleted). */
  fileDropped(fileIdx: number): void {
    if (fileIdx < this.facts.state.length) this.facts.state[fileIdx] = 0;
  }

  private fileStamp: Uint32Array = new Uint32Array(0);
  private nameStamp: Uint32Array = new Uint32Array(0);
  private queryStamp = 0;
  /**
   * Per file, what its class depends on, worked out once: popular exports have tens of thousands of
   * consumers, and a query for every export of linux-6.1 classes 12 M of them (two dirname() calls
   * and two regexes each took 2 s of it). Directories and architectures are numbered; 0 in
   * `placeBase` is a file not yet worked out.
   */
  private placeBase = new Uint8Array(0);
  private placeDir = new Int32Array(0);
  private placeArch = new Int32Array(0);
  private readonly placeIds = new Map<string, number>();
  /** The last exporter asked about: its directory's and architecture's numbers. */
  private exporter = { path: '', dir: -1, arch: -1 };

  classOf(fileIdx: number, exporter: string): ConsumerClass {
    if (fileIdx >= this.placeBase.length) {
      const n = Math.max(this.tree.files.length, fileIdx + 1);
      this.placeBase = grown(this.placeBase, n);
      this.placeDir = grown(this.placeDir, n);
      this.placeArch = grown(this.placeArch, n);
    }
    if (this.placeBase[fileIdx] === 0) {
      const path = this.tree.files[fileIdx]!.path;
      this.placeBase[fileIdx] = BASES.indexOf(baseClass(path)) + 1;
      this.placeDir[fileIdx] = this.placeId(`d${posix.dirname(path)}`);
      this.placeArch[fileIdx] = this.archId(path);
    }
    if (this.exporter.path !== exporter) this.exporter = { path: exporter, dir: this.placeId(`d${posix.dirname(exporter)}`), arch: this.archId(exporter) };
    const arch = this.placeArch[fileIdx]!;
    return classFrom(BASES[this.placeBase[fileIdx]! - 1]!, this.placeDir[fileIdx] === this.exporter.dir, arch >= 0 && arch !== this.exporter.arch);
  }

  private placeId(key: string): number {
    let id = this.placeIds.get(key);
    if (id === undefined) this.placeIds.set(key, (id = this.placeIds.size));
    return id;
  }

  /** The number of the architecture whose arch/ holds the path, or -1. */
  private archId(path: string): number {
    const arch = archOf(path);
    return arch === undefined ? -1 : this.placeId(`a${arch}`);
  }

  /** A name's uses in code, first per file: no definitions, nothing inside a header macro or inline. */
  directUses(name: string): { file: string; line: number }[] {
    const id = this.tree.table.get(name);
    const out: { file: string; line: number }[] = [];
    if (id !== undefined) this.tree.postings.forEach(id, (file, line, ctx) => void (ctx === 0 && out.push({ file: this.tree.files[file]!.path, line })));
    return out;
  }

  /** Whether the file uses the name in code on that line (not a definition, not in a comment or a string). */
  usesAt(name: string, path: string, line: number): boolean {
    const id = this.tree.table.get(name);
    const file = this.tree.byPath.get(path);
    if (id === undefined || file === undefined) return false;
    let found = false;
    this.tree.postings.forEach(id, (f, l, ctx) => void (found ||= f === file && l === line && ctx !== DEF_CTX));
    return found;
  }

  /** The class of a consumer file of an export of `exporter`. */
  classify(path: string, exporter: string): ConsumerClass {
    const k = this.tree.byPath.get(path);
    return k === undefined ? classify(path, exporter, baseClass(path)) : this.classOf(k, exporter);
  }

  /** Where a name has a non-static definition (a function, a variable, an asm symbol). */
  definitionsOf(name: string): { file: string; line: number }[] {
    const id = this.tree.table.get(name);
    const out: { file: string; line: number }[] = [];
    if (id !== undefined) this.tree.postings.forEach(id, (file, line, ctx) => void (ctx === DEF_CTX && out.push({ file: this.tree.files[file]!.path, line })));
    return out;
  }
}

/**
 * A copy of `a` with room for `n` items, made in one step: an array that grows by stores past its end
 * here and there becomes a dictionary. What is not stored yet reads as undefined.
 */
function sized<T>(a: readonly T[], n: number): T[] {
  const out = new Array<T>(n);
  for (let k = 0; k < a.length; k++) out[k] = a[k]!;
  return out;
}

/**
 * Where the uses of a renamed export's C name can be its uses: a header's `#define ieee80211_rx
 * ieee80211_rx_rsl` is in force only in the files that include it, and a header included with quotes
 * is included from beside it. The index has no include graph, so this takes the directory above the
 * one that holds both the header and the exporting file: drivers/staging/rtl8192u/ for rtl8192u's
 * ieee80211/ headers, which keeps out the wireless drivers that call mac80211's own ieee80211_rx().
 */
function renameScope(exp: Export): string | undefined {
  if (!exp.renamedBy) return undefined;
  const a = exp.renamedBy.file.split('/').slice(0, -1);
  const b = exp.file.split('/').slice(0, -1);
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  const up = a.slice(0, Math.max(0, k - 1));
  return up.length ? `${up.join('/')}/` : '';
}

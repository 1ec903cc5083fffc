/**
 * The index of one tree: every file's record, its exports (exports.ts) and the postings of every
 * identifier (postings.ts), from which consumers are answered (consumers.ts). One file can be
 * scanned again and its contribution replaced without touching the rest.
 */
import type { KbuildNamespaces } from '../build/kbuild';
import { readKbuildNamespaces } from '../build/kbuild';
import { Interner } from '../scan/interner';
import { nativeAddon } from '../scan/nativeScanner';
import { BUFFER_STAMP, countLines, DEFAULT_MAX_FILE_BYTES, newScanner, type ScannedFile, scanBuffer, scanPath, type Skipped } from '../scan/scanFile';
import { NameTable, scanFiles } from '../scan/scanPool';
import { walkTree, type WalkResult } from '../scan/walk';
import { NOT_REGULAR } from '../util/regularFile';
import type { ConsumerClass } from './classify';
import { ConsumerSearch } from './consumers';
import { underPaths } from './exportNames';
import { ExportTable } from './exports';
import { type PostingArrays, Postings, type ProxyArrays } from './postings';
import type { Consumer, Export, IndexedFile, IndexOptions, IndexStats, Unresolved, Via } from './types';
import type { Wrapper } from './wrappers';

export type { ConfigVariant, Consumer, Export, IndexedFile, IndexOptions, IndexStats, Unresolved, Via } from './types';

const NO_USES = new Uint32Array(0);

/** What a warm start hands a new index: its cache's records, before the names and postings are read. */
export interface RestoredIndex {
  root: string;
  files: IndexedFile[];
  /** Each file's path, and whether it is alive. */
  paths: readonly string[];
  alive: Uint8Array;
  proxies: ProxyArrays;
  kbuild: KbuildNamespaces;
  stats: IndexStats;
  maxFileBytes: number;
  /** The files with details a warm start decodes at once (wrappers, includes, skips), in index order: only they can define wrappers or include. */
  eager: readonly number[];
  exports: Export[];
  unresolved: Unresolved[];
}

export class KernelIndex {
  /**
   * Set when the postings and names map the cache file (a warm start with the addon): whether a read
   * found that file cut short since, by another program. What the index answers from then on may miss
   * uses; the cache is to be rebuilt.
   */
  mappedCache?: { file: string; cutShort(): boolean };
  /** The names the postings are numbered by; a warm start sets it once they are read (adoptNames). */
  private names: NameTable;
  files: IndexedFile[] = [];
  readonly byPath = new Map<string, number>();
  readonly postings = new Postings((file) => this.files[file]!.alive);
  readonly exportTable: ExportTable;
  private readonly search = new ConsumerSearch(this);
  stats: IndexStats = { files: 0, bytes: 0, skipped: [], symlinks: 0, excluded: 0, unreadableDirs: [] };
  private scannerMade?: ReturnType<typeof newScanner>;
  private changes = 0;

  /** maxFileBytes: the size over which a file read again (refreshWrappers) is skipped, as the build that made the index skipped it. */
  constructor(
    readonly root: string,
    table?: NameTable,
    readonly maxFileBytes = DEFAULT_MAX_FILE_BYTES,
  ) {
    this.names = table ?? new NameTable();
    this.exportTable = new ExportTable(this);
  }

  /** Counts a change to the files or exports (see version). */
  changed(): void {
    this.changes++;
  }

  /** Reads a file again as a full build does, with the wrapper names known now (the export table's refresh). */
  rescan(path: string): ScannedFile {
    return scanPath(this.scanner, this.root, path, this.maxFileBytes, this.wrapperNames());
  }

  /** A warm start's index: the cache's records and exports; its names and postings follow (adoptPostings). */
  static restored(r: RestoredIndex): KernelIndex {
    // A table of one slot until adoptPostings(), not one made for a scan.
    const index = new KernelIndex(r.root, new NameTable(new Interner(0)), r.maxFileBytes);
    index.files = r.files;
    for (let k = 0; k < r.paths.length; k++) if (r.alive[k] === 1) index.byPath.set(r.paths[k]!, k);
    index.postings.restoreProxies(r.proxies);
    index.exportTable.kbuild = r.kbuild;
    index.stats = r.stats;
    index.exportTable.collectWrappers(r.eager.map((k) => r.files[k]!));
    index.exportTable.seedIncluders(r.eager, r.files.length);
    index.exportTable.restoreExports(r.exports, r.unresolved);
    return index;
  }

  /** The names and compact postings of a warm start, before anything was interned or scanned here. */
  adoptPostings(table: NameTable, arrays: PostingArrays): void {
    if (this.scannerMade || this.names.size) throw new Error('adoptPostings() after names were interned');
    this.names = table;
    this.postings.restore(arrays);
  }

  get table(): NameTable {
    return this.names;
  }

  /** Goes up with every change to the index's files or exports: what was computed from it before may be stale. */
  get version(): number {
    return this.changes;
  }

  get exports(): Export[] {
    return this.exportTable.exports;
  }
  get exportsByName(): ReadonlyMap<string, Export[]> {
    return this.exportTable.exportsByName;
  }
  get exportsByFile(): ReadonlyMap<string, Export[]> {
    return this.exportTable.exportsByFile;
  }
  get unresolved(): Unresolved[] {
    return this.exportTable.unresolved;
  }
  get kbuild(): KbuildNamespaces {
    return this.exportTable.kbuild;
  }
  get wrappers(): ReadonlyMap<string, Wrapper> {
    return this.exportTable.wrappers;
  }

  /** The scanner for re-scanning one file, interning into this index's name table; made when first needed. */
  private get scanner(): ReturnType<typeof newScanner> {
    return (this.scannerMade ??= newScanner(this.table.interner));
  }

  // ---- building ----

  /** Adds scanned files, building the compact postings in one counting sort. */
  addScanned(scanned: readonly ScannedFile[]): void {
    this.changes++;
    const base = this.files.length;
    for (let fi = 0; fi < scanned.length; fi++) this.pushFile(scanned[fi]!, base + fi);
    this.postings.add(
      scanned.map((f) => f.scan?.uses),
      base,
      this.table.size,
      (fi) => this.files[base + fi]!.proxyStart,
    );
  }

  /**
   * addScanned() of a full build's files, with the postings built by the addon on another thread
   * while this one files the records: the postings (empty until then) are in when the promise
   * resolves. Nothing may ask for a name's postings, nor change `scanned`, before. Without the addon,
   * or on an index with files, addScanned().
   */
  async addScannedInBackground(scanned: readonly ScannedFile[], native = true): Promise<void> {
    const addon = native && this.files.length === 0 ? nativeAddon() : undefined;
    if (!addon) return this.addScanned(scanned);
    this.changes++;
    // Each file's first proxy, as pushFile() below numbers them.
    const pStarts = new Uint32Array(scanned.length);
    let proxies = this.postings.proxyCount;
    for (let fi = 0; fi < scanned.length; fi++) {
      pStarts[fi] = proxies;
      proxies += (scanned[fi]!.scan?.proxies.length ?? 0) / 3;
    }
    const built = this.postings.addInBackground(
      addon,
      scanned.map((f) => f.scan),
      this.table.size,
      pStarts,
    );
    for (let fi = 0; fi < scanned.length; fi++) this.pushFile(scanned[fi]!, fi);
    await built;
  }

  /**
   * Folds the postings' overlay in and drops those of deleted and replaced file records, so that a
   * refreshed warm start can be written as a cache again. Answers do not change.
   */
  compact(): void {
    this.postings.compact(this.table.size, this.files.length);
  }

  /** Counts the files, bytes and skipped files from the records: after a full build, and again after a warm start's refresh. */
  recountStats(walk?: Pick<IndexStats, 'symlinks' | 'excluded' | 'unreadableDirs'>): void {
    let files = 0;
    let bytes = 0;
    const skipped: Skipped[] = [];
    for (const f of this.files) {
      if (!f.alive) continue;
      files++;
      bytes += f.size;
      if (f.skipped) skipped.push(f.skipped);
    }
    skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    this.stats = { ...this.stats, ...walk, files, bytes, skipped };
  }

  private pushFile(f: ScannedFile, fileIdx: number): void {
    const scan = f.scan;
    const proxyStart = this.postings.addProxies(scan);
    const rec: IndexedFile = {
      path: f.path,
      size: f.size,
      stamp: f.stamp,
      alive: true,
      lines: scan?.lines ?? 0,
      exports: scan?.exports ?? [],
      // the scanner sent only the definitions of the names the file exports
      defs: scan?.exports.length ? scan.defs : [],
      imports: scan?.imports ?? [],
      wrappers: scan?.wrappers ?? [],
      proxyStart,
      proxyCount: this.postings.proxyCount - proxyStart,
    };
    if (f.skipped) rec.skipped = f.skipped;
    if (scan && scan.localMacros.length) rec.localMacros = scan.localMacros;
    if (scan && scan.includes.length) rec.includes = scan.includes;
    const old = this.byPath.get(f.path);
    if (old !== undefined) this.dropFile(old);
    this.files[fileIdx] = rec;
    this.byPath.set(f.path, fileIdx);
  }

  private dropFile(fileIdx: number): void {
    this.files[fileIdx]!.alive = false;
    this.search.fileDropped(fileIdx);
  }

  /** Names a scan must take as export calls: tree-wide and scoped wrappers. */
  wrapperNames(): Set<string> | undefined {
    return this.exportTable.wrapperNames();
  }

  // ---- queries ----

  forEachPosting(id: number, fn: (file: number, line: number, ctx: number) => void): void {
    this.postings.forEach(id, fn);
  }

  /** See ConsumerSearch.consumers(). */
  consumers(exp: Export, stop?: (c: Consumer) => boolean): Consumer[] {
    return this.search.consumers(exp, stop);
  }

  /** See ConsumerSearch.eachConsumer(). */
  eachConsumer(exp: Export, each: (file: string, line: number, fileIdx: number, cls: ConsumerClass, via: Via | undefined) => void): number {
    return this.search.eachConsumer(exp, each);
  }

  /** See ConsumerSearch.directSources(). */
  directSources(exp: Export, limit: number): string[] | undefined {
    return this.search.directSources(exp, limit);
  }

  /** Files other than the exporter's that name the export in code today (export history searches these). */
  literalUsers(exp: Export): string[] {
    return this.search.literalUsers(exp);
  }

  /** A name's uses in code, first per file: no definitions, nothing inside a header macro or inline. */
  directUses(name: string): { file: string; line: number }[] {
    return this.search.directUses(name);
  }

  /** Whether the file uses the name in code on that line (not a definition, not in a comment or a string). */
  usesAt(name: string, path: string, line: number): boolean {
    return this.search.usesAt(name, path, line);
  }

  /** The class of a consumer file of an export of `exporter`. */
  classify(path: string, exporter: string): ConsumerClass {
    return this.search.classify(path, exporter);
  }

  /** Where a name has a non-static definition (a function, a variable, an asm symbol). */
  definitionsOf(name: string): { file: string; line: number }[] {
    return this.search.definitionsOf(name);
  }

  exportsNamed(name: string): Export[] {
    return this.exportTable.exportsNamed(name);
  }

  /** Exports under the paths (all when none), in file and line order whatever was updated since. */
  exportsUnder(paths: readonly string[]): Export[] {
    return this.exportTable.exportsUnder(paths);
  }

  /** Export calls that could not be resolved, under the paths (all when none). */
  unresolvedUnder(paths: readonly string[]): Unresolved[] {
    return this.exportTable.unresolvedUnder(paths);
  }

  // ---- incremental ----

  /**
   * A Makefile or Kbuild file with other text (undefined: deleted): its directory's
   * DEFAULT_SYMBOL_NAMESPACE flags are read again, and the exports they reach resolved again.
   */
  setMakefile(path: string, text: string | undefined): void {
    this.exportTable.setMakefiles([[path, text]]);
  }

  /** setMakefile() for several at once (a warm start's changed Makefiles). */
  setMakefiles(list: readonly [path: string, text: string | undefined][]): void {
    this.exportTable.setMakefiles(list);
  }

  /** Re-scans one file from its bytes (an editor buffer or the disk) and replaces its contribution. */
  updateFile(path: string, buf: Uint8Array, stamp = BUFFER_STAMP): void {
    const nul = buf.indexOf(0);
    if (nul >= 0) this.replaceFile({ path, size: buf.length, stamp, skipped: { path, reason: 'binary', detail: `NUL byte at line ${countLines(buf, nul)}` } });
    else this.replaceFile({ path, size: buf.length, stamp, scan: scanBuffer(this.scanner, path, buf, this.wrapperNames()) });
  }

  /** Re-reads one file from the disk as a full build does: binary and too-large files are skipped, and counted; a file gone meanwhile is dropped. */
  rescanFile(path: string, maxBytes: number): void {
    const f = scanPath(this.scanner, this.root, path, maxBytes, this.wrapperNames());
    // gone, or now a link, a FIFO or a device: the walk would not index it either
    if (f.skipped?.reason === 'unreadable' && (f.skipped.detail === 'ENOENT' || f.skipped.detail === NOT_REGULAR)) this.deleteFile(path);
    else this.replaceFile(f);
  }

  private replaceFile(f: ScannedFile): void {
    this.changes++;
    const before = this.byPath.get(f.path);
    const wrappersMoved = (before !== undefined && this.files[before]!.wrappers.length > 0) || (f.scan?.wrappers.length ?? 0) > 0;
    this.exportTable.removeExportsOf(f.path);
    const fileIdx = this.files.length;
    this.pushFile(f, fileIdx);
    if (f.scan?.uses) this.postings.addFile(f.scan.uses, fileIdx, this.files[fileIdx]!.proxyStart);
    this.exportTable.resolveFile(this.files[fileIdx]!);
    // the wrappers first: an includer resolved again must see the header's wrappers as they are now
    if (wrappersMoved) this.exportTable.refreshWrappers();
    this.exportTable.resolveIncluders(f.path);
  }

  deleteFile(path: string): void {
    const idx = this.byPath.get(path);
    if (idx === undefined) return;
    this.changes++;
    this.dropFile(idx);
    this.byPath.delete(path);
    this.exportTable.removeExportsOf(path);
    if (this.files[idx]!.wrappers.length) this.exportTable.refreshWrappers();
    this.exportTable.resolveIncluders(path);
  }
}

export { underPaths };

/** Walks, scans and indexes a whole tree. */
export async function buildIndex(root: string, opts: IndexOptions = {}): Promise<KernelIndex> {
  const walk: WalkResult = walkTree(root, opts.exclude);
  return buildIndexFromWalk(root, walk, opts);
}

/** Names a tree has per source file, about (linux-6.1: 2.14 M for 56,731 files). */
const NAMES_PER_FILE = 40;

export async function buildIndexFromWalk(root: string, walk: WalkResult, opts: IndexOptions = {}): Promise<KernelIndex> {
  // A name table sized for the tree from the start: growing it to linux's size rehashed 1.9 M names.
  const log2 = Math.ceil(Math.log2((walk.sources.length * NAMES_PER_FILE) / 0.6));
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const index = new KernelIndex(root, new NameTable(new Interner(Math.max(16, Math.min(23, log2)))), maxBytes);
  const pool = {
    root,
    maxBytes,
    workers: opts.workers,
    workerScript: opts.workerScript,
    onProgress: opts.onProgress,
    token: opts.token,
    chunkFiles: opts.chunkFiles,
    workerNameLimit: opts.workerNameLimit,
    native: opts.native,
  };
  let t = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    opts.onPhase?.(name, now - t);
    t = now;
  };
  const scanning = scanFiles(walk.sources, index.table, pool);
  // The Makefiles are read while the scan threads (or workers), which start before scanFiles() first waits, run.
  const kbuild = readKbuildNamespaces(root, walk.makefiles);
  const scanned = await scanning;
  phase('scan');
  // The postings are filled on another thread (where the addon is) while this one resolves the exports.
  const postings = index.addScannedInBackground(scanned, opts.native !== false);
  phase('postings (started)');
  index.exportTable.kbuild = kbuild;
  index.exportTable.collectWrappers();
  const wrapperNames = index.wrapperNames();
  if (wrapperNames) {
    const callers = index.exportTable.wrapperCallers(scanned);
    const rescanned = await scanFiles(callers, index.table, { ...pool, workers: 0, onProgress: undefined, wrapperNames });
    index.exportTable.applyWrapperScans(rescanned);
  }
  phase('wrappers');
  index.exportTable.resolveAll();
  phase('resolve');
  await postings;
  // The per-file uses are in the postings now: let them go (tens of MB for a kernel tree).
  for (const f of scanned) if (f.scan) f.scan.uses = NO_USES;
  phase('postings (waited)');
  index.recountStats({ symlinks: walk.symlinks, excluded: walk.excluded, unreadableDirs: walk.unreadableDirs });
  return index;
}

/**
 * The persisted index: one binary file per (tree, options), written to a temporary name and renamed,
 * so a reader never sees half a file. Anything that does not validate is reported and rebuilt.
 *
 * Layout: magic, u32 CRC-32 of the header, u32 header length, the JSON header, then the typed arrays
 * in header order, each 8-byte aligned, so that loading makes views on the file's bytes, not copies.
 * Each array's CRC-32 is in the header. The small arrays (files, details, proxies) come first: a warm
 * start resolves exports from them before it checks the large ones (postings, names).
 */
import { closeSync, fstatSync, readdirSync, readSync, unlinkSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { crc32 } from './crc32';
import { type ExportFlavour, type ExportType, linkerSymbols } from './exportMacros';
import type { MakefileStat, StatList } from './freshness';
import type { Export, IndexedFile, IndexStats, KernelIndex, Unresolved } from './index';
import type { InternerState } from './interner';
import { DEF_CTX, type Definition, type RawExport } from './scanTypes';
import type { KbuildNamespaces } from './kbuild';
import { type NativeAddon, nativeAddon } from './nativeScanner';
import { decodeName, encodeName } from './fsName';
import { openRegular } from './regularFile';

/** 16 bytes, so that what follows is 4-byte aligned. */
const MAGIC = 'KEXPORTS-IDX-19\n';
const PREFIX = MAGIC.length + 8;

type ArrayKind = 'u32' | 'i32' | 'u16' | 'u8' | 'f64';

/** What a file keeps beyond its scalars, decoded when first asked for: only files that export, import or define small macros have it. */
type LazyDetail = Pick<IndexedFile, 'exports' | 'defs' | 'imports' | 'localMacros'>;
/** What a warm start needs of every file at once: few files have any. */
type EagerDetail = Partial<Pick<IndexedFile, 'wrappers' | 'includes' | 'skipped'>>;

export interface CacheHeader {
  root: string;
  key: string;
  /** Per-file scalars live in arrays (filePaths, fileSize, ...); details in JSON (see encodeDetails). */
  fileCount: number;
  /** Random per write: a reader of part of the file can tell that it read the same file. */
  generation: string;
  dirs: [string, number][];
  /** The Makefiles and Kbuild files the namespaces in `kbuild` were read from, as stat'ed before. */
  makefiles: MakefileStat[];
  kbuild: { dir: [string, string][]; subdir: [string, string][]; object: [string, string][] };
  stats: IndexStats;
  arrays: { name: string; kind: ArrayKind; length: number; crc: number }[];
  names: number;
  proxyCount: number;
}

/** The arrays a warm start needs before it can resolve exports; the rest may still be on their way. */
const SMALL = [
  'filePaths',
  'fileSize',
  'fileStamp',
  'fileLines',
  'fileAlive',
  'fileProxyStart',
  'fileProxyCount',
  'detailsEager',
  'detailAt',
  'details',
  'exports',
  'exportRows',
  'proxyName',
  'proxyLine',
  'proxyKind',
];
const LARGE = ['offsets', 'postFile', 'postLine', 'postCtx', 'internTable', 'internHashes', 'internLens', 'internArena'];

type Typed = Uint32Array | Int32Array | Uint16Array | Uint8Array | Float64Array;

/**
 * Details, as JSON made for parsing speed: raw exports and definitions, which are most of it, as
 * tuples whose few distinct strings (macros, #if paths, kinds) are indices into a string list.
 * Half the bytes of the same data as objects, and twice as fast to parse.
 *
 * A warm start decodes only what it needs of every file (`detailsEager`: wrappers, includes, skips,
 * and the string list). Each file's exports, definitions, imports and local macros are a JSON text of
 * their own in `details`, from detailAt[k] to detailAt[k + 1], decoded when first asked for: they
 * serve only re-resolving a file and reviews. (Decoding them all took a third of the main thread's
 * part of a linux warm start, garbage collection included.)
 */
type ExportTuple = [macro: number, args: string[], line: number, col: number, endLine: number, endCol: number, cond: number, ns?: string | null, nsLine?: number, nsLate?: 0 | 1, printed?: 1];
type DefTuple = [name: string, line: number, endLine: number, isStatic: 0 | 1, kind: number];
type LazyTuple = [exports: ExportTuple[], defs: DefTuple[], imports: IndexedFile['imports'], localMacros: NonNullable<IndexedFile['localMacros']> | 0];
interface EagerJson {
  strings: string[];
  files: [number, EagerDetail][];
}

/** Repeated strings of a JSON section as indices into its list of strings: -1 for none. */
function stringIds(): { strings: string[]; str: (v: string | undefined) => number } {
  const strings: string[] = [];
  const ids = new Map<string, number>();
  const str = (v: string | undefined): number => {
    if (v === undefined) return -1;
    let id = ids.get(v);
    if (id === undefined) ids.set(v, (id = strings.push(v) - 1));
    return id;
  };
  return { strings, str };
}

/** The string of an index written by stringIds(); a damaged index throws, naming the section. */
function stringOf(strings: readonly string[], section: string): (k: number) => string {
  return (k) => {
    const v = strings[k];
    if (v === undefined) throw new Error(`${section}: string out of range`);
    return v;
  };
}

function encodeDetails(files: readonly IndexedFile[]): { eager: Buffer; at: Uint32Array; lazy: Buffer } {
  const { strings, str } = stringIds();
  const eager: EagerJson['files'] = [];
  const at = new Uint32Array(files.length + 1);
  const texts: string[] = [];
  let pos = 0;
  files.forEach((f, k) => {
    at[k] = pos;
    const e: EagerDetail = {};
    if (f.wrappers.length) e.wrappers = f.wrappers;
    if (f.includes?.length) e.includes = f.includes;
    if (f.skipped) e.skipped = f.skipped;
    if (e.wrappers || e.includes || e.skipped) eager.push([k, e]);
    if (!f.exports.length && !f.defs.length && !f.imports.length && !f.localMacros?.length) return;
    const exports = f.exports.map((e): ExportTuple => {
      const t: ExportTuple = [str(e.macro), e.args, e.line, e.col, e.endLine, e.endCol, str(e.cond)];
      if (e.printed) t.push(null, 0, 0, 1);
      else if (e.fileNamespace !== undefined) t.push(e.fileNamespace, e.fileNamespaceLine ?? 0, ...(e.fileNamespaceLate ? ([1] as const) : []));
      return t;
    });
    const defs = f.defs.map((d): DefTuple => [d.name, d.line, d.endLine, d.isStatic ? 1 : 0, str(d.kind)]);
    const text = JSON.stringify([exports, defs, f.imports, f.localMacros?.length ? f.localMacros : 0] satisfies LazyTuple);
    texts.push(text);
    pos += Buffer.byteLength(text, 'utf8');
  });
  at[files.length] = pos;
  return { eager: Buffer.from(JSON.stringify({ strings, files: eager } satisfies EagerJson), 'utf8'), at, lazy: Buffer.from(texts.join(''), 'utf8') };
}

const NONE: never[] = [];

/** Where a file's lazy details are, and the strings they index. */
interface LazySource {
  bytes: Uint8Array;
  str: (k: number) => string;
}

function decodeLazy(src: LazySource, start: number, end: number, path: string): LazyDetail {
  let t: LazyTuple;
  try {
    t = JSON.parse(Buffer.from(src.bytes.buffer, src.bytes.byteOffset + start, end - start).toString('utf8')) as LazyTuple;
  } catch (e) {
    throw new Error(`the cache's details of ${path}: ${(e as Error).message}`);
  }
  const { str } = src;
  const [exports, defs, imports, localMacros] = t;
  const d: LazyDetail = {
    exports: exports.length
      ? exports.map((t) => {
          const e: RawExport = { macro: str(t[0]), args: t[1], line: t[2], col: t[3], endLine: t[4], endCol: t[5], cond: str(t[6]) };
          if (typeof t[7] === 'string') {
            e.fileNamespace = t[7];
            e.fileNamespaceLine = t[8] ?? 0;
            if (t[9]) e.fileNamespaceLate = true;
          }
          if (t[10] === 1) e.printed = true;
          return e;
        })
      : NONE,
    defs: defs.length ? defs.map((t) => ({ name: t[0], line: t[1], endLine: t[2], isStatic: t[3] === 1, kind: str(t[4]) as Definition['kind'] })) : NONE,
    imports: imports.length ? imports : NONE,
  };
  if (localMacros) d.localMacros = localMacros;
  return d;
}

/** The per-file arrays of a warm start's cache, which its file records read and write in place. */
interface FileColumns {
  size: Float64Array;
  stamp: Float64Array;
  lines: Uint32Array;
  alive: Uint8Array;
  proxyStart: Uint32Array;
  proxyCount: Uint32Array;
  /** Each file's details in `src`: from at[k] to at[k + 1], none when they are equal. */
  at: Uint32Array;
  src: LazySource;
}

/**
 * A file record of a warm start: its path and its place in the cache's per-file arrays, whose values
 * it reads and writes there. Its exports, definitions, imports and local macros are decoded when
 * first asked for. (Records of eleven fields took megabytes of a warm start's heap, which the garbage
 * collector copied twice; these take three fields.)
 */
class CachedFile implements IndexedFile {
  declare wrappers: IndexedFile['wrappers'];
  declare includes?: IndexedFile['includes'];
  declare skipped?: IndexedFile['skipped'];
  private detail: LazyDetail | undefined = undefined;

  constructor(
    public path: string,
    private readonly cols: FileColumns,
    private readonly k: number,
  ) {}

  get size(): number {
    return this.cols.size[this.k]!;
  }
  set size(v: number) {
    this.cols.size[this.k] = v;
  }
  get stamp(): number {
    return this.cols.stamp[this.k]!;
  }
  set stamp(v: number) {
    this.cols.stamp[this.k] = v;
  }
  get lines(): number {
    return this.cols.lines[this.k]!;
  }
  set lines(v: number) {
    this.cols.lines[this.k] = v;
  }
  get alive(): boolean {
    return this.cols.alive[this.k] === 1;
  }
  set alive(v: boolean) {
    this.cols.alive[this.k] = v ? 1 : 0;
  }
  get proxyStart(): number {
    return this.cols.proxyStart[this.k]!;
  }
  set proxyStart(v: number) {
    this.cols.proxyStart[this.k] = v;
  }
  get proxyCount(): number {
    return this.cols.proxyCount[this.k]!;
  }
  set proxyCount(v: number) {
    this.cols.proxyCount[this.k] = v;
  }

  /** The details, decoded (or made empty) on first use; a file without any reads NONE without this. */
  private get lazy(): LazyDetail {
    const { at, src } = this.cols;
    const start = at[this.k]!;
    const end = at[this.k + 1]!;
    return (this.detail ??= end > start ? decodeLazy(src, start, end, this.path) : { exports: NONE, defs: NONE, imports: NONE });
  }
  private get none(): boolean {
    return !this.detail && this.cols.at[this.k] === this.cols.at[this.k + 1];
  }
  get exports(): RawExport[] {
    return this.none ? NONE : this.lazy.exports;
  }
  set exports(v: RawExport[]) {
    this.lazy.exports = v;
  }
  get defs(): Definition[] {
    return this.none ? NONE : this.lazy.defs;
  }
  set defs(v: Definition[]) {
    this.lazy.defs = v;
  }
  get imports(): IndexedFile['imports'] {
    return this.none ? NONE : this.lazy.imports;
  }
  set imports(v: IndexedFile['imports']) {
    this.lazy.imports = v;
  }
  get localMacros(): IndexedFile['localMacros'] {
    return this.none ? undefined : this.lazy.localMacros;
  }
  set localMacros(v: IndexedFile['localMacros']) {
    this.lazy.localMacros = v;
  }
}
// What most files have: no wrappers. The few that do get their own (unpackFiles()).
Object.defineProperty(CachedFile.prototype, 'wrappers', { value: NONE, writable: true });

/**
 * The resolved exports and the unresolved calls, so that a warm start need not resolve them again.
 * Each export is a row of EXPORT_ROW int32s in `exportRows`, its strings (names, files, macros, types,
 * namespaces, #if paths) indices into the list of strings in the JSON of `exports`, -1 for none; the
 * few fields most exports lack are in that JSON's `rare`. (Rows as JSON tuples took about twice as long
 * to parse and map, much of it collecting the tuples' garbage.)
 */
const EXPORT_ROW = 16;
const enum Col {
  Name,
  Type,
  Macro,
  Flavour,
  File,
  Line,
  ColStart,
  EndLine,
  EndCol,
  Cond,
  Wrapper,
  Namespace,
  /** The definition, of the export's own name: line, end line, static (-1 for no definition), kind. */
  DefLine,
  DefEndLine,
  DefStatic,
  DefKind,
}
type Rare = Partial<Pick<Export, 'modules' | 'includedFrom' | 'ignoredNamespace' | 'generated' | 'byConfig'>>;
interface ExportsJson {
  strings: string[];
  rare: [row: number, fields: Rare][];
  unresolved: [file: number, line: number, macro: number, reason: string][];
}

function encodeExports(index: KernelIndex): { json: Buffer; rows: Int32Array } {
  const { strings, str } = stringIds();
  const rows = new Int32Array(index.exports.length * EXPORT_ROW);
  const rare: ExportsJson['rare'] = [];
  index.exports.forEach((e, k) => {
    const d = e.definition;
    if (d && d.name !== e.name) throw new Error(`the definition of ${e.name} is named ${d.name}`);
    rows.set([str(e.name), str(e.type), str(e.macro), str(e.flavour), str(e.file), e.line, e.col, e.endLine, e.endCol, str(e.cond), str(e.wrapper), str(e.namespace)], k * EXPORT_ROW);
    rows.set(d ? [d.line, d.endLine, d.isStatic ? 1 : 0, str(d.kind)] : [0, 0, -1, -1], k * EXPORT_ROW + Col.DefLine);
    const r: Rare = {};
    if (e.modules !== undefined) r.modules = e.modules;
    if (e.includedFrom !== undefined) r.includedFrom = e.includedFrom;
    if (e.ignoredNamespace !== undefined) r.ignoredNamespace = e.ignoredNamespace;
    if (e.generated !== undefined) r.generated = e.generated;
    if (e.byConfig !== undefined) r.byConfig = e.byConfig;
    if (Object.keys(r).length) rare.push([k, r]);
  });
  const unresolved = index.unresolved.map((u): ExportsJson['unresolved'][number] => [str(u.file), u.line, str(u.macro), u.reason]);
  return { json: Buffer.from(JSON.stringify({ strings, rare, unresolved } satisfies ExportsJson), 'utf8'), rows };
}

function decodeExports(text: string, rows: Int32Array): { exports: Export[]; unresolved: Unresolved[] } {
  const json = JSON.parse(text) as ExportsJson;
  const str = stringOf(json.strings, 'exports');
  if (rows.length % EXPORT_ROW) throw new Error('export rows');
  const exports: Export[] = new Array(rows.length / EXPORT_ROW);
  for (let k = 0, r = 0; r < rows.length; k++, r += EXPORT_ROW) {
    const flavour = str(rows[r + Col.Flavour]!) as ExportFlavour;
    const name = str(rows[r + Col.Name]!);
    const e: Export = {
      name,
      symbols: linkerSymbols(flavour, name),
      type: str(rows[r + Col.Type]!) as ExportType,
      macro: str(rows[r + Col.Macro]!),
      flavour,
      file: str(rows[r + Col.File]!),
      line: rows[r + Col.Line]!,
      col: rows[r + Col.ColStart]!,
      endLine: rows[r + Col.EndLine]!,
      endCol: rows[r + Col.EndCol]!,
      cond: str(rows[r + Col.Cond]!),
    };
    if (rows[r + Col.Wrapper]! >= 0) e.wrapper = str(rows[r + Col.Wrapper]!);
    if (rows[r + Col.Namespace]! >= 0) e.namespace = str(rows[r + Col.Namespace]!);
    const isStatic = rows[r + Col.DefStatic]!;
    if (isStatic >= 0) e.definition = { name, line: rows[r + Col.DefLine]!, endLine: rows[r + Col.DefEndLine]!, isStatic: isStatic === 1, kind: str(rows[r + Col.DefKind]!) as Definition['kind'] };
    exports[k] = e;
  }
  for (const [k, fields] of json.rare) {
    if (!exports[k]) throw new Error('exports: rare fields out of range');
    Object.assign(exports[k], fields);
  }
  const unresolved = json.unresolved.map((u): Unresolved => ({ file: str(u[0]), line: u[1], macro: str(u[2]), reason: u[3] }));
  return { exports, unresolved };
}

/** Splits file records into arrays of scalars and the details of the few files that have any. */
function packFiles(files: readonly IndexedFile[]): { arrays: [string, Typed][] } {
  const n = files.length;
  const size = new Float64Array(n);
  const stamp = new Float64Array(n);
  const lines = new Uint32Array(n);
  const alive = new Uint8Array(n);
  const pStart = new Uint32Array(n);
  const pCount = new Uint32Array(n);
  files.forEach((f, k) => {
    size[k] = f.size;
    stamp[k] = f.stamp;
    lines[k] = f.lines;
    alive[k] = f.alive ? 1 : 0;
    pStart[k] = f.proxyStart;
    pCount[k] = f.proxyCount;
  });
  // NUL-separated: a file name may hold a newline, never a NUL.
  // a path's own bytes, even where they are not UTF-8 (fsName.ts): the addon stats them as they are
  const paths = encodeName(files.map((f) => f.path).join('\0'));
  const details = encodeDetails(files);
  return {
    arrays: [
      ['filePaths', paths],
      ['fileSize', size],
      ['fileStamp', stamp],
      ['fileLines', lines],
      ['fileAlive', alive],
      ['fileProxyStart', pStart],
      ['fileProxyCount', pCount],
      ['detailsEager', details.eager],
      ['detailAt', details.at],
      ['details', details.lazy],
    ],
  };
}

/** The `filePaths` section's paths, as packFiles() joined them. */
function filePaths(h: CacheHeader, bytes: Uint8Array): string[] {
  return h.fileCount ? decodeName(bytes).split('\0') : [];
}

function unpackFiles(h: CacheHeader, arrays: Map<string, Typed>): { files: IndexedFile[]; paths: string[]; eager: number[] } {
  const eager = JSON.parse(utf8(arrays.get('detailsEager') as Uint8Array)) as EagerJson;
  const src: LazySource = { bytes: arrays.get('details') as Uint8Array, str: stringOf(eager.strings, 'details') };
  const at = arrays.get('detailAt') as Uint32Array;
  if (at.length !== h.fileCount + 1 || at[h.fileCount] !== src.bytes.length) throw new Error('detail offsets');
  const paths = filePaths(h, arrays.get('filePaths') as Uint8Array);
  if (paths.length !== h.fileCount) throw new Error('file count mismatch');
  const cols: FileColumns = {
    size: arrays.get('fileSize') as Float64Array,
    stamp: arrays.get('fileStamp') as Float64Array,
    lines: arrays.get('fileLines') as Uint32Array,
    alive: arrays.get('fileAlive') as Uint8Array,
    proxyStart: arrays.get('fileProxyStart') as Uint32Array,
    proxyCount: arrays.get('fileProxyCount') as Uint32Array,
    at,
    src,
  };
  for (const a of [cols.size, cols.stamp, cols.lines, cols.alive, cols.proxyStart, cols.proxyCount]) if (a.length !== h.fileCount) throw new Error('file arrays');
  const { proxyStart, proxyCount } = cols;
  const out: IndexedFile[] = new Array(h.fileCount);
  for (let k = 0; k < h.fileCount; k++) {
    if (proxyStart[k]! + proxyCount[k]! > h.proxyCount) throw new Error('proxy range out of range');
    if (at[k + 1]! < at[k]!) throw new Error('detail offsets');
    out[k] = new CachedFile(paths[k]!, cols, k);
  }
  const withEager: number[] = [];
  for (const [k, e] of eager.files) {
    const f = out[k];
    if (!f) throw new Error('details: file out of range');
    if (e.wrappers) f.wrappers = e.wrappers;
    if (e.includes) f.includes = e.includes;
    if (e.skipped) f.skipped = e.skipped;
    withEager.push(k);
  }
  return { files: out, paths, eager: withEager };
}

export function cacheKey(root: string, options: unknown): string {
  return createHash('sha1').update(MAGIC).update(root).update(JSON.stringify(options)).digest('hex').slice(0, 16);
}

export function cachePath(dir: string, key: string): string {
  return join(dir, `${key}.idx`);
}

function kindOf(a: Typed): ArrayKind {
  return a instanceof Uint32Array ? 'u32' : a instanceof Int32Array ? 'i32' : a instanceof Uint16Array ? 'u16' : a instanceof Float64Array ? 'f64' : 'u8';
}

/**
 * A cache file's bytes, taken from an index at one moment: what changes in place as the index is
 * edited later (the name table's slots) is copied; the rest is never written again once built (the
 * postings) or only appended past what is taken here (names, proxies).
 */
export interface CacheSnapshot {
  file: string;
  parts: Uint8Array[];
}

export function snapshotIndex(index: KernelIndex, dirs: [string, number][], makefiles: MakefileStat[], file: string, key: string): CacheSnapshot {
  const st = index.table.interner.state();
  const packed = packFiles(index.files);
  const exports = encodeExports(index);
  const arrays: [string, Typed][] = [
    ...packed.arrays,
    ['exports', exports.json],
    ['exportRows', exports.rows],
    ['proxyName', index.proxyName.subarray(0, index.proxyCount)],
    ['proxyLine', index.proxyLine.subarray(0, index.proxyCount)],
    ['proxyKind', index.proxyKind.subarray(0, index.proxyCount)],
    ['offsets', index.offsets],
    ['postFile', index.postFile],
    ['postLine', index.postLine],
    ['postCtx', index.postCtx],
    ['internTable', st.table.slice()],
    ['internHashes', st.hashes],
    ['internLens', st.lens],
    ['internArena', st.arena],
  ];
  const header: CacheHeader = {
    root: index.root,
    key,
    fileCount: index.files.length,
    generation: createHash('sha1').update(`${process.pid} ${Date.now()} ${Math.random()}`).digest('hex').slice(0, 16),
    dirs,
    makefiles,
    kbuild: { dir: [...index.kbuild.dir], subdir: [...index.kbuild.subdir], object: [...index.kbuild.object] },
    stats: index.stats,
    arrays: arrays.map(([name, a]) => ({ name, kind: kindOf(a), length: a.length, crc: crc32(bytesOf(a)) })),
    names: st.size,
    proxyCount: index.proxyCount,
  };
  const headerBuf = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(PREFIX);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(crc32(headerBuf), MAGIC.length);
  prefix.writeUInt32LE(headerBuf.length, MAGIC.length + 4);
  const parts: Uint8Array[] = [prefix, headerBuf];
  let pos = PREFIX + headerBuf.length;
  for (const [, a] of arrays) {
    if (pos % 8) {
      parts.push(Buffer.alloc(8 - (pos % 8)));
      pos += 8 - (pos % 8);
    }
    parts.push(bytesOf(a));
    pos += a.byteLength;
  }
  return { file, parts };
}

function tempName(file: string): string {
  return `${file}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}.tmp`;
}

/**
 * Removes the temporary files that writers of this cache file left when they died mid-write (an editor
 * closed during the background write): those whose process is gone. A live writer's file is kept.
 */
function removeOrphanTemps(file: string): void {
  const dir = dirname(file);
  const prefix = `${basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.\d+(?:\.[0-9a-z]*)?\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (!m || processAlive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes a snapshot to a temporary name, syncs it and renames it over the cache, on libuv's threads: the calling thread only queues the writes. */
export async function writeSnapshotAsync(snap: CacheSnapshot): Promise<void> {
  await fsp.mkdir(dirname(snap.file), { recursive: true });
  removeOrphanTemps(snap.file);
  // A directory or a FIFO where the cache file goes cannot be renamed over: say so before writing hundreds of MB.
  const there = await fsp.lstat(snap.file).catch(() => undefined);
  if (there && !there.isFile()) throw new Error(`${snap.file} is ${there.isDirectory() ? 'a directory' : 'not a regular file'}, not a cache file; remove it, or give --cache-dir`);
  const tmp = tempName(snap.file);
  const fh = await fsp.open(tmp, 'w');
  try {
    for (const b of snap.parts) {
      let off = 0;
      while (off < b.length) off += (await fh.write(b, off, b.length - off)).bytesWritten;
    }
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, snap.file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** The text of a u8 array that views the cache's bytes. */
function utf8(a: Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('utf8');
}

function bytesOf(a: Typed): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const WIDTH: Record<ArrayKind, number> = { u8: 1, u16: 2, u32: 4, i32: 4, f64: 8 };

interface Section {
  name: string;
  kind: ArrayKind;
  length: number;
  crc: number;
  at: number;
  bytes: number;
}

/** Where each array starts, in file offsets: 8-byte aligned, in header order, after the header. */
function layout(h: CacheHeader, afterHeader: number): Section[] {
  let pos = afterHeader;
  return h.arrays.map((a) => {
    if (pos % 8) pos += 8 - (pos % 8);
    const at = pos;
    const bytes = a.length * WIDTH[a.kind];
    pos += bytes;
    return { ...a, at, bytes };
  });
}

/** Reads exactly `bytes` at `at` into `into` (at offset `to`). */
function readFully(fd: number, into: Uint8Array, to: number, at: number, bytes: number): void {
  let got = 0;
  while (got < bytes) {
    const n = readSync(fd, into, to + got, bytes - got, at + got);
    if (n === 0) throw new Error('truncated');
    got += n;
  }
}

/** The header and the arrays' places, from the first bytes of a cache file (or of its contents). */
function headerOf(read: (at: number, bytes: number) => Buffer, size: number): { header: CacheHeader; sections: Section[] } {
  if (size < PREFIX) throw new Error('truncated');
  const head = read(0, PREFIX);
  if (head.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error('not a kexports index of this version');
  const hlen = head.readUInt32LE(MAGIC.length + 4);
  if (PREFIX + hlen > size) throw new Error('truncated header');
  const hbuf = read(PREFIX, hlen);
  if (crc32(hbuf) !== head.readUInt32LE(MAGIC.length)) throw new Error('checksum mismatch in the header');
  const header = JSON.parse(hbuf.toString('utf8')) as CacheHeader;
  const sections = layout(header, PREFIX + hlen);
  const names = sections.map((s) => s.name);
  if (names.join() !== [...SMALL, ...LARGE].join()) throw new Error('unexpected arrays');
  const last = sections[sections.length - 1]!;
  if (last.at + last.bytes !== size) throw new Error(last.at + last.bytes > size ? `truncated ${last.name}` : 'trailing bytes');
  return { header, sections };
}

/** What a warm start compares with the disk, read without the rest of the cache (for a worker). */

/**
 * A cache file opened for a warm start's worker: the header is read once; then the file list (a few
 * MB of a cache of hundreds, unchecked) and, when asked, the large arrays, checked, all of the same
 * write, since the file stays open (a new write replaces the file by renaming, never in place).
 */
export class CacheFile {
  readonly list: StatList;
  private readonly fd: number;
  private readonly size: number;
  private readonly header: CacheHeader;
  private readonly sections: Section[];

  constructor(file: string) {
    this.fd = openRegular(file, true).fd;
    try {
      this.size = fstatSync(this.fd).size;
      ({ header: this.header, sections: this.sections } = headerOf((at, n) => this.read(at, n), this.size));
      this.list = this.statList();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /**
   * The large arrays in a buffer to transfer to the main thread, checked here (checksums, shapes,
   * ranges), and the names' starts; meanwhile the main thread decodes the rest.
   */
  checkedRest(): { buffer: ArrayBuffer; starts: Uint32Array } {
    const split = this.sections[SMALL.length]!.at;
    const buffer = readRange(this.fd, split, this.size - split);
    const { interner } = checkedLarge(this.header, buffer, -split, this.sections.slice(SMALL.length));
    return { buffer, starts: interner.starts };
  }

  private read(at: number, n: number): Buffer {
    const b = Buffer.alloc(n);
    readFully(this.fd, b, 0, at, n);
    return b;
  }

  private statList(): StatList {
    const h = this.header;
    const at = new Map(this.sections.map((a) => [a.name, a]));
    const arr = (name: string): Buffer => {
      const a = at.get(name)!;
      return this.read(a.at, a.bytes);
    };
    const f64 = (b: Buffer): Float64Array => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    const paths = filePaths(h, arr('filePaths'));
    const alive = new Uint8Array(arr('fileAlive'));
    const out: StatList = { generation: h.generation, dirs: h.dirs, makefiles: h.makefiles, paths, size: f64(arr('fileSize')), stamp: f64(arr('fileStamp')), alive };
    if (paths.length !== h.fileCount || out.size.length !== h.fileCount || out.stamp.length !== h.fileCount || alive.length !== h.fileCount) throw new Error('file arrays');
    return out;
  }
}

/**
 * A cache file being read: its header and small arrays once opened; the large arrays after
 * readRest(), or from a worker that read and checked them (adoptRest()).
 */
export class CacheReader {
  readonly header: CacheHeader;
  /** The file's bytes up to the large arrays. */
  readonly bytes: Buffer;
  private readonly sections: Section[];
  /** Where the large arrays start: 8-byte aligned, as every array. */
  private readonly split: number;
  readonly size: number;
  /**
   * The large arrays' bytes, from file offset `at` on, and the names' starts from whoever checked
   * them: a worker (all of it) or the addon (their CRCs and ranges); `mapped` when the buffer maps the file.
   */
  private rest?: { buffer: ArrayBuffer; at: number; starts?: Uint32Array; checkedBy?: CheckedBy; mapped?: boolean };
  /** The whole file, mapped (see the constructor). */
  private readonly whole?: ArrayBuffer;

  /**
   * Opens the file and reads its header and small arrays. With `map`, a file of at least
   * `map.minBytes` is mapped whole instead, copy-on-write (addon.mapFile()), where the runtime allows:
   * the small arrays are then not copied (the main thread's largest cost in a warm start, before),
   * and readRestWith() takes the large ones from the same mapping.
   */
  constructor(
    readonly file: string,
    key: string,
    map?: { addon: NativeAddon; minBytes: number },
  ) {
    const fd = openRegular(file, true).fd;
    try {
      this.size = fstatSync(fd).size;
      this.whole = map && this.size >= map.minBytes && this.size > 0 ? map.addon.mapFile(file, 0, this.size) : undefined;
      let bytes = this.whole ? Buffer.from(this.whole) : Buffer.alloc(0);
      const read = (at: number, n: number): Buffer => {
        if (this.whole) {
          if (at + n > bytes.length) throw new Error('truncated');
          return bytes.subarray(at, at + n);
        }
        if (at + n > bytes.length) {
          const more = Buffer.allocUnsafeSlow(Math.min(this.size, Math.max(at + n, 1 << 16)));
          bytes.copy(more);
          bytes = more;
        }
        readFully(fd, bytes, at, at, n);
        return bytes.subarray(at, at + n);
      };
      ({ header: this.header, sections: this.sections } = headerOf(read, this.size));
      if (this.header.key !== key) throw new Error('made for other options');
      this.split = this.sections[SMALL.length]!.at;
      const start = PREFIX + bytes.readUInt32LE(MAGIC.length + 4);
      read(start, this.split - start);
      this.bytes = bytes.subarray(0, this.split);
    } finally {
      closeSync(fd);
    }
  }

  /** Reads the large arrays, blocking. */
  readRest(): void {
    const fd = openRegular(this.file, true).fd;
    try {
      this.rest = { buffer: readRange(fd, this.split, this.size - this.split), at: this.split };
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The large arrays, mapped from the file (addon.mapFile()) unless `map` is false or the runtime
   * refuses, else read; their CRCs and then the postings' and name slots' ranges are checked on one
   * of the addon's threads (readChecked()), their shapes by large().
   */
  readRestWith(addon: NativeAddon, map = true): Promise<void> {
    const from = this.whole ? 0 : this.split - (this.split % MAP_ALIGN);
    const mapped = this.whole ?? (map && this.size > from ? addon.mapFile(this.file, from, this.size - from) : undefined);
    const at = mapped ? from : this.split;
    const buffer = mapped ?? new ArrayBuffer(this.size - this.split);
    const sections = this.sections.slice(SMALL.length);
    const triples = new Float64Array(sections.flatMap((a) => [a.at - at, a.bytes, a.crc]));
    const range = (name: string): number[] => {
      const a = sections.find((x) => x.name === name)!;
      return [a.at - at, a.bytes];
    };
    const h = this.header;
    const file16 = sections.find((x) => x.name === 'postFile')!.kind === 'u16' ? 1 : 0;
    const arena = sections.find((x) => x.name === 'internArena')!.bytes;
    const ranges = new Float64Array([
      ...range('offsets'),
      ...range('postFile'),
      ...range('postCtx'),
      ...range('internTable'),
      file16,
      h.fileCount,
      h.proxyCount,
      h.names,
      ...range('internLens'),
      arena,
    ]);
    const starts = new Uint32Array(h.names);
    return new Promise((resolve, reject) =>
      addon.readChecked(
        mapped ? null : this.file,
        at,
        triples,
        buffer,
        (e, bad) => {
          if (e) reject(e);
          else if (bad >= 0) reject(new Error(`checksum mismatch in ${sections[bad]!.name}`));
          else {
            this.rest = { buffer, at, starts, checkedBy: 'addon', mapped: !!mapped };
            resolve();
          }
        },
        ranges,
        starts,
      ),
    );
  }

  /** Whether the large arrays map the cache file rather than a copy of it. */
  get mapped(): boolean {
    return !!this.rest?.mapped;
  }

  /** The files' paths (NUL-separated) and which are alive, for a stat pass before small() has decoded and checked them. */
  fileList(): { paths: Uint8Array; alive: Uint8Array } {
    const arrays = viewsOf(
      this.bytes.buffer,
      this.bytes.byteOffset,
      this.sections.filter((a) => a.name === 'filePaths' || a.name === 'fileAlive'),
      false,
    );
    return { paths: arrays.get('filePaths') as Uint8Array, alive: arrays.get('fileAlive') as Uint8Array };
  }

  /** Takes the large arrays, checked, and the names' starts from a worker's CacheFile.checkedRest() of the same file write (the caller compared generations). */
  adoptRest(buffer: ArrayBuffer, starts: Uint32Array): void {
    if (buffer.byteLength !== this.size - this.split) throw new Error('large arrays of another size');
    this.rest = { buffer, at: this.split, starts, checkedBy: 'worker' };
  }

  /**
   * The files (and their paths, and which of them have wrappers, includes or skips), the resolved
   * exports and the proxies, with the small arrays' checksums and shapes checked.
   */
  small(): { files: IndexedFile[]; paths: string[]; eager: number[]; exports: Export[]; unresolved: Unresolved[]; arrays: Map<string, Typed> } {
    const arrays = viewsOf(this.bytes.buffer, this.bytes.byteOffset, this.sections.slice(0, SMALL.length), true);
    const h = this.header;
    const { files, paths, eager } = unpackFiles(h, arrays);
    const { exports, unresolved } = decodeExports(utf8(arrays.get('exports') as Uint8Array), arrays.get('exportRows') as Int32Array);
    const proxyName = arrays.get('proxyName')!;
    if (proxyName.length !== h.proxyCount || arrays.get('proxyLine')!.length !== h.proxyCount || arrays.get('proxyKind')!.length !== h.proxyCount) throw new Error('proxy arrays');
    for (let k = 0; k < proxyName.length; k++) if (proxyName[k]! >= h.names) throw new Error('proxy out of range');
    return { files, paths, eager, exports, unresolved, arrays };
  }

  /** The postings and the name table, with their checksums, shapes and ranges checked here unless a worker did. */
  large(): { arrays: Map<string, Typed>; interner: InternerState } {
    if (!this.rest) throw new Error('the large arrays were not read');
    const { buffer, at, starts, checkedBy } = this.rest;
    return checkedLarge(this.header, buffer, -at, this.sections.slice(SMALL.length), checkedBy && { by: checkedBy, starts: starts! });
  }
}

/** Where a mapping of the large arrays starts: a multiple of every page size linux runs with. */
const MAP_ALIGN = 1 << 16;

/** `bytes` bytes of an open file from `at`, into a buffer of their own (to transfer between threads). */
function readRange(fd: number, at: number, bytes: number): ArrayBuffer {
  const buffer = new ArrayBuffer(bytes);
  readFully(fd, new Uint8Array(buffer), 0, at, bytes);
  return buffer;
}

/** Who checked the large arrays before the main thread takes them: a worker all of it, the addon their CRCs and ranges. */
type CheckedBy = 'worker' | 'addon';

/**
 * Views on the large arrays, checked here but for what `checked` says was: a worker's checkedRest()
 * checked them all; the addon's readChecked() their CRCs and ranges, leaving their shapes. Either
 * made the names' starts.
 */
function checkedLarge(
  h: CacheHeader,
  buffer: ArrayBuffer,
  base: number,
  sections: Section[],
  checked?: { by: CheckedBy; starts: Uint32Array },
): { arrays: Map<string, Typed>; interner: InternerState } {
  const arrays = viewsOf(buffer, base, sections, !checked);
  const interner = internerOf(h, arrays, checked?.starts);
  if (checked?.by !== 'worker') {
    validateShape(h, arrays, interner);
    if (!checked) validateRanges(h, arrays, interner);
  }
  return { arrays, interner };
}

/** Typed views on a cache's bytes held in `buffer` from file offset -base; each array's CRC-32 checked first when asked. */
function viewsOf(buffer: ArrayBufferLike, base: number, sections: Section[], check: boolean): Map<string, Typed> {
  if (base % 8 !== 0) throw new Error('misaligned buffer');
  const arrays = new Map<string, Typed>();
  for (const a of sections) {
    const at = base + a.at;
    if (check && crc32(new Uint8Array(buffer, at, a.bytes)) !== a.crc) throw new Error(`checksum mismatch in ${a.name}`);
    const view =
      a.kind === 'u32'
        ? new Uint32Array(buffer, at, a.length)
        : a.kind === 'i32'
          ? new Int32Array(buffer, at, a.length)
          : a.kind === 'u16'
            ? new Uint16Array(buffer, at, a.length)
            : a.kind === 'f64'
              ? new Float64Array(buffer, at, a.length)
              : new Uint8Array(buffer, at, a.length);
    arrays.set(a.name, view);
  }
  return arrays;
}

/** The name table; name starts are not stored, since names lie end to end in id order. */
function internerOf(h: CacheHeader, arrays: Map<string, Typed>, known?: Uint32Array): InternerState {
  const lens = arrays.get('internLens') as Uint16Array;
  if (lens.length !== h.names || (known && known.length !== h.names)) throw new Error('name arrays');
  const arena = arrays.get('internArena') as Uint8Array;
  let starts = known;
  if (!starts) {
    starts = new Uint32Array(h.names);
    let pos = 0;
    for (let k = 0; k < lens.length; k++) {
      starts[k] = pos;
      pos += lens[k]!;
    }
    if (pos !== arena.length) throw new Error('name lengths do not add up to the names');
  }
  return { table: arrays.get('internTable') as Int32Array, hashes: arrays.get('internHashes') as Uint32Array, starts, lens, arena, size: h.names };
}

function validateShape(h: CacheHeader, arrays: Map<string, Typed>, st: InternerState): void {
  const offsets = arrays.get('offsets')!;
  const postFile = arrays.get('postFile')!;
  if (offsets.length > h.names + 1 || offsets.length < 1) throw new Error('offsets length');
  if (offsets[offsets.length - 1] !== postFile.length) throw new Error('postings length');
  if (arrays.get('postLine')!.length !== postFile.length || arrays.get('postCtx')!.length !== postFile.length) throw new Error('postings arrays');
  const t = st.table;
  if (t.length === 0 || (t.length & (t.length - 1)) !== 0 || h.names * 5 > t.length * 3) throw new Error('name table size');
  if (st.hashes.length !== h.names) throw new Error('name arrays');
}

/** Every posting's file and context, and every name slot, in range; in the addon when it loads, where it is faster. */
export function validateRanges(h: Pick<CacheHeader, 'fileCount' | 'proxyCount' | 'names'>, arrays: Map<string, Typed>, st: Pick<InternerState, 'table'>, native = true): void {
  const offsets = arrays.get('offsets') as Uint32Array;
  const postFile = arrays.get('postFile') as Uint32Array | Uint16Array;
  const postCtx = arrays.get('postCtx') as Uint32Array;
  const addon = native ? nativeAddon() : undefined;
  if (addon) {
    const bad = addon.checkRanges(offsets, postFile, postCtx, st.table, h.fileCount, h.proxyCount, h.names);
    if (bad) throw new Error(bad);
    return;
  }
  const files = h.fileCount;
  for (let k = 1; k < offsets.length; k++) if (offsets[k]! < offsets[k - 1]!) throw new Error('offsets not sorted');
  for (let k = 0; k < postFile.length; k++) {
    if (postFile[k]! >= files || (postCtx[k]! > h.proxyCount && postCtx[k] !== DEF_CTX)) throw new Error('posting out of range');
  }
  const t = st.table;
  for (let k = 0; k < t.length; k++) if (t[k]! >= h.names) throw new Error('name table out of range');
}

export function kbuildFrom(h: CacheHeader): KbuildNamespaces {
  return { dir: new Map(h.kbuild.dir), subdir: new Map(h.kbuild.subdir), object: new Map(h.kbuild.object) };
}

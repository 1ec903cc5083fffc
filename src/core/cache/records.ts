/** The index's records as the cache holds them: files (scalars in columns, details as JSON, decoded when first asked for) and exports (rows of numbers, the rare fields as JSON). */
import { type ExportFlavour, type ExportType, linkerSymbols } from '../exportMacros';
import type { Export, IndexedFile, KernelIndex, Unresolved } from '../index/index';
import { type Definition, type RawExport } from '../scan/scanTypes';
import { decodeName, encodeName } from '../util/fsName';
import { CacheHeader, Typed, utf8 } from './format';

/** What a file keeps beyond its scalars, decoded when first asked for: only files that export, import or define small macros have it. */
type LazyDetail = Pick<IndexedFile, 'exports' | 'defs' | 'imports' | 'localMacros'>;

/** What a warm start needs of every file at once: few files have any. */
type EagerDetail = Partial<Pick<IndexedFile, 'wrappers' | 'includes' | 'skipped'>>;

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

export function encodeDetails(files: readonly IndexedFile[]): { eager: Buffer; at: Uint32Array; lazy: Buffer } {
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

type Rare = Partial<Pick<Export, 'modules' | 'includedFrom' | 'ignoredNamespace' | 'generated' | 'byConfig' | 'linkerName' | 'renamedBy'>>;

interface ExportsJson {
  strings: string[];
  rare: [row: number, fields: Rare][];
  unresolved: [file: number, line: number, macro: number, reason: string][];
}

export function encodeExports(index: KernelIndex): { json: Buffer; rows: Int32Array } {
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
    if (e.linkerName !== undefined) r.linkerName = e.linkerName;
    if (e.renamedBy !== undefined) r.renamedBy = e.renamedBy;
    if (Object.keys(r).length) rare.push([k, r]);
  });
  const unresolved = index.unresolved.map((u): ExportsJson['unresolved'][number] => [str(u.file), u.line, str(u.macro), u.reason]);
  return { json: Buffer.from(JSON.stringify({ strings, rare, unresolved } satisfies ExportsJson), 'utf8'), rows };
}

export function decodeExports(text: string, rows: Int32Array): { exports: Export[]; unresolved: Unresolved[] } {
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
    const e = exports[k];
    if (!e) throw new Error('exports: rare fields out of range');
    Object.assign(e, fields);
    if (fields.linkerName !== undefined) e.symbols = linkerSymbols(e.flavour, fields.linkerName);
  }
  const unresolved = json.unresolved.map((u): Unresolved => ({ file: str(u[0]), line: u[1], macro: str(u[2]), reason: u[3] }));
  return { exports, unresolved };
}

/** Splits file records into arrays of scalars and the details of the few files that have any. */
export function packFiles(files: readonly IndexedFile[]): { arrays: [string, Typed][] } {
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
export function filePaths(h: CacheHeader, bytes: Uint8Array): string[] {
  return h.fileCount ? decodeName(bytes).split('\0') : [];
}

export function unpackFiles(h: CacheHeader, arrays: Map<string, Typed>): { files: IndexedFile[]; paths: string[]; eager: number[] } {
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

/**
 * The native scanner (src/native/scanner.cc), when the build could compile it: the same scan as
 * lexer.ts, about three times faster, for whole-tree scans. Anything else, and any machine without it,
 * uses lexer.ts. KEXPORTS_SCANNER=js turns it off.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { exportMacros } from './exportMacros';
import type { Definition, DefKind, FileScan, ImportNs, IncludeRef, LocalMacro, ProxyDef, RawExport, ScannedFile, WrapperCandidate } from './scanTypes';

declare const handleBrand: unique symbol;
type Handle = { readonly [handleBrand]: true };

export interface NativeAddon {
  create(exportNames: string[], nameLimit: number): Handle;
  scan(handle: Handle, root: string, paths: string[], maxBytes: number, wrapperNames: string[] | null, keepDefs: boolean): RawBatch;
  /**
   * Scans `paths` on `threads` threads of the addon, each with its own scanner, in guided chunks of
   * at least `chunk` files; each batch goes to onBatch on this thread, each scanner's in order.
   * onBatch's false stops the threads after their current chunks; onDone gets what onBatch threw.
   */
  scanParallel(
    exportNames: string[],
    nameLimit: number,
    threads: number,
    chunk: number,
    root: string,
    paths: string[],
    maxBytes: number,
    wrapperNames: string[] | null,
    keepDefs: boolean,
    onBatch: (scanner: number, first: number, batch: RawBatch) => boolean | void,
    onDone: (err: unknown) => void,
  ): void;
  release(handle: Handle): void;
  /** Interner.internPacked on the interner's own arrays, grown by the caller to fit (see interner.ts). */
  internPacked(table: Int32Array, hashes: Uint32Array, starts: Uint32Array, lens: Uint16Array, arena: Uint8Array, state: Float64Array, bytes: Uint8Array, byteLens: Uint16Array, out: Int32Array): void;
  /** walk.ts's walk without exclude globs: NUL-separated lists, unsorted. */
  readTree(root: string, from: string[], known: string[]): { dirs: string; dirStamps: Float64Array; sources: string; makefiles: string; unreadable: string; symlinks: number };
  /**
   * index.ts's counting sort of a full build's postings on one of libuv's threads (see
   * addScannedInBackground()): `offsets` (names + 1, zeros) gets each name's start.
   */
  fillPostings(
    uses: (Uint32Array | null)[],
    pStarts: Uint32Array,
    offsets: Uint32Array,
    postFile: Uint16Array | Uint32Array,
    postLine: Uint16Array | Uint32Array,
    postCtx: Uint32Array,
    done: (err: Error | undefined) => void,
  ): void;
  /** out[2k], out[2k + 1]: size and stamp of root/paths[k] (as statSync), or -1, -1. */
  statPaths(root: string, paths: string[], out: Float64Array): void;
  /**
   * statPaths() of NUL-separated UTF-8 paths (a cache's filePaths) on `threads` threads, one of
   * libuv's: only those whose byte in `only` is not 0, when given.
   */
  statList(root: string, paths: Uint8Array, only: Uint8Array | null, out: Float64Array, threads: number, done: (err: Error | undefined) => void): void;
  /**
   * Reads into.byteLength bytes of `file` from `at` on one of libuv's threads, then checks the CRC-32
   * of each section, given as [start in `into`, bytes, crc] triples: done(error, the index of the first
   * that differs, or -1). With file null, only the checks, of what `into` holds (a mapFile()). With
   * `ranges`, then checkRanges() too: [start, bytes] in `into` of offsets, postFile, postCtx and the
   * name table, 1 when postFile is 16-bit, and the counts of files, proxies and names; what is out of
   * range fails the job, as its message. With three ranges more, [start, bytes] in `into` of the
   * names' 16-bit lengths and the bytes of the names, and `starts` (one per name): then the names'
   * starts into it, and the lengths must add up to the names.
   */
  readChecked(file: string | null, at: number, sections: Float64Array, into: ArrayBuffer, done: (err: Error | undefined, bad: number) => void, ranges?: Float64Array, starts?: Uint32Array): void;
  /**
   * `bytes` bytes of `file` from `at` (a multiple of the page size) mapped copy-on-write, released
   * with the ArrayBuffer; undefined where the runtime takes no outside memory (Electron) or the
   * mapping fails. A read past the end of a file cut short meanwhile finds zeros, and is counted by
   * mappedFaults(), where it would otherwise end the process with SIGBUS.
   */
  mapFile(file: string, at: number, bytes: number): ArrayBuffer | undefined;
  mappedFaults(): number;
  /** zlib's CRC-32 of `data` from `value` (as Node's zlib.crc32()), with carry-less multiplies where the CPU has them. */
  crc32(data: Uint8Array, value?: number): number;
  /** cache.ts's validateRanges() on the cache's arrays: what is wrong, or null. */
  checkRanges(offsets: Uint32Array, postFile: Uint32Array | Uint16Array, postCtx: Uint32Array, table: Int32Array, files: number, proxies: number, names: number): string | null;
}

interface RawBatch {
  fresh: boolean;
  names: Uint8Array;
  nameLens: Uint16Array;
  uses: Uint32Array;
  proxyNames: Uint32Array;
  stat: Float64Array;
  info: Int32Array;
  json: string;
}

/** One batch: files whose uses number names on this thread's wire, and the names first sent now. */
export interface NativeBatch {
  fresh: boolean;
  names: Uint8Array;
  nameLens: Uint16Array;
  files: ScannedFile[];
  /** The buffers every file's uses and proxyIds view; transfer them once. */
  buffers: ArrayBuffer[];
}

export const ADDON_FILE = 'kexports-scanner.node';

let loaded: NativeAddon | null | undefined;
let loadError: string | undefined;

/**
 * Where the build puts the addon: beside the bundles, or dist/ when running from src/ (tests).
 * KEXPORTS_ADDON names it for a bundle elsewhere (the bench's ES module, which has no __dirname).
 */
function candidates(): string[] {
  const here = typeof __dirname === 'string' ? [join(__dirname, ADDON_FILE), join(__dirname, '..', '..', 'dist', ADDON_FILE)] : [];
  return process.env.KEXPORTS_ADDON ? [process.env.KEXPORTS_ADDON, ...here] : here;
}

/** The addon, or undefined (and why, in nativeLoadError()) when it is missing, fails to load or is turned off. */
export function nativeAddon(): NativeAddon | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  if (process.env.KEXPORTS_SCANNER === 'js') {
    loadError = 'KEXPORTS_SCANNER=js';
    return undefined;
  }
  const file = candidates().find((f) => existsSync(f));
  if (!file) {
    loadError = `${ADDON_FILE} was not built`;
    return undefined;
  }
  try {
    const addon = createRequire(file)(file) as Partial<NativeAddon>;
    const missing = (
      ['create', 'scan', 'scanParallel', 'release', 'internPacked', 'statPaths', 'statList', 'readChecked', 'mapFile', 'mappedFaults', 'readTree', 'fillPostings', 'checkRanges', 'crc32'] as const
    ).filter((f) => typeof addon[f] !== 'function');
    if (missing.length) loadError = `${file} is older than this kexports (no ${missing.join(', ')}): npm run build`;
    else loaded = addon as NativeAddon;
  } catch (e) {
    loadError = `${file}: ${(e as Error).message}`;
  }
  return loaded ?? undefined;
}

export function nativeLoadError(): string | undefined {
  return loadError;
}

/** Which scanner whole-tree scans use, and why not the native one, for logs. */
export function scannerInUse(): string {
  return nativeAddon() ? 'whole-tree scans use the native scanner' : `whole-tree scans use the JavaScript scanner: ${nativeLoadError()}`;
}

/** A scanner with its own names, kept until `nameLimit` is passed; then it starts afresh (batch.fresh). */
export class NativeScanner {
  private readonly handle: Handle;

  constructor(
    private readonly addon: NativeAddon,
    nameLimit = 1 << 20,
  ) {
    this.handle = addon.create([...exportMacros.keys()], nameLimit);
  }

  scan(root: string, paths: string[], maxBytes: number, wrapperNames?: ReadonlySet<string>, keepDefs = false): NativeBatch {
    const raw = this.addon.scan(this.handle, root, paths, maxBytes, wrapperNames ? [...wrapperNames] : null, keepDefs);
    return toBatch(paths, raw, maxBytes);
  }

  /** Frees the names now (tens of MB for a kernel tree); a later scan starts afresh. */
  release(): void {
    this.addon.release(this.handle);
  }
}

/**
 * Past this many names a pool's scanner (a scanParallel() thread, a worker's lexer.ts) starts a new
 * name table: the pool maps every batch's names anyway. A table of every name a thread has seen in a
 * kernel tree raises the peak memory by tens of MB, and saves no time.
 */
export const POOL_SCANNER_NAMES = 1 << 18;

export interface ParallelScan {
  root: string;
  paths: string[];
  maxBytes: number;
  threads: number;
  chunkFiles: number;
  wrapperNames?: ReadonlySet<string>;
  nameLimit?: number;
}

/**
 * Scans `paths` on the addon's own threads, a scanner each. Each batch comes to `onBatch` on this
 * thread, with the index of its scanner (its wire numbers are that scanner's, batches in order) and of
 * its first path. `onBatch` returns false to stop early.
 */
export function scanParallel(addon: NativeAddon, scan: ParallelScan, onBatch: (scanner: number, first: number, batch: NativeBatch) => boolean): Promise<void> {
  const { root, paths, maxBytes } = scan;
  return new Promise((resolve, reject) => {
    addon.scanParallel(
      [...exportMacros.keys()],
      scan.nameLimit ?? POOL_SCANNER_NAMES,
      scan.threads,
      scan.chunkFiles,
      root,
      paths,
      maxBytes,
      scan.wrapperNames ? [...scan.wrapperNames] : null,
      false,
      (scanner, first, raw) => onBatch(scanner, first, toBatch(paths.slice(first, first + raw.info.length / 4), raw, maxBytes)),
      (err) => (err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err)))),
    );
  });
}

const DEF_KINDS: DefKind[] = ['function', 'variable', 'macro-variable', 'asm-label'];

type JExport = [string, string[], number, number, number, number, string, (string | null)?, number?, number?, number?];
type JDef = [string, number, number, number, number];
type JProxy = [string, number, number];
type JWrapper = [string, string[], number, string, number];
type JMacro = [string, string[] | null, string, number];
type JInclude = [string, number, number, number, number];
interface JFile {
  e: JExport[];
  d: JDef[];
  p: JProxy[];
  w: JWrapper[];
  i: [string, number][];
  m: JMacro[];
  n: JInclude[];
}

function toBatch(paths: string[], raw: RawBatch, maxBytes: number): NativeBatch {
  return { fresh: raw.fresh, names: raw.names, nameLens: raw.nameLens, files: toFiles(paths, raw, maxBytes), buffers: [raw.uses.buffer as ArrayBuffer, raw.proxyNames.buffer as ArrayBuffer] };
}

function toFiles(paths: string[], raw: RawBatch, maxBytes: number): ScannedFile[] {
  const parts = JSON.parse(raw.json) as (JFile | 0 | string)[];
  const out: ScannedFile[] = [];
  let use = 0;
  let proxy = 0;
  for (let k = 0; k < paths.length; k++) {
    const path = paths[k]!;
    const size = raw.stat[k * 2]!;
    const stamp = raw.stat[k * 2 + 1]!;
    const status = raw.info[k * 4]!;
    const triples = raw.info[k * 4 + 1]!;
    const part = parts[k]!;
    if (status === 1) out.push({ path, size, stamp, skipped: { path, reason: 'binary', detail: `NUL byte at line ${raw.info[k * 4 + 3]!}` } });
    else if (status === 2) out.push({ path, size, stamp, skipped: { path, reason: 'too-large', detail: `${size} bytes, over the ${maxBytes}-byte limit` } });
    else if (status === 3) out.push({ path, size, stamp, skipped: { path, reason: 'unreadable', detail: part as string } });
    else {
      const uses = raw.uses.subarray(use, use + triples * 3);
      use += triples * 3;
      const scan = toScan(part as JFile | 0, uses, raw.info[k * 4 + 2]!);
      if (scan.proxies.length) {
        scan.proxyIds = raw.proxyNames.subarray(proxy, proxy + scan.proxies.length);
        proxy += scan.proxies.length;
      }
      out.push({ path, size, stamp, scan });
    }
  }
  return out;
}

/**
 * One empty list for every empty part of every scan: linux's scans have 371,716 empty lists among
 * 397,117, and each was an object to allocate, to clone from a worker, and to collect. Nothing adds
 * to a scan's lists (the cache's records share one empty list the same way).
 */
const NONE: never[] = [];

function some<T, U>(list: T[], f: (x: T) => U): U[] {
  return list.length ? list.map(f) : NONE;
}

function toScan(p: JFile | 0, uses: Uint32Array, lines: number): FileScan {
  if (p === 0) return { exports: NONE, defs: NONE, proxies: NONE, wrappers: NONE, imports: NONE, localMacros: NONE, includes: NONE, uses, lines };
  const exports = some(p.e, (e): RawExport => {
    const x: RawExport = { macro: e[0], args: e[1], line: e[2], col: e[3], endLine: e[4], endCol: e[5], cond: e[6] };
    if (typeof e[7] === 'string') {
      x.fileNamespace = e[7];
      x.fileNamespaceLine = e[8]!;
      if (e[9] === 1) x.fileNamespaceLate = true;
    }
    if (e[10] === 1) x.printed = true;
    return x;
  });
  const defs = some(p.d, (d): Definition => ({ name: d[0], line: d[1], endLine: d[2], isStatic: d[3] === 1, kind: DEF_KINDS[d[4]]! }));
  const proxies = some(p.p, (x): ProxyDef => ({ name: x[0], line: x[1], kind: x[2] === 1 ? 'macro' : 'inline' }));
  const wrappers = some(p.w, (w): WrapperCandidate => {
    const c: WrapperCandidate = { name: w[0], params: w[1], line: w[2], body: w[3] };
    if (w[4] >= 0) c.undefLine = w[4];
    return c;
  });
  const imports = some(p.i, (i): ImportNs => ({ ns: i[0], line: i[1] }));
  const localMacros = some(p.m, (m): LocalMacro => ({ name: m[0], params: m[1], body: m[2], line: m[3] }));
  const includes = some(p.n, (n): IncludeRef => ({ target: n[0], system: n[1] === 1, line: n[2], col: n[3], endCol: n[4] }));
  return { exports, defs, proxies, wrappers, imports, localMacros, includes, uses, lines };
}

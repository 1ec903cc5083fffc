/**
 * The scanner's Node addon (src/scanner/node/addon.cc), when the build could compile it: whole-tree
 * scans on threads of its own, and the warm start's reads. The editor's single-file scans, and every
 * scan on a machine without the addon, run the WebAssembly build of the same source (wasmScanner.ts).
 * KEXPORTS_SCANNER=wasm turns the addon off.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { exportMacros } from '../exportMacros';
import { builtFilePaths } from './dist';
import { wasmLoadError } from './wasmScanner';
import { INFO_FIELDS, type NativeBatch, type RawBatch, toBatch } from './wire';

export type { NativeBatch } from './wire';

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

export const ADDON_FILE = 'kexports-scanner.node';

let loaded: NativeAddon | null | undefined;
let loadError: string | undefined;

/** The addon, or undefined (and why, in nativeLoadError()) when it is missing, fails to load or is turned off. */
export function nativeAddon(): NativeAddon | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  if (process.env.KEXPORTS_SCANNER === 'wasm') {
    loadError = 'KEXPORTS_SCANNER=wasm';
    return undefined;
  }
  const file = builtFilePaths(ADDON_FILE, 'KEXPORTS_ADDON').find((f) => existsSync(f));
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
  const whole = nativeAddon() ? 'whole-tree scans use the native scanner' : `whole-tree scans use the WebAssembly scanner, slower: ${nativeLoadError()}`;
  const wasm = wasmLoadError();
  return wasm ? `${whole}; single-file scans cannot run: ${wasm}` : whole;
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
    return toBatch(paths, this.scanRaw(root, paths, maxBytes, wrapperNames, keepDefs), maxBytes);
  }

  /** scan() before decoding: for a worker to hand over. */
  scanRaw(root: string, paths: string[], maxBytes: number, wrapperNames?: ReadonlySet<string>, keepDefs = false): RawBatch {
    return this.addon.scan(this.handle, root, paths, maxBytes, wrapperNames ? [...wrapperNames] : null, keepDefs);
  }

  /** Frees the names now (tens of MB for a kernel tree); a later scan starts afresh. */
  release(): void {
    this.addon.release(this.handle);
  }
}

/**
 * Past this many names a pool's scanner (a scanParallel() thread, a worker's wasm build) starts a new
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
  /** every definition and each top-level body's uses, as NativeScanner.scan()'s keepDefs */
  keepDefs?: boolean;
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
      scan.keepDefs ?? false,
      (scanner, first, raw) => onBatch(scanner, first, toBatch(paths.slice(first, first + raw.info.length / INFO_FIELDS), raw, maxBytes)),
      (err) => (err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err)))),
    );
  });
}

/**
 * Opening a tree's index: from the cache when it is valid, refreshed for what changed on disk since,
 * else by a full scan that is then cached.
 */
import { CacheReader, cacheKey, cachePath, kbuildFrom, snapshotIndex, writeSnapshotAsync } from './cache/cache';
import type { MakefileStat } from './cache/freshness';
import { statMakefiles } from './cache/freshness';
import { AddonWarmStart, type FileList, InProcessCheck, STAT_WORKER_MIN_BYTES, type WarmStartCheck, WarmStartWorker } from './cache/warmStart';
import { buildIndexFromWalk, type IndexOptions, KernelIndex } from './index/index';
import { readMakefile } from './build/kbuild';
import { DEFAULT_MAX_FILE_BYTES } from './scan/scanFile';
import { Interner } from './scan/interner';
import { type NativeAddon, nativeAddon } from './scan/nativeScanner';
import { NameTable } from './scan/scanPool';
import { walkTree } from './scan/walk';

export interface OpenOptions extends IndexOptions {
  /** Where the cache lives; undefined: no cache. */
  cacheDir?: string;
  log?: (msg: string) => void;
  /** A cache at least this large is checked against the disk on the addon's threads, or without the addon in a worker thread (default 16 MiB). */
  statWorkerMinBytes?: number;
  /** Files per claim when that worker and this thread share the files' stat pass (default 1024). */
  statChunk?: number;
  /**
   * After a full build: 'wait' (the default) returns once the cache is on disk; 'background' returns
   * once its bytes are taken, and writes the file on libuv's threads meanwhile, then calls
   * onCacheWritten. Edits to the index after the return do not reach that file.
   * 'after' returns before the bytes are taken and takes them on the event
   * loop's next turn, for a caller that answers from the index at once: an index changed by then is
   * not written (onCacheWritten gets why), so that a cache never holds what the files do not.
   */
  cacheWrite?: 'wait' | 'background' | 'after';
  onCacheWritten?: (error?: Error) => void;
  /**
   * With 'background' or 'after': called when a write starts (not when openIndex writes nothing), with a promise
   * that settles, never rejecting, once onCacheWritten has been called. The CLI waits for it at exit.
   */
  onCacheWriteStarted?: (settled: Promise<void>) => void;
  /** Changed files (and Makefiles) from which a warm start writes the cache again (default 200). */
  cacheRewriteMin?: number;
  /** A warm start with the addon maps the cache file (of statWorkerMinBytes or more) rather than reading it (default true). */
  mapCache?: boolean;
}

/** Above this many changed files a full rebuild is cheaper than updating one file at a time. */
const REFRESH_LIMIT = 2000;
/**
 * From this many changes on, a refreshed warm start is written as the cache again: folding the refresh
 * into the postings and taking the bytes, once, costs less than refreshing the same files again at
 * every start (a few hundred large amdgpu headers take seconds).
 */
const REWRITE_MIN = 200;

export async function openIndex(root: string, opts: OpenOptions = {}): Promise<KernelIndex> {
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const key = cacheKey(root, { exclude: opts.exclude ?? [], maxFileBytes });
  const file = opts.cacheDir ? cachePath(opts.cacheDir, key) : undefined;
  if (file) {
    try {
      const index = await fromCache(root, file, key, opts);
      if (index) return index;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') opts.log?.(`cache ${file} is unusable (${(e as Error).message}); rebuilding it`);
    }
  }
  const t = performance.now();
  const walk = walkTree(root, opts.exclude);
  // Stat'ed before they are read: an edit after this is seen by the next warm start.
  const makefiles = file ? statMakefiles(root, walk.makefiles, opts.native !== false) : [];
  opts.onPhase?.('walk', performance.now() - t);
  const index = await buildIndexFromWalk(root, walk, { ...opts, maxFileBytes });
  if (file && !opts.token?.isCancellationRequested) await writeCache(index, walk.dirs, makefiles, file, key, opts);
  return index;
}

/**
 * Writes the index as the tree's cache: settles once it is on disk, or, with opts.cacheWrite
 * 'background', once its bytes are taken. A failure is logged and passed to onCacheWritten, never thrown.
 */
async function writeCache(index: KernelIndex, dirs: [string, number][], makefiles: MakefileStat[], file: string, key: string, opts: OpenOptions): Promise<void> {
  const failed = (e: unknown): void => {
    const err = e as Error;
    opts.log?.(`could not write the cache ${file}: ${err.message}`);
    opts.onCacheWritten?.(err);
  };
  if (opts.cacheWrite === 'after') {
    const version = index.version;
    const settled = new Promise<void>((done) =>
      setImmediate(() => {
        if (index.version !== version) {
          failed(new Error('the index changed before its bytes were taken; the next full build writes it'));
          return done();
        }
        let started: Promise<void> | undefined;
        void writeCache(index, dirs, makefiles, file, key, { ...opts, cacheWrite: 'background', onCacheWriteStarted: (p) => (started = p) }).then(() => done(started));
      }),
    );
    opts.onCacheWriteStarted?.(settled);
    return;
  }
  const t = performance.now();
  let written: Promise<void>;
  try {
    written = writeSnapshotAsync(snapshotIndex(index, dirs, makefiles, file, key));
  } catch (e) {
    return failed(e);
  }
  if (opts.cacheWrite === 'background') {
    opts.onPhase?.('take cache bytes', performance.now() - t);
    const settled = written.then(() => opts.onCacheWritten?.(), failed);
    opts.onCacheWriteStarted?.(settled);
    return;
  }
  try {
    await written;
  } catch (e) {
    return failed(e);
  }
  opts.onPhase?.('save cache', performance.now() - t);
  opts.onCacheWritten?.();
}

/** The cached index brought up to date; undefined when too much changed to be worth it. */
async function fromCache(root: string, file: string, key: string, opts: OpenOptions): Promise<KernelIndex | undefined> {
  // The addon's threads when it loads, else a worker thread (which scans with the wasm build).
  const addon = opts.native !== false && opts.workers !== 0 ? nativeAddon() : undefined;
  const worker = addon ? undefined : WarmStartWorker.start(root, file, opts);
  // Counted from before the file is mapped: what the cut-short file failed is not the reason.
  const faults = addon?.mappedFaults();
  try {
    return await fromCacheWith(worker, addon, root, file, key, opts);
  } catch (e) {
    if (addon && addon.mappedFaults() !== faults) throw new Error('the file was cut short while it was read');
    throw e;
  } finally {
    worker?.close();
  }
}

async function fromCacheWith(worker: WarmStartWorker | undefined, addon: NativeAddon | undefined, root: string, file: string, key: string, opts: OpenOptions): Promise<KernelIndex | undefined> {
  let t = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    opts.onPhase?.(name, now - t);
    t = now;
  };
  // This thread decodes the files and the exports, which come resolved as the full build left them,
  // while a WarmStartCheck compares the tree with the cache and reads the large arrays (postings,
  // names): see warmStart.ts for its three ways.
  // Counted from before the mapping: a file cut short under this thread's decoding is found too.
  const faults = addon?.mappedFaults();
  const reader = new CacheReader(file, key, addon && opts.mapCache !== false ? { addon, minBytes: opts.statWorkerMinBytes ?? STAT_WORKER_MIN_BYTES } : undefined);
  const check: WarmStartCheck = (addon && AddonWarmStart.start(root, reader, addon, opts)) || worker || new InProcessCheck(root, opts);
  const { header } = reader;
  const { files, paths, eager, exports, unresolved, arrays } = reader.small();
  const index = KernelIndex.restored({
    root,
    files,
    paths,
    alive: arrays.get('fileAlive') as Uint8Array,
    proxies: {
      proxyName: arrays.get('proxyName') as Uint32Array,
      proxyLine: arrays.get('proxyLine') as Uint32Array,
      proxyKind: arrays.get('proxyKind') as Uint8Array,
      proxyCount: header.proxyCount,
    },
    kbuild: kbuildFrom(header),
    stats: header.stats,
    maxFileBytes: opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    eager,
    exports,
    unresolved,
  });
  phase('files and exports');

  const list: FileList = {
    dirs: header.dirs,
    makefiles: header.makefiles,
    paths,
    size: arrays.get('fileSize') as Float64Array,
    stamp: arrays.get('fileStamp') as Float64Array,
    alive: arrays.get('fileAlive') as Uint8Array,
  };
  if (check.meanwhile(list)) phase(check.meanwhileIs);
  if (!(await check.largeArrays(reader, list, header.generation))) return undefined;
  phase(check.largeArraysIs(reader));
  const large = reader.large();
  if (addon && reader.mapped) {
    const cutShort = (): boolean => addon.mappedFaults() !== faults;
    // Decoded or checked in part from zeros: fromCache() says so.
    if (cutShort()) throw new Error('cut short');
    index.mappedCache = { file, cutShort };
  }
  index.adoptPostings(new NameTable(new Interner(0, large.interner)), {
    offsets: large.arrays.get('offsets') as Uint32Array,
    postFile: large.arrays.get('postFile') as Uint32Array | Uint16Array,
    postLine: large.arrays.get('postLine') as Uint32Array | Uint16Array,
    postCtx: large.arrays.get('postCtx') as Uint32Array,
  });
  phase(check.namesIs);
  const stale = check.staleness(list);
  if (check.stalenessIs) phase(check.stalenessIs);
  // undefined: the tree itself is gone, rebuild (and fail there, saying so).
  if (!stale) return undefined;
  const { changed, gone, makefiles } = stale;
  if (changed.length + gone.length + makefiles.length > REFRESH_LIMIT) return undefined;
  for (const path of gone) index.deleteFile(path);
  for (const path of changed) index.rescanFile(path, opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
  // Namespaces from Makefiles: every export is resolved again once, after the files.
  if (makefiles.length) index.setMakefiles(makefiles.map((path) => [path, readMakefile(root, path)]));
  phase('refresh');
  if (changed.length || gone.length || makefiles.length) {
    index.recountStats();
    const mk = makefiles.length ? `, ${makefiles.length} Makefile${makefiles.length === 1 ? '' : 's'} read again` : '';
    opts.log?.(`cache refreshed: ${changed.length} changed or added, ${gone.length} deleted${mk}`);
  }
  if (changed.length + gone.length + makefiles.length >= (opts.cacheRewriteMin ?? REWRITE_MIN) && !opts.token?.isCancellationRequested) {
    index.compact();
    phase('fold the refresh into the postings');
    await writeCache(index, stale.dirs, stale.makefileStats, file, key, opts);
  }
  return index;
}

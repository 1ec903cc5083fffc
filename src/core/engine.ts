/**
 * Opening a tree's index: from the cache when it is valid, refreshed for what changed on disk since,
 * else by a full scan that is then cached.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CacheReader, cacheKey, cachePath, kbuildFrom, snapshotIndex, writeSnapshotAsync } from './cache/cache';
import type { MakefileStat, StatList } from './cache/freshness';
import { mergeStaleness, shareOf, STAT_CHUNK, type Staleness, staleDirs, staleFiles, statMakefiles, statShare } from './cache/freshness';
import type { StatReply, WorkerRequest, WorkerSetup } from './scan/scanProtocol';
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

/** A cache this large belongs to a tree whose stat pass and checks are worth other threads. */
const STAT_WORKER_MIN_BYTES = 16 << 20;

/**
 * A worker thread for a warm start without the addon: it compares the cache's directories with the disk (reading the
 * cache's lists itself) and reads the large arrays while the main thread decodes the rest; then both
 * stat the files.
 */
class WarmStartWorker {
  readonly stat: Promise<StatReply>;
  /** The next file of the list to stat, for whichever thread claims it first (freshness.ts's statShare). */
  readonly claim = new Int32Array(new SharedArrayBuffer(4));

  private constructor(
    private readonly worker: Worker,
    file: string,
    exclude: readonly string[],
    readonly chunk: number,
  ) {
    let settle!: (r: StatReply) => void;
    this.stat = new Promise((r) => (settle = r));
    worker.on('message', (r: StatReply) => settle(r));
    worker.once('error', (e) => settle({ type: 'stat', error: e.message }));
    worker.postMessage({ type: 'stat', cacheFile: file, exclude: [...exclude], claim: this.claim.buffer as SharedArrayBuffer, chunk } satisfies WorkerRequest);
  }

  static start(root: string, file: string, opts: OpenOptions): WarmStartWorker | undefined {
    if (opts.workers === 0) return undefined;
    const script = resolve(opts.workerScript ?? join(__dirname, 'scanWorker.js'));
    try {
      if (!existsSync(script) || statSync(file).size < (opts.statWorkerMinBytes ?? STAT_WORKER_MIN_BYTES)) return undefined;
    } catch {
      return undefined;
    }
    const setup: WorkerSetup = { root, maxBytes: opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES, native: opts.native !== false };
    return new WarmStartWorker(new Worker(script, { workerData: setup }), file, opts.exclude ?? [], opts.statChunk ?? STAT_CHUNK);
  }

  close(): void {
    void this.worker.terminate();
  }
}

/** Threads of the addon's stat pass: beside the main thread and the large arrays' checks, one on two cores. */
const STAT_THREADS = Math.max(1, Math.min(2, availableParallelism() - 1));

/**
 * A warm start's helpers on the addon's threads, started once the cache's small arrays are read: one
 * of libuv's threads checks the large arrays' CRCs and ranges (mapped, or read where the runtime
 * refuses the mapping: CacheReader.readRestWith()), STAT_THREADS stat the files and one the
 * directories and Makefiles, while the main thread decodes the rest. No worker thread to start, and
 * no stat pass left to the main thread.
 */
class AddonWarmStart {
  private constructor(
    private readonly rest: Promise<void>,
    private readonly files: Promise<Float64Array>,
    private readonly dirs: Promise<Float64Array>,
  ) {
    // Each is awaited by staleness(); until then, or if decoding throws first, a failure is not an unhandled rejection.
    for (const p of [rest, files, dirs]) p.catch(() => {});
  }

  static start(root: string, reader: CacheReader, addon: NativeAddon, opts: OpenOptions): AddonWarmStart | undefined {
    if (reader.size < (opts.statWorkerMinBytes ?? STAT_WORKER_MIN_BYTES)) return undefined;
    const stat = (paths: Uint8Array, only: Uint8Array | null, count: number, threads: number): Promise<Float64Array> =>
      new Promise((settle, reject) => {
        const out = new Float64Array(count * 2);
        addon.statList(root, paths, only, out, threads, (e) => (e ? reject(e) : settle(out)));
      });
    const { paths, alive } = reader.fileList();
    const { dirs, makefiles } = reader.header;
    const others = [...dirs.map(([dir]) => dir), ...makefiles.map(([path]) => path)];
    return new AddonWarmStart(
      reader.readRestWith(addon, opts.mapCache !== false),
      stat(paths, alive, alive.length, STAT_THREADS),
      stat(Buffer.from(others.join('\0'), 'utf8'), null, others.length, 1),
    );
  }

  /** What changed on disk, once the threads are done (the large arrays checked too); undefined when the tree itself is gone. */
  async staleness(root: string, list: Omit<StatList, 'generation'>, exclude: readonly string[]): Promise<Staleness | undefined> {
    const [, files, others] = await Promise.all([this.rest, this.files, this.dirs]);
    const n = list.dirs.length * 2;
    const dirs = staleDirs(root, list, true, exclude, { dirs: others.subarray(0, n), makefiles: others.subarray(n) });
    return dirs && mergeStaleness(list.paths, dirs, [shareOf(list, files)], list.alive);
  }
}

/** The cached index brought up to date; undefined when too much changed to be worth it. */
async function fromCache(root: string, file: string, key: string, opts: OpenOptions): Promise<KernelIndex | undefined> {
  // The addon's threads when it loads, else a worker thread (which scans with the wasm build).
  const addon = opts.native !== false && opts.workers !== 0 ? nativeAddon() : undefined;
  const helper = addon ? undefined : WarmStartWorker.start(root, file, opts);
  // Counted from before the file is mapped: what the cut-short file failed is not the reason.
  const faults = addon?.mappedFaults();
  try {
    return await fromCacheWith(helper, addon, root, file, key, opts);
  } catch (e) {
    if (addon && addon.mappedFaults() !== faults) throw new Error('the file was cut short while it was read');
    throw e;
  } finally {
    helper?.close();
  }
}

async function fromCacheWith(helper: WarmStartWorker | undefined, addon: NativeAddon | undefined, root: string, file: string, key: string, opts: OpenOptions): Promise<KernelIndex | undefined> {
  let t = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    opts.onPhase?.(name, now - t);
    t = now;
  };
  // This thread decodes the files and the exports, which come resolved as the full build left them,
  // while the addon's threads stat the tree and check the large arrays (postings, names), mapped from
  // the file (or read, where the runtime refuses the mapping). Without the addon, a worker stats the
  // directories and Makefiles, then reads and checks the large arrays; then both it and this thread
  // stat the files, a chunk at a time, until none is left. A small cache: all of it here.
  // Counted from before the mapping: a file cut short under this thread's decoding is found too.
  const faults = addon?.mappedFaults();
  const reader = new CacheReader(file, key, addon && opts.mapCache !== false ? { addon, minBytes: opts.statWorkerMinBytes ?? STAT_WORKER_MIN_BYTES } : undefined);
  const threads = addon && AddonWarmStart.start(root, reader, addon, opts);
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
    // Only files with eager details can have wrappers.
    wrapperFiles: eager.map((k) => files[k]!),
    exports,
    unresolved,
  });
  phase('files and exports');

  const list = {
    dirs: header.dirs,
    makefiles: header.makefiles,
    paths,
    size: arrays.get('fileSize') as Float64Array,
    stamp: arrays.get('fileStamp') as Float64Array,
    alive: arrays.get('fileAlive') as Uint8Array,
  };
  // This thread's share of the files' stat pass, while the helper reads the large arrays or stats too.
  const share = helper ? statShare(root, list, helper.claim, opts.native !== false, helper.chunk) : undefined;
  if (share) phase('stat files (with the worker)');

  let stale: Staleness | undefined;
  const reply = helper ? await helper.stat : undefined;
  const helped = reply && !reply.error && reply.generation === header.generation;
  if (threads) {
    stale = await threads.staleness(root, list, opts.exclude ?? []);
    phase(`stat files, ${reader.mapped ? 'map' : 'read'} large arrays (addon threads, waited)`);
  } else if (helped) {
    if (!reply.dirs) return undefined;
    if (reply.restError) throw new Error(reply.restError);
    stale = mergeStaleness(list.paths, reply.dirs, [reply.share!, share!], list.alive);
    reader.adoptRest(reply.rest!, reply.restStarts!);
    phase('large arrays, stat files (worker, waited)');
  } else {
    reader.readRest();
    phase('read large arrays');
  }
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
  phase(helped ? 'names' : 'check postings and names');
  if (!helped && !threads) {
    // No helper, or its list was of another write: the whole pass here.
    stale = staleFiles(root, list, opts.native !== false, opts.exclude);
    phase('stat tree');
  }
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

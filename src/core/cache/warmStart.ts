/**
 * A warm start's check of the tree against the cache, and its read of the cache's large arrays
 * (postings, names), while the main thread decodes the files and exports. One interface, three ways:
 *   - AddonWarmStart: the addon's threads stat the files, directories and Makefiles, and check the
 *     large arrays (mapped from the file, or read where the runtime refuses the mapping);
 *   - WarmStartWorker: without the addon, a worker thread stats the directories and Makefiles and
 *     reads the large arrays, then it and the main thread stat the files, a chunk at a time;
 *   - InProcessCheck: a small cache, or no worker: all of it on the main thread.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { IndexOptions } from '../index/types';
import type { NativeAddon } from '../scan/nativeScanner';
import { DEFAULT_MAX_FILE_BYTES } from '../scan/scanFile';
import type { StatReply, WorkerRequest, WorkerSetup } from '../scan/scanProtocol';
import type { CacheReader } from './cache';
import { type FileShare, mergeStaleness, shareOf, STAT_CHUNK, type StatList, type Staleness, staleDirs, staleFiles, statShare } from './freshness';

/** The cache's list of directories, Makefiles and files, as the check compares it with the disk. */
export type FileList = Omit<StatList, 'generation'>;

/** What the ways read of openIndex()'s options. */
export interface CheckOptions extends Pick<IndexOptions, 'exclude' | 'workers' | 'workerScript' | 'maxFileBytes' | 'native'> {
  statWorkerMinBytes?: number;
  statChunk?: number;
  mapCache?: boolean;
}

export interface WarmStartCheck {
  /** This thread's share of the work while the others go on, once the small arrays are decoded; false: none. */
  meanwhile(list: FileList): boolean;
  readonly meanwhileIs: string;
  /**
   * Waits for the large arrays in `reader` (read, or adopted from another thread that read and
   * checked them); false when the tree itself is gone. `generation`: the cache write whose list this is.
   */
  largeArrays(reader: CacheReader, list: FileList, generation: string): Promise<boolean>;
  largeArraysIs(reader: CacheReader): string;
  /** The phase that takes the names: their checks too, unless another thread made them. */
  readonly namesIs: string;
  /** What changed on disk, once the large arrays are in; undefined when the tree itself is gone. */
  staleness(list: FileList): Staleness | undefined;
  /** The phase of staleness(), where it does the stat pass itself. */
  readonly stalenessIs?: string;
}

/** A cache this large belongs to a tree whose stat pass and checks are worth other threads. */
export const STAT_WORKER_MIN_BYTES = 16 << 20;

/**
 * A worker thread for a warm start without the addon: it compares the cache's directories with the disk (reading the
 * cache's lists itself) and reads the large arrays while the main thread decodes the rest; then both
 * stat the files.
 */
export class WarmStartWorker implements WarmStartCheck {
  readonly stat: Promise<StatReply>;
  readonly meanwhileIs = 'stat files (with the worker)';
  private share?: FileShare;
  private stale?: Staleness;
  /** The worker failed, or read another write's list: all of it on this thread. */
  private fallback?: InProcessCheck;
  /** The next file of the list to stat, for whichever thread claims it first (freshness.ts's statShare). */
  readonly claim = new Int32Array(new SharedArrayBuffer(4));

  private constructor(
    private readonly worker: Worker,
    file: string,
    exclude: readonly string[],
    readonly chunk: number,
    private readonly root: string,
    private readonly opts: CheckOptions,
  ) {
    let settle!: (r: StatReply) => void;
    this.stat = new Promise((r) => (settle = r));
    worker.on('message', (r: StatReply) => settle(r));
    worker.once('error', (e) => settle({ type: 'stat', error: e.message }));
    worker.postMessage({ type: 'stat', cacheFile: file, exclude: [...exclude], claim: this.claim.buffer as SharedArrayBuffer, chunk } satisfies WorkerRequest);
  }

  static start(root: string, file: string, opts: CheckOptions): WarmStartWorker | undefined {
    if (opts.workers === 0) return undefined;
    const script = resolve(opts.workerScript ?? join(__dirname, 'scanWorker.js'));
    try {
      if (!existsSync(script) || statSync(file).size < (opts.statWorkerMinBytes ?? STAT_WORKER_MIN_BYTES)) return undefined;
    } catch {
      return undefined;
    }
    const setup: WorkerSetup = { root, maxBytes: opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES, native: opts.native !== false };
    return new WarmStartWorker(new Worker(script, { workerData: setup }), file, opts.exclude ?? [], opts.statChunk ?? STAT_CHUNK, root, opts);
  }

  meanwhile(list: FileList): boolean {
    this.share = statShare(this.root, list, this.claim, this.opts.native !== false, this.chunk);
    return true;
  }

  async largeArrays(reader: CacheReader, list: FileList, generation: string): Promise<boolean> {
    const reply = await this.stat;
    // An error, or a list of another write: all of it here.
    if (reply.error || reply.generation !== generation) {
      this.fallback = new InProcessCheck(this.root, this.opts);
      return this.fallback.largeArrays(reader);
    }
    if (!reply.dirs) return false;
    if (reply.restError) throw new Error(reply.restError);
    reader.adoptRest(reply.rest!, reply.restStarts!);
    this.stale = mergeStaleness(list.paths, reply.dirs, [reply.share!, this.share!], list.alive);
    return true;
  }

  largeArraysIs(): string {
    return this.fallback ? this.fallback.largeArraysIs() : 'large arrays, stat files (worker, waited)';
  }

  get namesIs(): string {
    return this.fallback ? this.fallback.namesIs : 'names';
  }

  staleness(list: FileList): Staleness | undefined {
    return this.fallback ? this.fallback.staleness(list) : this.stale;
  }

  get stalenessIs(): string | undefined {
    return this.fallback?.stalenessIs;
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
export class AddonWarmStart implements WarmStartCheck {
  readonly meanwhileIs = '';
  private stale?: Staleness;

  private constructor(
    private readonly rest: Promise<void>,
    private readonly files: Promise<Float64Array>,
    private readonly dirs: Promise<Float64Array>,
    private readonly root: string,
    private readonly exclude: readonly string[],
  ) {
    // Each is awaited by staleness(); until then, or if decoding throws first, a failure is not an unhandled rejection.
    for (const p of [rest, files, dirs]) p.catch(() => {});
  }

  static start(root: string, reader: CacheReader, addon: NativeAddon, opts: CheckOptions): AddonWarmStart | undefined {
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
      root,
      opts.exclude ?? [],
    );
  }

  /** Nothing: the threads stat every file. */
  meanwhile(): boolean {
    return false;
  }

  /** Once the threads are done: the large arrays checked, and what changed on disk. */
  async largeArrays(_reader: CacheReader, list: FileList): Promise<boolean> {
    const [, files, others] = await Promise.all([this.rest, this.files, this.dirs]);
    const n = list.dirs.length * 2;
    const dirs = staleDirs(this.root, list, true, this.exclude, { dirs: others.subarray(0, n), makefiles: others.subarray(n) });
    this.stale = dirs && mergeStaleness(list.paths, dirs, [shareOf(list, files)], list.alive);
    return true;
  }

  largeArraysIs(reader: CacheReader): string {
    return `stat files, ${reader.mapped ? 'map' : 'read'} large arrays (addon threads, waited)`;
  }

  readonly namesIs = 'check postings and names';

  staleness(): Staleness | undefined {
    return this.stale;
  }
}

/** A small cache, or no worker to share with: the large arrays read and the tree stat'ed here. */
export class InProcessCheck implements WarmStartCheck {
  readonly meanwhileIs = '';
  readonly namesIs = 'check postings and names';
  readonly stalenessIs = 'stat tree';

  constructor(
    private readonly root: string,
    private readonly opts: CheckOptions,
  ) {}

  meanwhile(): boolean {
    return false;
  }

  async largeArrays(reader: CacheReader): Promise<boolean> {
    reader.readRest();
    return true;
  }

  largeArraysIs(): string {
    return 'read large arrays';
  }

  staleness(list: FileList): Staleness | undefined {
    return staleFiles(this.root, list, this.opts.native !== false, this.opts.exclude);
  }
}

/**
 * Scans many files, on more threads where it pays, and maps every file's identifier ids onto one
 * global name table: the native scanner's own threads, else its wasm build in worker threads. Small jobs run
 * in-process: starting threads costs more than scanning a few files.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Cancellation } from '../cancel';
import { Interner } from './interner';
import { type NativeAddon, nativeAddon, NativeScanner, type ParallelScan, scanParallel } from './nativeScanner';
import type { ScannedFile } from './scanFile';
import { WasmScanner } from './wasmScanner';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './scanProtocol';
import { IdMap } from './idMap';
import { toBatch } from './wire';

/** The global name table: identifier ids shared by every file of one index. */
export class NameTable {
  readonly interner: Interner;

  constructor(interner = new Interner(20)) {
    this.interner = interner;
  }

  get size(): number {
    return this.interner.size;
  }

  name(id: number): string {
    return this.interner.name(id);
  }

  idOf(name: string): number {
    return this.interner.intern(name);
  }

  /** The id of a name, or undefined if no file uses or defines it. */
  get(name: string): number | undefined {
    const id = this.interner.find(name);
    return id < 0 ? undefined : id;
  }
}

export interface PoolOptions {
  root: string;
  maxBytes: number;
  /**
   * Threads besides the main thread; 0 scans in-process. Default: cores - 1, none below 2,000 files.
   * The native scanner runs one more than this on threads of its own while the main thread maps
   * their batches; the wasm build runs in this many worker threads, and the main thread scans too.
   */
  workers?: number;
  workerScript?: string;
  wrapperNames?: ReadonlySet<string>;
  onProgress?: (done: number, total: number) => void;
  token?: Cancellation;
  /** Files per chunk handed out (default 128). */
  chunkFiles?: number;
  /** See WorkerSetup.nameLimit. */
  workerNameLimit?: number;
  /** false: scan with the wasm build even where the addon was built. */
  native?: boolean;
}

const CHUNK = 128;
const IN_FLIGHT = 4;

/** Scans `paths`; each result's uses carry global name ids from `table`. */
export async function scanFiles(paths: readonly string[], table: NameTable, opts: PoolOptions): Promise<ScannedFile[]> {
  const script = resolve(opts.workerScript ?? join(__dirname, 'scanWorker.js'));
  const wanted = opts.workers ?? (paths.length < 2000 ? 0 : Math.max(1, Math.min(cpus().length - 1, 7)));
  if (wanted === 0) return scanInProcess(paths, table, opts);
  const addon = opts.native === false ? undefined : nativeAddon();
  if (addon) return scanOnNativeThreads(paths, table, opts, addon, wanted + 1);
  if (!existsSync(script)) return scanInProcess(paths, table, opts);
  return scanWithWorkers(paths, table, opts, script, wanted);
}

/**
 * This thread's scanner for a pool: the addon where built, else the wasm build; its names mapped to
 * the table by an IdMap.
 */
function chunkScanner(table: NameTable, opts: PoolOptions): { scan: (chunk: string[]) => ScannedFile[]; close: () => void } {
  const addon = opts.native === false ? undefined : nativeAddon();
  const scanner = addon ? new NativeScanner(addon, opts.workerNameLimit) : new WasmScanner(opts.workerNameLimit);
  const map = new IdMap(table.interner);
  const scan = (chunk: string[]): ScannedFile[] => {
    const batch = scanner.scan(opts.root, chunk, opts.maxBytes, opts.wrapperNames);
    map.add(batch.names, batch.nameLens, batch.fresh);
    for (const f of batch.files) if (f.scan) map.translate(f.scan);
    return batch.files;
  };
  return { scan, close: () => scanner.release() };
}

/** In-process scans, a chunk at a time: progress and cancellation between chunks. */
function scanInProcess(paths: readonly string[], table: NameTable, opts: PoolOptions): ScannedFile[] {
  const scanner = chunkScanner(table, opts);
  const chunk = opts.chunkFiles ?? CHUNK;
  const out: ScannedFile[] = [];
  try {
    for (let k = 0; k < paths.length; k += chunk) {
      if (opts.token?.isCancellationRequested) break;
      for (const f of scanner.scan(paths.slice(k, k + chunk))) out.push(f);
      opts.onProgress?.(out.length, paths.length);
    }
  } finally {
    scanner.close();
  }
  return out;
}

/**
 * Native scanners on the addon's own threads, a name table each, take chunks of one list in turn;
 * this thread maps their batches to the table as they come.
 */
async function scanOnNativeThreads(paths: readonly string[], table: NameTable, opts: PoolOptions, addon: NativeAddon, threads: number): Promise<ScannedFile[]> {
  const maps = Array.from({ length: threads }, () => new IdMap(table.interner));
  const results: ScannedFile[] = new Array<ScannedFile>(paths.length);
  let done = 0;
  const scan: ParallelScan = { root: opts.root, paths: paths as string[], maxBytes: opts.maxBytes, threads, chunkFiles: opts.chunkFiles ?? CHUNK };
  if (opts.wrapperNames) scan.wrapperNames = opts.wrapperNames;
  if (opts.workerNameLimit !== undefined) scan.nameLimit = opts.workerNameLimit;
  await scanParallel(addon, scan, (scanner, first, batch) => {
    const map = maps[scanner]!;
    map.add(batch.names, batch.nameLens, batch.fresh);
    for (let k = 0; k < batch.files.length; k++) {
      const f = batch.files[k]!;
      if (f.scan) map.translate(f.scan);
      results[first + k] = f;
    }
    done += batch.files.length;
    opts.onProgress?.(done, paths.length);
    return !opts.token?.isCancellationRequested;
  });
  // Cancelled: the files scanned, in order.
  return done === paths.length ? results : results.filter((f) => f !== undefined);
}

/**
 * The wasm build's scans: workers and the main thread take chunks from one queue. The main thread
 * scans between handling the workers' replies; on two cores that beat two workers plus a main thread
 * that only merges.
 */
function scanWithWorkers(paths: readonly string[], table: NameTable, opts: PoolOptions, script: string, count: number): Promise<ScannedFile[]> {
  return new Promise((resolve, reject) => {
    const results: ScannedFile[][] = [];
    let next = 0;
    let done = 0;
    let live = count + 1;
    let failed = false;
    const setup: WorkerSetup = { root: opts.root, maxBytes: opts.maxBytes, native: opts.native !== false };
    if (opts.workerNameLimit !== undefined) setup.nameLimit = opts.workerNameLimit;
    const chunkFiles = opts.chunkFiles ?? CHUNK;
    const workers: Worker[] = [];
    const wrapperNames = opts.wrapperNames ? [...opts.wrapperNames] : undefined;
    const take = (): { slot: number; chunk: string[] } | undefined => {
      if (failed || opts.token?.isCancellationRequested || next >= paths.length) return undefined;
      const chunk = paths.slice(next, next + chunkFiles);
      next += chunk.length;
      results.push([]);
      return { slot: results.length - 1, chunk };
    };
    const finished = (): void => {
      if (--live === 0 && !failed) resolve(results.flat());
    };

    for (let k = 0; k < count; k++) {
      const w = new Worker(script, { workerData: setup });
      workers.push(w);
      const map = new IdMap(table.interner);
      // Chunks in flight: the worker goes on while this thread, busy with its own chunk, has not yet
      // read its last replies (with one, the worker waited half the time).
      const pending: { slot: number; chunk: string[] }[] = [];
      let closed = false;
      const feed = (): void => {
        const job = closed ? undefined : take();
        if (!job) {
          closed = true;
          if (pending.length === 0) {
            void w.terminate();
            finished();
          }
          return;
        }
        pending.push(job);
        const req: WorkerRequest = { type: 'scan', paths: job.chunk };
        if (wrapperNames) req.wrapperNames = wrapperNames;
        w.postMessage(req);
      };
      w.on('message', (reply: WorkerReply) => {
        const job = pending.shift()!;
        const batch = toBatch(job.chunk, reply.raw, opts.maxBytes);
        map.add(batch.names, batch.nameLens, batch.fresh);
        for (const f of batch.files) if (f.scan) map.translate(f.scan);
        results[job.slot] = batch.files;
        done += batch.files.length;
        opts.onProgress?.(done, paths.length);
        feed();
      });
      w.on('error', (err) => {
        if (failed) return;
        failed = true;
        for (const other of workers) void other.terminate();
        reject(new Error(`scan worker failed: ${err.message}`));
      });
      for (let k = 0; k < IN_FLIGHT; k++) feed();
    }

    const scanner = chunkScanner(table, opts);
    const mainTurn = (): void => {
      const job = take();
      if (!job) {
        scanner.close();
        return finished();
      }
      results[job.slot] = scanner.scan(job.chunk);
      done += job.chunk.length;
      opts.onProgress?.(done, paths.length);
      setImmediate(mainTurn);
    };
    setImmediate(mainTurn);
  });
}

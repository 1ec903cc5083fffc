/**
 * Scans many files, on worker threads where it pays, and maps every file's identifier ids onto one
 * global name table. Small jobs run in-process: starting a worker costs more than scanning a few files.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Cancellation } from './cancel';
import { type ScannedFile, newScanner, scanPath } from './scanFile';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './scanProtocol';

export class NameTable {
  readonly names: string[] = [];
  readonly ids = new Map<string, number>();

  idOf(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }
}

export interface PoolOptions {
  root: string;
  maxBytes: number;
  /** Number of workers; 0 scans in-process. Default: one per core, in-process below 2,000 files. */
  workers?: number;
  workerScript?: string;
  wrapperNames?: ReadonlySet<string>;
  onProgress?: (done: number, total: number) => void;
  token?: Cancellation;
}

const CHUNK = 128;

/** Scans `paths`; each result's uses carry global name ids from `table`. */
export async function scanFiles(paths: readonly string[], table: NameTable, opts: PoolOptions): Promise<ScannedFile[]> {
  const script = opts.workerScript ?? join(__dirname, 'scanWorker.js');
  const wanted = opts.workers ?? (paths.length < 2000 ? 0 : Math.max(1, Math.min(cpus().length, 8)));
  if (wanted === 0 || !existsSync(script)) return scanInProcess(paths, table, opts);
  return scanWithWorkers(paths, table, opts, script, wanted);
}

function scanInProcess(paths: readonly string[], table: NameTable, opts: PoolOptions): ScannedFile[] {
  const scanner = newScanner();
  const local = scanner.interner.strings;
  const out: ScannedFile[] = [];
  const map = new IdMap(table);
  for (let k = 0; k < paths.length; k++) {
    if (opts.token?.isCancellationRequested) break;
    const f = scanPath(scanner, opts.root, paths[k]!, opts.maxBytes, opts.wrapperNames);
    map.catchUp(local);
    if (f.scan) map.translate(f.scan.uses);
    out.push(f);
    if (opts.onProgress && (k & 255) === 255) opts.onProgress(k + 1, paths.length);
  }
  opts.onProgress?.(out.length, paths.length);
  return out;
}

/** Maps one scanner's local identifier ids to the global name table's ids. */
export class IdMap {
  private map = new Int32Array(1024);
  private mapped = 0;
  constructor(private readonly table: NameTable) {}

  /** Maps every local name not mapped yet; `local[k]` is the local id k's name. */
  catchUp(local: readonly string[]): void {
    if (local.length > this.map.length) {
      const next = new Int32Array(Math.max(local.length, this.map.length * 2));
      next.set(this.map);
      this.map = next;
    }
    for (; this.mapped < local.length; this.mapped++) this.map[this.mapped] = this.table.idOf(local[this.mapped]!);
  }

  translate(uses: Uint32Array): void {
    const map = this.map;
    for (let k = 0; k < uses.length; k += 3) uses[k] = map[uses[k]!]!;
  }
}

function scanWithWorkers(paths: readonly string[], table: NameTable, opts: PoolOptions, script: string, count: number): Promise<ScannedFile[]> {
  return new Promise((resolve, reject) => {
    const results: ScannedFile[][] = [];
    let next = 0;
    let done = 0;
    let live = count;
    let failed = false;
    const setup: WorkerSetup = { root: opts.root, maxBytes: opts.maxBytes };
    const workers: Worker[] = [];
    const wrapperNames = opts.wrapperNames ? [...opts.wrapperNames] : undefined;

    const finish = (w: Worker): void => {
      void w.terminate();
      if (--live === 0 && !failed) resolve(results.flat());
    };
    for (let k = 0; k < count; k++) {
      const w = new Worker(script, { workerData: setup });
      workers.push(w);
      const names: string[] = [];
      const map = new IdMap(table);
      const feed = (): void => {
        if (opts.token?.isCancellationRequested || next >= paths.length) return finish(w);
        const slot = results.length;
        results.push([]);
        const chunk = paths.slice(next, next + CHUNK);
        next += chunk.length;
        pending.set(w, slot);
        const req: WorkerRequest = { type: 'scan', paths: chunk };
        if (wrapperNames) req.wrapperNames = wrapperNames;
        w.postMessage(req);
      };
      const pending = new Map<Worker, number>();
      w.on('message', (reply: WorkerReply) => {
        for (let j = 0; j < reply.newNames.length; j++) names[reply.nameBase + j] = reply.newNames[j]!;
        map.catchUp(names);
        for (const f of reply.files) if (f.scan) map.translate(f.scan.uses);
        results[pending.get(w)!] = reply.files;
        done += reply.files.length;
        opts.onProgress?.(done, paths.length);
        feed();
      });
      w.on('error', (err) => {
        if (failed) return;
        failed = true;
        for (const other of workers) void other.terminate();
        reject(new Error(`scan worker failed: ${err.message}`));
      });
      feed();
    }
  });
}

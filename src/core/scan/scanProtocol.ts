/** Messages between the scan pool and its workers. */
import type { DirStaleness, FileShare } from '../cache/freshness';
import type { RawBatch } from './wire';

export interface WorkerSetup {
  root: string;
  maxBytes: number;
  /** Past this many names a worker starts a new name table (default 2^18; native: 2^20). */
  nameLimit?: number;
  /** Scan with the native scanner where it loads. */
  native?: boolean;
}

export type WorkerRequest =
  | {
      type: 'scan';
      paths: string[];
      wrapperNames?: string[];
    }
  /**
   * A warm start: compare a cache's directories and Makefiles with the disk, read and check its large
   * arrays, then stat its files with the main thread, which claims chunks from the same counter (an
   * Int32Array on a SharedArrayBuffer) once it has decoded the rest.
   */
  | { type: 'stat'; cacheFile: string; exclude: string[]; claim: SharedArrayBuffer; chunk: number };

export interface StatReply {
  type: 'stat';
  /** The cache write the list came from; the main thread checks it read the same one. */
  generation?: string;
  /** Directories and Makefiles; undefined (and no error): the tree is gone, rebuild. */
  dirs?: DirStaleness;
  /** The worker's share of the files' stat pass, on the list of `generation`. */
  share?: FileShare;
  error?: string;
  /** With `dirs`: the cache's large arrays of `generation`, read and checked by the worker (CacheFile.checkedRest), or restError. */
  rest?: ArrayBuffer;
  /** With `rest`: where each name starts in the names' bytes. */
  restStarts?: Uint32Array;
  /** What was wrong with the large arrays (a damaged cache: rebuild). */
  restError?: string;
}

/**
 * A batch as the scanner made it, decoded on the pool's thread (wire.ts's toBatch()): typed arrays
 * move without a copy, and one JSON string clones at a fraction of the cost of the objects it
 * decodes to.
 */
export interface WorkerReply {
  type: 'batch';
  raw: RawBatch;
}

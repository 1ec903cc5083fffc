/**
 * Reads and scans one file, turning bad input into a counted skip instead of an exception: the
 * editor's scans, and whole-tree scans in-process, with the scanner's WebAssembly build.
 */
import { join } from 'node:path';
import { Interner } from './interner';
import { readWhole, reusedBuffer, unreadableWhy } from '../util/regularFile';
import { changeStamp } from '../util/stamp';
import type { FileScan, ScannedFile } from './scanTypes';
import { WasmScanner } from './wasmScanner';
import { IdMap } from './idMap';
import { emptyScan, toFiles } from './wire';

export interface ScanOptions {
  /** Keep definitions even when the file has no export (the editor wants them). */
  keepDefs?: boolean;
  /** Extra macro names to treat as export calls: wrapper macros found elsewhere in the tree. */
  wrapperNames?: ReadonlySet<string>;
}

/** A path to scan text under as a C source, whatever file it came from (a consumer's helper functions). */
export const AS_C_SOURCE = 'as-c-source.c';

/** Scans buffers, with names numbered by `interner`: the scanner's own names are mapped to it. */
export class Scanner {
  private readonly wasm: WasmScanner;
  private readonly map: IdMap;

  /** nameLimit: past this many names the wasm build's own table starts afresh (tests make it small). */
  constructor(
    readonly interner: Interner,
    nameLimit?: number,
  ) {
    this.wasm = new WasmScanner(nameLimit);
    this.map = new IdMap(interner);
  }

  /** Frees the wasm build's names now rather than when this is collected. */
  release(): void {
    this.wasm.release();
  }

  /** Scans `buf` as the file `path`: its name says how (assembly, a header, proxies), as in a whole-tree scan. */
  scan(buf: Uint8Array, path: string, opts: ScanOptions = {}): FileScan {
    const raw = this.wasm.scanBytes(buf, path, opts.wrapperNames, opts.keepDefs);
    this.map.add(raw.names, raw.nameLens, raw.fresh);
    const scan = toFiles([''], raw, Infinity)[0]!.scan;
    // A NUL byte: the whole-tree scan skips such a file as binary (scanPath() says so); here, nothing.
    if (!scan) return emptyScan(new Uint32Array(0), countLines(buf, buf.length));
    this.map.translate(scan);
    return scan;
  }
}

/** Far above the largest kernel source: generated amdgpu register headers pass 10 MB. */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;

export type { ScannedFile, SkipReason, Skipped } from './scanTypes';

export function newScanner(interner = new Interner()): Scanner {
  return new Scanner(interner);
}

let scratch: Scanner | undefined;

/**
 * One scanner of this thread's for one-off questions (does this text use a name, which functions does
 * it define), with names of its own: making one sets up tables that cost more than the scan itself
 * when a bulk query asks for thousands of exports. Renewed past 65,536 names, the old one freed at once.
 */
export function scratchScanner(): Scanner {
  if (scratch && scratch.interner.size <= 1 << 16) return scratch;
  scratch?.release();
  return (scratch = newScanner(new Interner(12)));
}

export function scanBuffer(scanner: Scanner, path: string, buf: Uint8Array, wrapperNames?: ReadonlySet<string>, keepDefs = false): FileScan {
  return scanner.scan(buf, path, { wrapperNames, keepDefs });
}

/**
 * One read buffer per thread, reused: a fresh Buffer per file is 1.2 GB of off-heap allocation over a
 * kernel tree, and V8 answers external memory growth with full collections of a large heap.
 */
const readRoom = reusedBuffer(1 << 20);

/** The stamp of a file read from an editor's buffer: it never matches the disk, so a warm start reads the disk again. */
export const BUFFER_STAMP = -2;

/**
 * Reads a whole file into the shared buffer; the view is valid until the next call. The limit applies
 * to the bytes read, not only to the size stat gives: a file that grows while it is read stops there.
 */
export function readShared(abs: string, maxBytes = Infinity): { view: Buffer | undefined; size: number; stamp: number } {
  const read = readWhole(abs, maxBytes, readRoom);
  return { view: read.data, size: read.got, stamp: changeStamp(read.st) };
}

export function scanPath(scanner: Scanner, root: string, path: string, maxBytes = DEFAULT_MAX_FILE_BYTES, wrapperNames?: ReadonlySet<string>): ScannedFile {
  const abs = join(root, path);
  let size = 0;
  let stamp = 0;
  try {
    const read = readShared(abs, maxBytes);
    size = read.size;
    stamp = read.stamp;
    const view = read.view;
    if (!view) {
      return { path, size, stamp, skipped: { path, reason: 'too-large', detail: `${size} bytes, over the ${maxBytes}-byte limit` } };
    }
    const nul = view.indexOf(0);
    if (nul >= 0) {
      const line = countLines(view, nul);
      return { path, size, stamp, skipped: { path, reason: 'binary', detail: `NUL byte at line ${line}` } };
    }
    return { path, size, stamp, scan: scanBuffer(scanner, path, view, wrapperNames) };
  } catch (err) {
    // the addon's scan says the same for a link, a FIFO or a device in place of a file
    return { path, size, stamp, skipped: { path, reason: 'unreadable', detail: unreadableWhy(err) } };
  }
}

export function countLines(buf: Uint8Array, end: number): number {
  let line = 1;
  let j = buf.indexOf(10);
  while (j >= 0 && j < end) {
    line++;
    j = buf.indexOf(10, j + 1);
  }
  return line;
}

/**
 * The scanner's WebAssembly build (src/scanner/wasm/wasm.cc): the same rules as the addon, on every
 * platform. The editor's single-file scans use it always; whole-tree scans use it where the addon is
 * not built or does not load. It reads no file itself: JS reads each file into the scanner's buffer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportMacros } from '../exportMacros';
import { builtFilePaths } from './dist';
import { readWhole, unreadableWhy } from '../util/regularFile';
import { changeStamp } from '../util/stamp';
import { type NativeBatch, type RawBatch, toBatch } from './wire';

export const WASM_FILE = 'kexports-scanner.wasm';

/** Statuses of a batch's files (src/scanner/batch.h). */
const S_OK = 0,
  S_TOO_LARGE = 2,
  S_UNREADABLE = 3;

interface Calls {
  memory: WebAssembly.Memory;
  kx_alloc(bytes: number): number;
  kx_free(ptr: number): void;
  kx_create(bytes: number, lens: number, count: number, nameLimit: number): number;
  kx_release(handle: number): void;
  kx_begin(handle: number, bytes: number, lens: number, count: number): number;
  kx_buffer(handle: number, bytes: number): number;
  kx_file(handle: number, batch: number, path: number, pathLen: number, len: number, keepDefs: number, status: number, size: number, stamp: number, error: number, errorLen: number): void;
  kx_end(handle: number, batch: number): void;
  kx_drop(batch: number): void;
}

/** A batch's arrays, each with kx_NAME() and kx_NAME_count() (KX_BATCH_ARRAYS in src/scanner/batch.h), its JSON part and whether it started a new name table. */
type BatchArray = Exclude<keyof RawBatch, 'fresh' | 'json'>;
type Exports = Calls & Record<`kx_${BatchArray | 'json'}` | `kx_${BatchArray | 'json'}_count` | 'kx_fresh', (batch: number) => number>;

let compiled: WebAssembly.Module | undefined;
/** This thread's instance: every WasmScanner of the thread shares its memory. */
let instance: Exports | undefined;
/** Bumped when a trap throws the instance away: scanners of the old one start afresh. */
let generation = 0;

function wasmModule(): WebAssembly.Module {
  if (compiled) return compiled;
  const errors: string[] = [];
  for (const file of builtFilePaths(WASM_FILE, 'KEXPORTS_WASM')) {
    try {
      compiled = new WebAssembly.Module(readFileSync(file));
      return compiled;
    } catch (e) {
      errors.push(`${file}: ${(e as Error).message}`);
    }
  }
  throw new Error(`the scanner's WebAssembly build did not load (npm run build puts ${WASM_FILE} in dist/): ${errors.join('; ')}`);
}

/** Why the wasm build cannot load here, or undefined when it can: for --version and the server's log. */
export function wasmLoadError(): string | undefined {
  try {
    wasmModule();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function exportsNow(): Exports {
  if (instance) return instance;
  const raw = new WebAssembly.Instance(wasmModule(), {}).exports;
  // wasm32 returns its pointers and counts as signed 32-bit numbers: past 2 GB of memory they would read as negative.
  const calls: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) calls[name] = typeof value === 'function' ? (...a: number[]): number => (value as (...a: number[]) => number)(...a) >>> 0 : value;
  instance = calls as unknown as Exports;
  return instance;
}

/**
 * A scanner's names live in wasm memory, which the garbage collector does not see: each is freed when
 * its WasmScanner is collected (a scanner made per file, per index or per query would otherwise keep
 * megabytes each), unless the instance was thrown away since.
 */
const handles = new FinalizationRegistry<{ handle: number; made: number }>(({ handle, made }) => {
  if (instance && made === generation) instance.kx_release(handle);
});

/** Packed latin1 names and their 16-bit lengths, copied into wasm memory; free both with kx_free. */
function packNames(w: Exports, names: readonly string[]): { bytes: number; lens: number } {
  const total = names.reduce((n, s) => n + s.length, 0);
  const bytes = w.kx_alloc(total);
  const lens = w.kx_alloc(names.length * 2 + 2);
  const mem = new Uint8Array(w.memory.buffer);
  const lenView = new Uint16Array(w.memory.buffer, lens, names.length);
  let at = bytes;
  names.forEach((s, k) => {
    mem.set(Buffer.from(s, 'latin1'), at);
    at += s.length;
    lenView[k] = s.length;
  });
  return { bytes, lens };
}

/** Bytes copied into wasm memory; free with kx_free. */
function copyIn(w: Exports, bytes: Uint8Array): { at: number; len: number } {
  const at = w.kx_alloc(bytes.length);
  new Uint8Array(w.memory.buffer, at, bytes.length).set(bytes);
  return { at, len: bytes.length };
}

/** A copy of a batch part out of wasm memory, which the next call may move. */
function part<K extends BatchArray>(w: Exports, batch: number, name: K, Kind: { new (b: ArrayBuffer, at: number, n: number): RawBatch[K] }): RawBatch[K] {
  return new Kind(w.memory.buffer, w[`kx_${name}`](batch), w[`kx_${name}_count`](batch)).slice() as RawBatch[K];
}

/** One file of a batch, as its reader left it: `len` bytes in the scanner's buffer, or why none. */
interface FileRead {
  status: number;
  size: number;
  stamp: number;
  len: number;
  /** An errno name or NOT_REGULAR, with S_UNREADABLE. */
  error?: string;
}

/** A scanner with its own names, kept until `nameLimit` is passed; then it starts afresh (batch.fresh). */
export class WasmScanner {
  private handle = 0;
  private made = -1;
  private readonly exportNames = [...exportMacros.keys()];

  constructor(private readonly nameLimit = 1 << 20) {}

  /** Reads and scans `paths` under root, as the addon's scan(). */
  scan(root: string, paths: string[], maxBytes: number, wrapperNames?: ReadonlySet<string>, keepDefs = false): NativeBatch {
    return toBatch(paths, this.scanRaw(root, paths, maxBytes, wrapperNames, keepDefs), maxBytes);
  }

  /** scan() before decoding: for a worker to hand over. */
  scanRaw(root: string, paths: string[], maxBytes: number, wrapperNames?: ReadonlySet<string>, keepDefs = false): RawBatch {
    return this.batch(
      wrapperNames,
      (add) => {
        for (const path of paths) add(path, (w, handle) => readInto(w, handle, join(root, path), maxBytes));
      },
      keepDefs,
    );
  }

  /** Scans bytes already in memory as the file `path` (whose name says how: src/scanner's kindOf()): one file's batch. */
  scanBytes(buf: Uint8Array, path: string, wrapperNames?: ReadonlySet<string>, keepDefs = false): RawBatch {
    return this.batch(
      wrapperNames,
      (add) =>
        add(path, (w, handle) => {
          const at = w.kx_buffer(handle, buf.length); // first: growing the memory detaches its old buffer
          new Uint8Array(w.memory.buffer, at, buf.length).set(buf);
          return { status: S_OK, size: buf.length, stamp: 0, len: buf.length };
        }),
      keepDefs,
    );
  }

  /** Frees the names now; a later scan starts afresh. */
  release(): void {
    if (this.handle && this.made === generation) instance?.kx_release(this.handle);
    handles.unregister(this);
    this.handle = 0;
  }

  private batch(wrapperNames: ReadonlySet<string> | undefined, files: (add: (path: string, read: (w: Exports, handle: number) => FileRead) => void) => void, keepDefs: boolean): RawBatch {
    const w = exportsNow();
    let fresh = false;
    if (!this.handle || this.made !== generation) {
      const names = packNames(w, this.exportNames);
      this.handle = w.kx_create(names.bytes, names.lens, this.exportNames.length, this.nameLimit);
      w.kx_free(names.bytes);
      w.kx_free(names.lens);
      this.made = generation;
      handles.register(this, { handle: this.handle, made: generation }, this);
      fresh = true;
    }
    const handle = this.handle;
    let batch = 0;
    try {
      const wrappers = wrapperNames ? [...wrapperNames] : [];
      const packed = packNames(w, wrappers);
      batch = w.kx_begin(handle, packed.bytes, packed.lens, wrappers.length);
      w.kx_free(packed.bytes);
      w.kx_free(packed.lens);
      files((path, read) => {
        const f = read(w, handle);
        const name = copyIn(w, Buffer.from(path, 'utf8'));
        const error = f.error !== undefined ? copyIn(w, Buffer.from(f.error, 'latin1')) : { at: 0, len: 0 };
        w.kx_file(handle, batch, name.at, name.len, f.len, keepDefs ? 1 : 0, f.status, f.size, f.stamp, error.at, error.len);
        w.kx_free(name.at);
        if (error.at) w.kx_free(error.at);
      });
      w.kx_end(handle, batch);
      return {
        fresh: fresh || w.kx_fresh(batch) === 1,
        names: part(w, batch, 'names', Uint8Array),
        nameLens: part(w, batch, 'nameLens', Uint16Array),
        uses: part(w, batch, 'uses', Uint32Array),
        proxies: part(w, batch, 'proxies', Uint32Array),
        stat: part(w, batch, 'stat', Float64Array),
        info: part(w, batch, 'info', Int32Array),
        json: Buffer.from(w.memory.buffer, w.kx_json(batch), w.kx_json_count(batch)).toString('latin1'),
      };
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        // A trap (out of memory) leaves the instance's state undefined: every scanner starts afresh.
        instance = undefined;
        generation++;
        this.handle = 0;
        throw new Error(`the scanner's WebAssembly build stopped (${e.message}); it starts afresh at the next scan`);
      }
      throw e;
    } finally {
      if (batch && instance === w) w.kx_drop(batch);
    }
  }
}

/**
 * Reads a whole file into the scanner's buffer, as the addon's readFile(): size and change stamp, the
 * limit held for the bytes read, and an errno name (or NOT_REGULAR) for a file it cannot read.
 */
function readInto(w: Exports, handle: number, abs: string, maxBytes: number): FileRead {
  try {
    // kx_buffer() keeps what the buffer holds when it grows; the memory's views are made afresh each time
    const read = readWhole(abs, maxBytes, (bytes) => {
      const at = w.kx_buffer(handle, bytes); // first: growing the memory detaches its old buffer
      return new Uint8Array(w.memory.buffer, at, bytes);
    });
    const stamp = changeStamp(read.st);
    if (!read.data) return { status: S_TOO_LARGE, size: read.got, stamp, len: 0 };
    return { status: S_OK, size: read.got, stamp, len: read.got };
  } catch (e) {
    return { status: S_UNREADABLE, size: 0, stamp: 0, error: unreadableWhy(e), len: 0 };
  }
}

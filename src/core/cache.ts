/**
 * The persisted index: one binary file per (tree, options), written to a temporary name and renamed,
 * so a reader never sees half a file. Anything that does not validate is reported and rebuilt.
 *
 * Layout: magic, u32 checksum of everything after it, u32 length + JSON header, then the typed arrays
 * in header order, each 8-byte aligned, so that loading makes views on the file's bytes, not copies.
 */
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { IndexedFile, IndexStats, KernelIndex } from './index';
import type { InternerState } from './interner';
import { DEF_CTX } from './lexer';
import type { KbuildNamespaces } from './kbuild';

/** 16 bytes, so that the checksummed region starts 4-byte aligned, after the 4-byte checksum. */
const MAGIC = 'KEXPORTS-IDX-08\n';

type ArrayKind = 'u32' | 'i32' | 'u16' | 'u8' | 'f64';

/** What a file keeps beyond its scalars: only files that export, import, wrap or were skipped have one. */
type FileDetail = Pick<IndexedFile, 'exports' | 'defs' | 'imports' | 'wrappers' | 'localMacros' | 'skipped'>;

export interface CacheHeader {
  root: string;
  key: string;
  /** Per-file scalars live in arrays (filePaths, fileSize, ...); details, by file index, in the JSON of the `details` array. */
  fileCount: number;
  /** Random per write: a reader of part of the file can tell that it read the same file. */
  generation: string;
  dirs: [string, number][];
  kbuild: { dir: [string, string][]; subdir: [string, string][]; object: [string, string][] };
  stats: IndexStats;
  arrays: { name: string; kind: ArrayKind; length: number }[];
  names: number;
  proxyCount: number;
}

export interface LoadedCache {
  header: CacheHeader;
  files: IndexedFile[];
  arrays: Map<string, Typed>;
  interner: InternerState;
}

type Typed = Uint32Array | Int32Array | Uint16Array | Uint8Array | Float64Array;

/** Splits file records into arrays of scalars and a sparse map of details. */
function packFiles(files: readonly IndexedFile[]): { arrays: [string, Typed][] } {
  const n = files.length;
  const size = new Float64Array(n);
  const mtime = new Float64Array(n);
  const lines = new Uint32Array(n);
  const alive = new Uint8Array(n);
  const pStart = new Uint32Array(n);
  const pCount = new Uint32Array(n);
  const details: Record<number, Partial<FileDetail>> = {};
  files.forEach((f, k) => {
    size[k] = f.size;
    mtime[k] = f.mtimeMs;
    lines[k] = f.lines;
    alive[k] = f.alive ? 1 : 0;
    pStart[k] = f.proxyStart;
    pCount[k] = f.proxyCount;
    const d: Partial<FileDetail> = {};
    if (f.exports.length) d.exports = f.exports;
    if (f.defs.length) d.defs = f.defs;
    if (f.imports.length) d.imports = f.imports;
    if (f.wrappers.length) d.wrappers = f.wrappers;
    if (f.localMacros?.length) d.localMacros = f.localMacros;
    if (f.skipped) d.skipped = f.skipped;
    if (Object.keys(d).length) details[k] = d;
  });
  const paths = Buffer.from(files.map((f) => f.path).join('\n'), 'utf8');
  const detailBytes = Buffer.from(JSON.stringify(details), 'utf8');
  return {
    arrays: [
      ['filePaths', new Uint8Array(paths.buffer, paths.byteOffset, paths.byteLength)],
      ['fileSize', size],
      ['fileMtime', mtime],
      ['fileLines', lines],
      ['fileAlive', alive],
      ['fileProxyStart', pStart],
      ['fileProxyCount', pCount],
      ['details', new Uint8Array(detailBytes.buffer, detailBytes.byteOffset, detailBytes.byteLength)],
    ],
  };
}

function unpackFiles(h: CacheHeader, arrays: Map<string, Typed>): IndexedFile[] {
  const detailBytes = arrays.get('details') as Uint8Array | undefined;
  if (!detailBytes) throw new Error('missing details');
  const details = JSON.parse(Buffer.from(detailBytes.buffer, detailBytes.byteOffset, detailBytes.byteLength).toString('utf8')) as Record<number, Partial<FileDetail>>;
  const pathBytes = arrays.get('filePaths') as Uint8Array;
  const paths = h.fileCount ? Buffer.from(pathBytes.buffer, pathBytes.byteOffset, pathBytes.byteLength).toString('utf8').split('\n') : [];
  if (paths.length !== h.fileCount) throw new Error('file count mismatch');
  const size = arrays.get('fileSize')!;
  const mtime = arrays.get('fileMtime')!;
  const lines = arrays.get('fileLines')!;
  const alive = arrays.get('fileAlive')!;
  const pStart = arrays.get('fileProxyStart')!;
  const pCount = arrays.get('fileProxyCount')!;
  for (const a of [size, mtime, lines, alive, pStart, pCount]) if (a.length !== h.fileCount) throw new Error('file arrays');
  const out: IndexedFile[] = new Array(h.fileCount);
  for (let k = 0; k < h.fileCount; k++) {
    const d = details[k];
    const f: IndexedFile = {
      path: paths[k]!,
      size: size[k]!,
      mtimeMs: mtime[k]!,
      alive: alive[k] === 1,
      lines: lines[k]!,
      exports: d?.exports ?? [],
      defs: d?.defs ?? [],
      imports: d?.imports ?? [],
      wrappers: d?.wrappers ?? [],
      proxyStart: pStart[k]!,
      proxyCount: pCount[k]!,
    };
    if (d?.localMacros) f.localMacros = d.localMacros;
    if (d?.skipped) f.skipped = d.skipped;
    if (f.proxyStart + f.proxyCount > h.proxyCount) throw new Error('proxy range out of range');
    out[k] = f;
  }
  return out;
}

export function cacheKey(root: string, options: unknown): string {
  return createHash('sha1').update(MAGIC).update(root).update(JSON.stringify(options)).digest('hex').slice(0, 16);
}

export function cachePath(dir: string, key: string): string {
  return join(dir, `${key}.idx`);
}

function kindOf(a: Typed): ArrayKind {
  return a instanceof Uint32Array ? 'u32' : a instanceof Int32Array ? 'i32' : a instanceof Uint16Array ? 'u16' : a instanceof Float64Array ? 'f64' : 'u8';
}

export function saveIndex(index: KernelIndex, dirs: [string, number][], file: string, key: string): void {
  const st = index.table.interner.state();
  const packed = packFiles(index.files);
  const arrays: [string, Typed][] = [
    ...packed.arrays,
    ['offsets', index.offsets],
    ['postFile', index.postFile],
    ['postLine', index.postLine],
    ['postCtx', index.postCtx],
    ['proxyName', index.proxyName.subarray(0, index.proxyCount)],
    ['proxyLine', index.proxyLine.subarray(0, index.proxyCount)],
    ['proxyKind', index.proxyKind.subarray(0, index.proxyCount)],
    ['internTable', st.table],
    ['internHashes', st.hashes],
    ['internStarts', st.starts],
    ['internLens', st.lens],
    ['internArena', st.arena],
  ];
  const header: CacheHeader = {
    root: index.root,
    key,
    fileCount: index.files.length,
    generation: createHash('sha1').update(`${process.pid} ${Date.now()} ${Math.random()}`).digest('hex').slice(0, 16),
    dirs,
    kbuild: { dir: [...index.kbuild.dir], subdir: [...index.kbuild.subdir], object: [...index.kbuild.object] },
    stats: index.stats,
    arrays: arrays.map(([name, a]) => ({ name, kind: kindOf(a), length: a.length })),
    names: st.size,
    proxyCount: index.proxyCount,
  };
  const headerBuf = Buffer.from(JSON.stringify(header), 'utf8');
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array): void => {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
      pos += b.length;
    };
    put(Buffer.from(MAGIC, 'latin1'));
    put(Buffer.alloc(4)); // checksum, written last
    const len = Buffer.alloc(4);
    len.writeUInt32LE(headerBuf.length);
    put(len);
    put(headerBuf);
    const sum = new Checksum().update(len).update(headerBuf);
    for (const [, a] of arrays) {
      if (pos % 8) {
        const pad = Buffer.alloc(8 - (pos % 8));
        put(pad);
        sum.update(pad);
      }
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      put(bytes);
      sum.update(bytes);
    }
    const sumBuf = Buffer.alloc(4);
    sumBuf.writeUInt32LE(sum.digest());
    writeSync(fd, sumBuf, 0, 4, MAGIC.length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

const WIDTH: Record<ArrayKind, number> = { u8: 1, u16: 2, u32: 4, i32: 4, f64: 8 };

/** Where each array starts, in file offsets: 8-byte aligned, in header order, after the header. */
function layout(h: CacheHeader, afterHeader: number): { name: string; kind: ArrayKind; length: number; at: number; bytes: number }[] {
  let pos = afterHeader;
  return h.arrays.map((a) => {
    if (pos % 8) pos += 8 - (pos % 8);
    const at = pos;
    const bytes = a.length * WIDTH[a.kind];
    pos += bytes;
    return { ...a, at, bytes };
  });
}

/** What a warm start compares with the disk, read without the rest of the cache (for a worker). */
export interface StatList {
  generation: string;
  dirs: [string, number][];
  paths: string[];
  size: Float64Array;
  mtime: Float64Array;
  alive: Uint8Array;
}

/** Reads the header and the per-file arrays only: a few MB of a cache of hundreds. Unchecked. */
export function readStatList(file: string): StatList {
  const fd = openSync(file, 'r');
  try {
    const read = (at: number, bytes: number): Buffer => {
      const b = Buffer.alloc(bytes);
      let got = 0;
      while (got < bytes) {
        const n = readSync(fd, b, got, bytes - got, at + got);
        if (n === 0) throw new Error('truncated');
        got += n;
      }
      return b;
    };
    const head = read(0, MAGIC.length + 8);
    if (head.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error('not a kexports index of this version');
    const hlen = head.readUInt32LE(MAGIC.length + 4);
    const hstart = MAGIC.length + 8;
    const h = JSON.parse(read(hstart, hlen).toString('utf8')) as CacheHeader;
    const at = new Map(layout(h, hstart + hlen).map((a) => [a.name, a]));
    const arr = (name: string): Buffer => {
      const a = at.get(name);
      if (!a) throw new Error(`missing ${name}`);
      return read(a.at, a.bytes);
    };
    const f64 = (b: Buffer): Float64Array => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    const paths = h.fileCount ? arr('filePaths').toString('utf8').split('\n') : [];
    const alive = new Uint8Array(arr('fileAlive'));
    const out: StatList = { generation: h.generation, dirs: h.dirs, paths, size: f64(arr('fileSize')), mtime: f64(arr('fileMtime')), alive };
    if (paths.length !== h.fileCount || out.size.length !== h.fileCount || out.mtime.length !== h.fileCount || alive.length !== h.fileCount) throw new Error('file arrays');
    return out;
  } finally {
    closeSync(fd);
  }
}

/** The cache file's bytes in memory a worker thread can share (to check them while the main thread parses). */
export function readCacheBytes(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.from(new SharedArrayBuffer(size));
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) throw new Error('truncated');
      got += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** Reads and validates a cache file; throws an Error saying what is wrong. */
export function loadCache(file: string, key: string): LoadedCache {
  return parseCache(readCacheBytes(file), key, true);
}

/**
 * Makes the index's arrays views on the cache's bytes. With `check` false, the checksum and the
 * range checks of every posting and name are left to `checkCache` (run by a worker meanwhile); the
 * shapes are checked either way, so that nothing built from them can loop or throw uncaught.
 */
export function parseCache(buf: Buffer, key: string, check: boolean): LoadedCache {
  const { header, arrays, interner } = views(buf, check);
  if (header.key !== key) throw new Error('made for other options');
  const files = unpackFiles(header, arrays);
  validateShape(header, files.length, arrays, interner);
  if (check) validateRanges(header, files.length, arrays, interner);
  return { header, files, arrays, interner };
}

/** The checksum and the range checks parseCache(…, false) leaves out; throws an Error saying what is wrong. */
export function checkCache(buf: Buffer): void {
  const { header, arrays, interner } = views(buf, true);
  validateRanges(header, header.fileCount, arrays, interner);
}

function views(buf: Buffer, checksum: boolean): { header: CacheHeader; arrays: Map<string, Typed>; interner: InternerState } {
  if (buf.byteOffset % 8 !== 0) throw new Error('misaligned buffer');
  if (buf.length < MAGIC.length || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error('not a kexports index of this version');
  let pos = MAGIC.length;
  if (pos + 8 > buf.length) throw new Error('truncated');
  const stored = buf.readUInt32LE(pos);
  pos += 4;
  if (checksum && new Checksum().update(buf.subarray(pos)).digest() !== stored) throw new Error('checksum mismatch');
  const hlen = buf.readUInt32LE(pos);
  pos += 4;
  if (pos + hlen > buf.length) throw new Error('truncated header');
  const header = JSON.parse(buf.toString('utf8', pos, pos + hlen)) as CacheHeader;
  pos += hlen;
  const arrays = new Map<string, Typed>();
  for (const a of layout(header, pos)) {
    pos = a.at;
    const bytes = a.bytes;
    if (pos + bytes > buf.length) throw new Error(`truncated ${a.name}`);
    const at = buf.byteOffset + pos;
    const view =
      a.kind === 'u32'
        ? new Uint32Array(buf.buffer, at, a.length)
        : a.kind === 'i32'
          ? new Int32Array(buf.buffer, at, a.length)
          : a.kind === 'u16'
            ? new Uint16Array(buf.buffer, at, a.length)
            : a.kind === 'f64'
              ? new Float64Array(buf.buffer, at, a.length)
              : new Uint8Array(buf.buffer, at, a.length);
    arrays.set(a.name, view);
    pos += bytes;
  }
  if (pos !== buf.length) throw new Error('trailing bytes');
  const interner: InternerState = {
    table: arrays.get('internTable') as Int32Array,
    hashes: arrays.get('internHashes') as Uint32Array,
    starts: arrays.get('internStarts') as Uint32Array,
    lens: arrays.get('internLens') as Uint16Array,
    arena: arrays.get('internArena') as Uint8Array,
    size: header.names,
  };
  return { header, arrays, interner };
}

function validateShape(h: CacheHeader, files: number, arrays: Map<string, Typed>, st: InternerState): void {
  const need = ['offsets', 'postFile', 'postLine', 'postCtx', 'proxyName', 'proxyLine', 'proxyKind', 'internTable', 'internHashes', 'internStarts', 'internLens', 'internArena'];
  for (const n of need) if (!arrays.has(n)) throw new Error(`missing ${n}`);
  const offsets = arrays.get('offsets')!;
  const postFile = arrays.get('postFile')!;
  if (h.fileCount !== files) throw new Error('file count mismatch');
  if (offsets.length > h.names + 1 || offsets.length < 1) throw new Error('offsets length');
  if (offsets[offsets.length - 1] !== postFile.length) throw new Error('postings length');
  if (arrays.get('postLine')!.length !== postFile.length || arrays.get('postCtx')!.length !== postFile.length) throw new Error('postings arrays');
  const t = st.table;
  if (t.length === 0 || (t.length & (t.length - 1)) !== 0 || t.length < h.names * 2) throw new Error('name table size');
  if (st.hashes.length !== h.names || st.starts.length !== h.names || st.lens.length !== h.names) throw new Error('name arrays');
}

function validateRanges(h: CacheHeader, files: number, arrays: Map<string, Typed>, st: InternerState): void {
  const offsets = arrays.get('offsets')!;
  const postFile = arrays.get('postFile')!;
  const postCtx = arrays.get('postCtx')!;
  const proxyName = arrays.get('proxyName')!;
  for (let k = 1; k < offsets.length; k++) if (offsets[k]! < offsets[k - 1]!) throw new Error('offsets not sorted');
  for (let k = 0; k < postFile.length; k++) {
    if (postFile[k]! >= files || (postCtx[k]! > h.proxyCount && postCtx[k] !== DEF_CTX)) throw new Error('posting out of range');
  }
  for (let k = 0; k < proxyName.length; k++) if (proxyName[k]! >= h.names) throw new Error('proxy out of range');
  const t = st.table;
  for (let k = 0; k < t.length; k++) if (t[k]! >= h.names) throw new Error('name table out of range');
  for (let k = 0; k < h.names; k++) if (st.starts[k]! + st.lens[k]! > st.arena.length) throw new Error('name out of range');
}

/**
 * A 32-bit checksum over a byte stream, in 4-byte little-endian words (FNV-style mixing), the same
 * however the stream is cut into runs: partial words carry over to the next run.
 */
export class Checksum {
  private h = 0x811c9dc5;
  private carry = 0;
  private carried = 0;

  update(bytes: Uint8Array): this {
    let k = 0;
    const n = bytes.length;
    while (this.carried > 0 && this.carried < 4 && k < n) {
      this.carry |= bytes[k++]! << (8 * this.carried++);
      if (this.carried === 4) {
        this.h = Math.imul(this.h ^ this.carry, 0x01000193);
        this.carry = 0;
        this.carried = 0;
        break;
      }
    }
    const words = (n - k) >>> 2;
    let h = this.h;
    if ((bytes.byteOffset + k) % 4 === 0) {
      const w = new Uint32Array(bytes.buffer, bytes.byteOffset + k, words);
      for (let j = 0; j < words; j++) h = Math.imul(h ^ w[j]!, 0x01000193);
    } else {
      for (let j = 0; j < words; j++) {
        const b = k + 4 * j;
        h = Math.imul(h ^ (bytes[b]! | (bytes[b + 1]! << 8) | (bytes[b + 2]! << 16) | (bytes[b + 3]! << 24)), 0x01000193);
      }
    }
    this.h = h;
    for (k += words * 4; k < n; k++) this.carry |= bytes[k]! << (8 * this.carried++);
    return this;
  }

  digest(): number {
    let h = this.h;
    if (this.carried) h = Math.imul(h ^ this.carry, 0x01000193);
    return h >>> 0;
  }
}

export function kbuildFrom(h: CacheHeader): KbuildNamespaces {
  return { dir: new Map(h.kbuild.dir), subdir: new Map(h.kbuild.subdir), object: new Map(h.kbuild.object) };
}

/**
 * Reading the persisted index: one binary file per (tree, options), laid out as format.ts says and
 * written by write.ts. Anything that does not validate is reported and rebuilt.
 */
import { closeSync, fstatSync } from 'node:fs';
import { crc32 } from './crc32';
import type { StatList } from './freshness';
import type { Export, IndexedFile, Unresolved } from '../index/index';
import type { InternerState } from '../scan/interner';
import { DEF_CTX } from '../scan/scanTypes';
import type { KbuildNamespaces } from '../build/kbuild';
import { type NativeAddon, nativeAddon } from '../scan/nativeScanner';
import { openRegular } from '../util/regularFile';
import { CacheHeader, MAGIC, PREFIX, SMALL, Section, Typed, headerOf, readFully, utf8 } from './format';
import { decodeExports, filePaths, unpackFiles } from './records';

/**
 * A cache file opened for a warm start's worker: the header is read once; then the file list (a few
 * MB of a cache of hundreds, unchecked) and, when asked, the large arrays, checked, all of the same
 * write, since the file stays open (a new write replaces the file by renaming, never in place).
 */
export class CacheFile {
  readonly list: StatList;
  private readonly fd: number;
  private readonly size: number;
  private readonly header: CacheHeader;
  private readonly sections: Section[];

  constructor(file: string) {
    this.fd = openRegular(file, true).fd;
    try {
      this.size = fstatSync(this.fd).size;
      ({ header: this.header, sections: this.sections } = headerOf((at, n) => this.read(at, n), this.size));
      this.list = this.statList();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /**
   * The large arrays in a buffer to transfer to the main thread, checked here (checksums, shapes,
   * ranges), and the names' starts; meanwhile the main thread decodes the rest.
   */
  checkedRest(): { buffer: ArrayBuffer; starts: Uint32Array } {
    const split = this.sections[SMALL.length]!.at;
    const buffer = readRange(this.fd, split, this.size - split);
    const { interner } = checkedLarge(this.header, buffer, -split, this.sections.slice(SMALL.length));
    return { buffer, starts: interner.starts };
  }

  private read(at: number, n: number): Buffer {
    const b = Buffer.alloc(n);
    readFully(this.fd, b, 0, at, n);
    return b;
  }

  private statList(): StatList {
    const h = this.header;
    const at = new Map(this.sections.map((a) => [a.name, a]));
    const arr = (name: string): Buffer => {
      const a = at.get(name)!;
      return this.read(a.at, a.bytes);
    };
    const f64 = (b: Buffer): Float64Array => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    const paths = filePaths(h, arr('filePaths'));
    const alive = new Uint8Array(arr('fileAlive'));
    const out: StatList = { generation: h.generation, dirs: h.dirs, makefiles: h.makefiles, paths, size: f64(arr('fileSize')), stamp: f64(arr('fileStamp')), alive };
    if (paths.length !== h.fileCount || out.size.length !== h.fileCount || out.stamp.length !== h.fileCount || alive.length !== h.fileCount) throw new Error('file arrays');
    return out;
  }
}

/**
 * A cache file being read: its header and small arrays once opened; the large arrays after
 * readRest(), or from a worker that read and checked them (adoptRest()).
 */
export class CacheReader {
  readonly header: CacheHeader;
  /** The file's bytes up to the large arrays. */
  readonly bytes: Buffer;
  private readonly sections: Section[];
  /** Where the large arrays start: 8-byte aligned, as every array. */
  private readonly split: number;
  readonly size: number;
  /**
   * The large arrays' bytes, from file offset `at` on, and the names' starts from whoever checked
   * them: a worker (all of it) or the addon (their CRCs and ranges); `mapped` when the buffer maps the file.
   */
  private rest?: { buffer: ArrayBuffer; at: number; starts?: Uint32Array; checkedBy?: CheckedBy; mapped?: boolean };
  /** The whole file, mapped (see the constructor). */
  private readonly whole?: ArrayBuffer;

  /**
   * Opens the file and reads its header and small arrays. With `map`, a file of at least
   * `map.minBytes` is mapped whole instead, copy-on-write (addon.mapFile()), where the runtime allows:
   * the small arrays are then not copied (the main thread's largest cost in a warm start, before),
   * and readRestWith() takes the large ones from the same mapping.
   */
  constructor(
    readonly file: string,
    key: string,
    map?: { addon: NativeAddon; minBytes: number },
  ) {
    const fd = openRegular(file, true).fd;
    try {
      this.size = fstatSync(fd).size;
      this.whole = map && this.size >= map.minBytes && this.size > 0 ? map.addon.mapFile(file, 0, this.size) : undefined;
      let bytes = this.whole ? Buffer.from(this.whole) : Buffer.alloc(0);
      const read = (at: number, n: number): Buffer => {
        if (this.whole) {
          if (at + n > bytes.length) throw new Error('truncated');
          return bytes.subarray(at, at + n);
        }
        if (at + n > bytes.length) {
          const more = Buffer.allocUnsafeSlow(Math.min(this.size, Math.max(at + n, 1 << 16)));
          bytes.copy(more);
          bytes = more;
        }
        readFully(fd, bytes, at, at, n);
        return bytes.subarray(at, at + n);
      };
      ({ header: this.header, sections: this.sections } = headerOf(read, this.size));
      if (this.header.key !== key) throw new Error('made for other options');
      this.split = this.sections[SMALL.length]!.at;
      const start = PREFIX + bytes.readUInt32LE(MAGIC.length + 4);
      read(start, this.split - start);
      this.bytes = bytes.subarray(0, this.split);
    } finally {
      closeSync(fd);
    }
  }

  /** Reads the large arrays, blocking. */
  readRest(): void {
    const fd = openRegular(this.file, true).fd;
    try {
      this.rest = { buffer: readRange(fd, this.split, this.size - this.split), at: this.split };
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The large arrays, mapped from the file (addon.mapFile()) unless `map` is false or the runtime
   * refuses, else read; their CRCs and then the postings' and name slots' ranges are checked on one
   * of the addon's threads (readChecked()), their shapes by large().
   */
  readRestWith(addon: NativeAddon, map = true): Promise<void> {
    const from = this.whole ? 0 : this.split - (this.split % MAP_ALIGN);
    const mapped = this.whole ?? (map && this.size > from ? addon.mapFile(this.file, from, this.size - from) : undefined);
    const at = mapped ? from : this.split;
    const buffer = mapped ?? new ArrayBuffer(this.size - this.split);
    const sections = this.sections.slice(SMALL.length);
    const triples = new Float64Array(sections.flatMap((a) => [a.at - at, a.bytes, a.crc]));
    const range = (name: string): number[] => {
      const a = sections.find((x) => x.name === name)!;
      return [a.at - at, a.bytes];
    };
    const h = this.header;
    const file16 = sections.find((x) => x.name === 'postFile')!.kind === 'u16' ? 1 : 0;
    const arena = sections.find((x) => x.name === 'internArena')!.bytes;
    const ranges = new Float64Array([
      ...range('offsets'),
      ...range('postFile'),
      ...range('postCtx'),
      ...range('internTable'),
      file16,
      h.fileCount,
      h.proxyCount,
      h.names,
      ...range('internLens'),
      arena,
    ]);
    const starts = new Uint32Array(h.names);
    return new Promise((resolve, reject) =>
      addon.readChecked(
        mapped ? null : this.file,
        at,
        triples,
        buffer,
        (e, bad) => {
          if (e) reject(e);
          else if (bad >= 0) reject(new Error(`checksum mismatch in ${sections[bad]!.name}`));
          else {
            this.rest = { buffer, at, starts, checkedBy: 'addon', mapped: !!mapped };
            resolve();
          }
        },
        ranges,
        starts,
      ),
    );
  }

  /** Whether the large arrays map the cache file rather than a copy of it. */
  get mapped(): boolean {
    return !!this.rest?.mapped;
  }

  /** The files' paths (NUL-separated) and which are alive, for a stat pass before small() has decoded and checked them. */
  fileList(): { paths: Uint8Array; alive: Uint8Array } {
    const arrays = viewsOf(
      this.bytes.buffer,
      this.bytes.byteOffset,
      this.sections.filter((a) => a.name === 'filePaths' || a.name === 'fileAlive'),
      false,
    );
    return { paths: arrays.get('filePaths') as Uint8Array, alive: arrays.get('fileAlive') as Uint8Array };
  }

  /** Takes the large arrays, checked, and the names' starts from a worker's CacheFile.checkedRest() of the same file write (the caller compared generations). */
  adoptRest(buffer: ArrayBuffer, starts: Uint32Array): void {
    if (buffer.byteLength !== this.size - this.split) throw new Error('large arrays of another size');
    this.rest = { buffer, at: this.split, starts, checkedBy: 'worker' };
  }

  /**
   * The files (and their paths, and which of them have wrappers, includes or skips), the resolved
   * exports and the proxies, with the small arrays' checksums and shapes checked.
   */
  small(): { files: IndexedFile[]; paths: string[]; eager: number[]; exports: Export[]; unresolved: Unresolved[]; arrays: Map<string, Typed> } {
    const arrays = viewsOf(this.bytes.buffer, this.bytes.byteOffset, this.sections.slice(0, SMALL.length), true);
    const h = this.header;
    const { files, paths, eager } = unpackFiles(h, arrays);
    const { exports, unresolved } = decodeExports(utf8(arrays.get('exports') as Uint8Array), arrays.get('exportRows') as Int32Array);
    const proxyName = arrays.get('proxyName')!;
    if (proxyName.length !== h.proxyCount || arrays.get('proxyLine')!.length !== h.proxyCount || arrays.get('proxyKind')!.length !== h.proxyCount) throw new Error('proxy arrays');
    for (let k = 0; k < proxyName.length; k++) if (proxyName[k]! >= h.names) throw new Error('proxy out of range');
    return { files, paths, eager, exports, unresolved, arrays };
  }

  /** The postings and the name table, with their checksums, shapes and ranges checked here unless a worker did. */
  large(): { arrays: Map<string, Typed>; interner: InternerState } {
    if (!this.rest) throw new Error('the large arrays were not read');
    const { buffer, at, starts, checkedBy } = this.rest;
    return checkedLarge(this.header, buffer, -at, this.sections.slice(SMALL.length), checkedBy && { by: checkedBy, starts: starts! });
  }
}

/** Where a mapping of the large arrays starts: a multiple of every page size linux runs with. */
const MAP_ALIGN = 1 << 16;

/** `bytes` bytes of an open file from `at`, into a buffer of their own (to transfer between threads). */
function readRange(fd: number, at: number, bytes: number): ArrayBuffer {
  const buffer = new ArrayBuffer(bytes);
  readFully(fd, new Uint8Array(buffer), 0, at, bytes);
  return buffer;
}

/** Who checked the large arrays before the main thread takes them: a worker all of it, the addon their CRCs and ranges. */
type CheckedBy = 'worker' | 'addon';

/**
 * Views on the large arrays, checked here but for what `checked` says was: a worker's checkedRest()
 * checked them all; the addon's readChecked() their CRCs and ranges, leaving their shapes. Either
 * made the names' starts.
 */
function checkedLarge(
  h: CacheHeader,
  buffer: ArrayBuffer,
  base: number,
  sections: Section[],
  checked?: { by: CheckedBy; starts: Uint32Array },
): { arrays: Map<string, Typed>; interner: InternerState } {
  const arrays = viewsOf(buffer, base, sections, !checked);
  const interner = internerOf(h, arrays, checked?.starts);
  if (checked?.by !== 'worker') {
    validateShape(h, arrays, interner);
    if (!checked) validateRanges(h, arrays, interner);
  }
  return { arrays, interner };
}

/** Typed views on a cache's bytes held in `buffer` from file offset -base; each array's CRC-32 checked first when asked. */
function viewsOf(buffer: ArrayBufferLike, base: number, sections: Section[], check: boolean): Map<string, Typed> {
  if (base % 8 !== 0) throw new Error('misaligned buffer');
  const arrays = new Map<string, Typed>();
  for (const a of sections) {
    const at = base + a.at;
    if (check && crc32(new Uint8Array(buffer, at, a.bytes)) !== a.crc) throw new Error(`checksum mismatch in ${a.name}`);
    const view =
      a.kind === 'u32'
        ? new Uint32Array(buffer, at, a.length)
        : a.kind === 'i32'
          ? new Int32Array(buffer, at, a.length)
          : a.kind === 'u16'
            ? new Uint16Array(buffer, at, a.length)
            : a.kind === 'f64'
              ? new Float64Array(buffer, at, a.length)
              : new Uint8Array(buffer, at, a.length);
    arrays.set(a.name, view);
  }
  return arrays;
}

/** The name table; name starts are not stored, since names lie end to end in id order. */
function internerOf(h: CacheHeader, arrays: Map<string, Typed>, known?: Uint32Array): InternerState {
  const lens = arrays.get('internLens') as Uint16Array;
  if (lens.length !== h.names || (known && known.length !== h.names)) throw new Error('name arrays');
  const arena = arrays.get('internArena') as Uint8Array;
  let starts = known;
  if (!starts) {
    starts = new Uint32Array(h.names);
    let pos = 0;
    for (let k = 0; k < lens.length; k++) {
      starts[k] = pos;
      pos += lens[k]!;
    }
    if (pos !== arena.length) throw new Error('name lengths do not add up to the names');
  }
  return { table: arrays.get('internTable') as Int32Array, hashes: arrays.get('internHashes') as Uint32Array, starts, lens, arena, size: h.names };
}

function validateShape(h: CacheHeader, arrays: Map<string, Typed>, st: InternerState): void {
  const offsets = arrays.get('offsets')!;
  const postFile = arrays.get('postFile')!;
  if (offsets.length > h.names + 1 || offsets.length < 1) throw new Error('offsets length');
  if (offsets[offsets.length - 1] !== postFile.length) throw new Error('postings length');
  if (arrays.get('postLine')!.length !== postFile.length || arrays.get('postCtx')!.length !== postFile.length) throw new Error('postings arrays');
  const t = st.table;
  if (t.length === 0 || (t.length & (t.length - 1)) !== 0 || h.names * 5 > t.length * 3) throw new Error('name table size');
  if (st.hashes.length !== h.names) throw new Error('name arrays');
}

/** Every posting's file and context, and every name slot, in range; in the addon when it loads, where it is faster. */
export function validateRanges(h: Pick<CacheHeader, 'fileCount' | 'proxyCount' | 'names'>, arrays: Map<string, Typed>, st: Pick<InternerState, 'table'>, native = true): void {
  const offsets = arrays.get('offsets') as Uint32Array;
  const postFile = arrays.get('postFile') as Uint32Array | Uint16Array;
  const postCtx = arrays.get('postCtx') as Uint32Array;
  const addon = native ? nativeAddon() : undefined;
  if (addon) {
    const bad = addon.checkRanges(offsets, postFile, postCtx, st.table, h.fileCount, h.proxyCount, h.names);
    if (bad) throw new Error(bad);
    return;
  }
  const files = h.fileCount;
  for (let k = 1; k < offsets.length; k++) if (offsets[k]! < offsets[k - 1]!) throw new Error('offsets not sorted');
  for (let k = 0; k < postFile.length; k++) {
    if (postFile[k]! >= files || (postCtx[k]! > h.proxyCount && postCtx[k] !== DEF_CTX)) throw new Error('posting out of range');
  }
  const t = st.table;
  for (let k = 0; k < t.length; k++) if (t[k]! >= h.names) throw new Error('name table out of range');
}

export function kbuildFrom(h: CacheHeader): KbuildNamespaces {
  return { dir: new Map(h.kbuild.dir), subdir: new Map(h.kbuild.subdir), object: new Map(h.kbuild.object) };
}

export { cacheKey, cachePath, snapshotIndex, writeSnapshotAsync } from './write';
export type { CacheSnapshot } from './write';

/**
 * The cache file's layout: magic, u32 CRC-32 of the header, u32 header length, the JSON header, then
 * the typed arrays in header order, each 8-byte aligned, so that loading makes views on the file's
 * bytes, not copies. Each array's CRC-32 is in the header. The small arrays (files, details, proxies)
 * come first: a warm start resolves exports from them before it checks the large ones (postings, names).
 */
import { readSync } from 'node:fs';
import { crc32 } from './crc32';
import type { MakefileStat } from './freshness';
import type { IndexStats } from '../index/index';

/** 16 bytes, so that what follows is 4-byte aligned. */
export const MAGIC = 'KEXPORTS-IDX-20\n';

export const PREFIX = MAGIC.length + 8;

type ArrayKind = 'u32' | 'i32' | 'u16' | 'u8' | 'f64';

export interface CacheHeader {
  root: string;
  key: string;
  /** Per-file scalars live in arrays (filePaths, fileSize, ...); details in JSON (see encodeDetails). */
  fileCount: number;
  /** Random per write: a reader of part of the file can tell that it read the same file. */
  generation: string;
  dirs: [string, number][];
  /** The Makefiles and Kbuild files the namespaces in `kbuild` were read from, as stat'ed before. */
  makefiles: MakefileStat[];
  kbuild: { dir: [string, string][]; subdir: [string, string][]; object: [string, string][] };
  stats: IndexStats;
  arrays: { name: string; kind: ArrayKind; length: number; crc: number }[];
  names: number;
  proxyCount: number;
}

/** The arrays a warm start needs before it can resolve exports; the rest may still be on their way. */
export const SMALL = [
  'filePaths',
  'fileSize',
  'fileStamp',
  'fileLines',
  'fileAlive',
  'fileProxyStart',
  'fileProxyCount',
  'detailsEager',
  'detailAt',
  'details',
  'exports',
  'exportRows',
  'proxyName',
  'proxyLine',
  'proxyKind',
];

const LARGE = ['offsets', 'postFile', 'postLine', 'postCtx', 'internTable', 'internHashes', 'internLens', 'internArena'];

export type Typed = Uint32Array | Int32Array | Uint16Array | Uint8Array | Float64Array;

export function kindOf(a: Typed): ArrayKind {
  return a instanceof Uint32Array ? 'u32' : a instanceof Int32Array ? 'i32' : a instanceof Uint16Array ? 'u16' : a instanceof Float64Array ? 'f64' : 'u8';
}

/** The text of a u8 array that views the cache's bytes. */
export function utf8(a: Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('utf8');
}

export function bytesOf(a: Typed): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const WIDTH: Record<ArrayKind, number> = { u8: 1, u16: 2, u32: 4, i32: 4, f64: 8 };

export interface Section {
  name: string;
  kind: ArrayKind;
  length: number;
  crc: number;
  at: number;
  bytes: number;
}

/** Where each array starts, in file offsets: 8-byte aligned, in header order, after the header. */
function layout(h: CacheHeader, afterHeader: number): Section[] {
  let pos = afterHeader;
  return h.arrays.map((a) => {
    if (pos % 8) pos += 8 - (pos % 8);
    const at = pos;
    const bytes = a.length * WIDTH[a.kind];
    pos += bytes;
    return { ...a, at, bytes };
  });
}

/** Reads exactly `bytes` at `at` into `into` (at offset `to`). */
export function readFully(fd: number, into: Uint8Array, to: number, at: number, bytes: number): void {
  let got = 0;
  while (got < bytes) {
    const n = readSync(fd, into, to + got, bytes - got, at + got);
    if (n === 0) throw new Error('truncated');
    got += n;
  }
}

/** The header and the arrays' places, from the first bytes of a cache file (or of its contents). */
export function headerOf(read: (at: number, bytes: number) => Buffer, size: number): { header: CacheHeader; sections: Section[] } {
  if (size < PREFIX) throw new Error('truncated');
  const head = read(0, PREFIX);
  if (head.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error('not a kexports index of this version');
  const hlen = head.readUInt32LE(MAGIC.length + 4);
  if (PREFIX + hlen > size) throw new Error('truncated header');
  const hbuf = read(PREFIX, hlen);
  if (crc32(hbuf) !== head.readUInt32LE(MAGIC.length)) throw new Error('checksum mismatch in the header');
  const header = JSON.parse(hbuf.toString('utf8')) as CacheHeader;
  const sections = layout(header, PREFIX + hlen);
  const names = sections.map((s) => s.name);
  if (names.join() !== [...SMALL, ...LARGE].join()) throw new Error('unexpected arrays');
  const last = sections[sections.length - 1]!;
  if (last.at + last.bytes !== size) throw new Error(last.at + last.bytes > size ? `truncated ${last.name}` : 'trailing bytes');
  return { header, sections };
}

/** What a warm start compares with the disk, read without the rest of the cache (for a worker). */

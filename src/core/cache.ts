/**
 * The persisted index: one binary file per (tree, options), written to a temporary name and renamed,
 * so a reader never sees half a file. Anything that does not validate is reported and rebuilt.
 *
 * Layout: magic, u32 length + JSON header, u32 length + latin1 names joined by '\n', then the typed
 * arrays in header order, each 4-byte aligned.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { IndexedFile, IndexStats, KernelIndex } from './index';
import type { KbuildNamespaces } from './kbuild';

const MAGIC = 'KEXPORTS-INDEX-3\n';

interface Header {
  root: string;
  key: string;
  files: IndexedFile[];
  dirs: [string, number][];
  kbuild: { dir: [string, string][]; subdir: [string, string][]; object: [string, string][] };
  stats: IndexStats;
  arrays: { name: string; type: 'u32' | 'u8'; length: number }[];
  names: number;
  proxyCount: number;
}

export function cacheKey(root: string, options: unknown): string {
  return createHash('sha1').update(MAGIC).update(root).update(JSON.stringify(options)).digest('hex').slice(0, 16);
}

export function cachePath(dir: string, key: string): string {
  return join(dir, `${key}.idx`);
}

export function saveIndex(index: KernelIndex, dirs: [string, number][], file: string, key: string): void {
  const arrays: [string, Uint32Array | Uint8Array][] = [
    ['offsets', index.offsets],
    ['postFile', index.postFile],
    ['postLine', index.postLine],
    ['postCtx', index.postCtx],
    ['proxyName', index.proxyName.subarray(0, index.proxyCount)],
    ['proxyLine', index.proxyLine.subarray(0, index.proxyCount)],
    ['proxyKind', index.proxyKind.subarray(0, index.proxyCount)],
  ];
  const header: Header = {
    root: index.root,
    key,
    files: index.files,
    dirs,
    kbuild: { dir: [...index.kbuild.dir], subdir: [...index.kbuild.subdir], object: [...index.kbuild.object] },
    stats: index.stats,
    arrays: arrays.map(([name, a]) => ({ name, type: a instanceof Uint8Array ? 'u8' : 'u32', length: a.length })),
    names: index.table.names.length,
    proxyCount: index.proxyCount,
  };
  const headerBuf = Buffer.from(JSON.stringify(header), 'utf8');
  const namesBuf = Buffer.from(index.table.names.join('\n'), 'latin1');
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array): void => {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
      pos += b.length;
    };
    const u32 = (n: number): void => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      put(b);
    };
    const align = (): void => {
      if (pos % 4) put(Buffer.alloc(4 - (pos % 4)));
    };
    put(Buffer.from(MAGIC, 'latin1'));
    u32(headerBuf.length);
    put(headerBuf);
    u32(namesBuf.length);
    put(namesBuf);
    for (const [, a] of arrays) {
      align();
      put(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export interface LoadedCache {
  header: Header;
  names: string[];
  arrays: Map<string, Uint32Array | Uint8Array>;
}

/** Reads and validates a cache file; throws an Error saying what is wrong. */
export function loadCache(file: string, key: string): LoadedCache {
  const buf = readFileSync(file);
  if (buf.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error('not a kexports index (bad magic)');
  let pos = MAGIC.length;
  const u32 = (): number => {
    if (pos + 4 > buf.length) throw new Error('truncated');
    const v = buf.readUInt32LE(pos);
    pos += 4;
    return v;
  };
  const hlen = u32();
  if (pos + hlen > buf.length) throw new Error('truncated header');
  const header = JSON.parse(buf.toString('utf8', pos, pos + hlen)) as Header;
  pos += hlen;
  if (header.key !== key) throw new Error('made for other options');
  const nlen = u32();
  if (pos + nlen > buf.length) throw new Error('truncated names');
  const names = nlen ? buf.toString('latin1', pos, pos + nlen).split('\n') : [];
  pos += nlen;
  if (names.length !== header.names) throw new Error('name count mismatch');
  const arrays = new Map<string, Uint32Array | Uint8Array>();
  for (const a of header.arrays) {
    if (pos % 4) pos += 4 - (pos % 4);
    const bytes = a.type === 'u8' ? a.length : a.length * 4;
    if (pos + bytes > buf.length) throw new Error(`truncated ${a.name}`);
    const copy = new Uint8Array(bytes);
    copy.set(buf.subarray(pos, pos + bytes));
    arrays.set(a.name, a.type === 'u8' ? copy : new Uint32Array(copy.buffer));
    pos += bytes;
  }
  if (pos !== buf.length) throw new Error('trailing bytes');
  validate(header, arrays);
  return { header, names, arrays };
}

function validate(h: Header, arrays: Map<string, Uint32Array | Uint8Array>): void {
  const offsets = arrays.get('offsets')!;
  const postFile = arrays.get('postFile')!;
  const postCtx = arrays.get('postCtx')!;
  const proxyName = arrays.get('proxyName')!;
  if (offsets.length !== h.names + 1 && !(offsets.length === 1 && postFile.length === 0)) throw new Error('offsets length');
  if (offsets[offsets.length - 1] !== postFile.length) throw new Error('postings length');
  for (let k = 1; k < offsets.length; k++) if (offsets[k]! < offsets[k - 1]!) throw new Error('offsets not sorted');
  const files = h.files.length;
  for (let k = 0; k < postFile.length; k++) {
    if (postFile[k]! >= files || postCtx[k]! > h.proxyCount) throw new Error('posting out of range');
  }
  for (let k = 0; k < proxyName.length; k++) if (proxyName[k]! >= h.names) throw new Error('proxy out of range');
}

export function kbuildFrom(h: Header): KbuildNamespaces {
  return { dir: new Map(h.kbuild.dir), subdir: new Map(h.kbuild.subdir), object: new Map(h.kbuild.object) };
}

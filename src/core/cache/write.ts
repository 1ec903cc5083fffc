/** Writing the cache: a snapshot of the index at one moment, written to a temporary name and renamed, so a reader never sees half a file. */
import { readdirSync, unlinkSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { crc32 } from './crc32';
import type { MakefileStat } from './freshness';
import type { KernelIndex } from '../index/index';
import { CacheHeader, MAGIC, PREFIX, Typed, bytesOf, kindOf } from './format';
import { encodeExports, packFiles } from './records';

export function cacheKey(root: string, options: unknown): string {
  return createHash('sha1').update(MAGIC).update(root).update(JSON.stringify(options)).digest('hex').slice(0, 16);
}

export function cachePath(dir: string, key: string): string {
  return join(dir, `${key}.idx`);
}

/**
 * A cache file's bytes, taken from an index at one moment: what changes in place as the index is
 * edited later (the name table's slots) is copied; the rest is never written again once built (the
 * postings) or only appended past what is taken here (names, proxies).
 */
export interface CacheSnapshot {
  file: string;
  parts: Uint8Array[];
}

export function snapshotIndex(index: KernelIndex, dirs: [string, number][], makefiles: MakefileStat[], file: string, key: string): CacheSnapshot {
  const st = index.table.interner.state();
  const packed = packFiles(index.files);
  const exports = encodeExports(index);
  const arrays: [string, Typed][] = [
    ...packed.arrays,
    ['exports', exports.json],
    ['exportRows', exports.rows],
    ['proxyName', index.postings.proxyName.subarray(0, index.postings.proxyCount)],
    ['proxyLine', index.postings.proxyLine.subarray(0, index.postings.proxyCount)],
    ['proxyKind', index.postings.proxyKind.subarray(0, index.postings.proxyCount)],
    ['offsets', index.postings.offsets],
    ['postFile', index.postings.postFile],
    ['postLine', index.postings.postLine],
    ['postCtx', index.postings.postCtx],
    ['internTable', st.table.slice()],
    ['internHashes', st.hashes],
    ['internLens', st.lens],
    ['internArena', st.arena],
  ];
  const header: CacheHeader = {
    root: index.root,
    key,
    fileCount: index.files.length,
    generation: createHash('sha1').update(`${process.pid} ${Date.now()} ${Math.random()}`).digest('hex').slice(0, 16),
    dirs,
    makefiles,
    kbuild: { dir: [...index.kbuild.dir], subdir: [...index.kbuild.subdir], object: [...index.kbuild.object] },
    stats: index.stats,
    arrays: arrays.map(([name, a]) => ({ name, kind: kindOf(a), length: a.length, crc: crc32(bytesOf(a)) })),
    names: st.size,
    proxyCount: index.postings.proxyCount,
  };
  const headerBuf = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(PREFIX);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(crc32(headerBuf), MAGIC.length);
  prefix.writeUInt32LE(headerBuf.length, MAGIC.length + 4);
  const parts: Uint8Array[] = [prefix, headerBuf];
  let pos = PREFIX + headerBuf.length;
  for (const [, a] of arrays) {
    if (pos % 8) {
      parts.push(Buffer.alloc(8 - (pos % 8)));
      pos += 8 - (pos % 8);
    }
    parts.push(bytesOf(a));
    pos += a.byteLength;
  }
  return { file, parts };
}

function tempName(file: string): string {
  return `${file}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}.tmp`;
}

/**
 * Removes the temporary files that writers of this cache file left when they died mid-write (an editor
 * closed during the background write): those whose process is gone. A live writer's file is kept.
 */
function removeOrphanTemps(file: string): void {
  const dir = dirname(file);
  const prefix = `${basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.\d+(?:\.[0-9a-z]*)?\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (!m || processAlive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes a snapshot to a temporary name, syncs it and renames it over the cache, on libuv's threads: the calling thread only queues the writes. */
export async function writeSnapshotAsync(snap: CacheSnapshot): Promise<void> {
  await fsp.mkdir(dirname(snap.file), { recursive: true });
  removeOrphanTemps(snap.file);
  // A directory or a FIFO where the cache file goes cannot be renamed over: say so before writing hundreds of MB.
  const there = await fsp.lstat(snap.file).catch(() => undefined);
  if (there && !there.isFile()) throw new Error(`${snap.file} is ${there.isDirectory() ? 'a directory' : 'not a regular file'}, not a cache file; remove it, or give --cache-dir`);
  const tmp = tempName(snap.file);
  const fh = await fsp.open(tmp, 'w');
  try {
    for (const b of snap.parts) {
      let off = 0;
      while (off < b.length) off += (await fh.write(b, off, b.length - off)).bytesWritten;
    }
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, snap.file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

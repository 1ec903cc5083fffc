/**
 * A file's change stamp, which the cache keeps beside its size: the inode, mtime and ctime in
 * nanoseconds, folded into 52 bits so that a double holds it exactly. An edit that keeps the size and
 * puts the mtime back, or moves it by 1 ns, still moves the ctime; a file replaced by another has
 * another inode. The addon (changeStamp() in scanner.cc) computes the same number.
 */
import { type BigIntStats, lstatSync, statSync } from 'node:fs';
import { fsPath } from './fsName';

const M64 = 64;

export function changeStamp(st: Pick<BigIntStats, 'ino' | 'mtimeNs' | 'ctimeNs'>): number {
  let h = BigInt.asUintN(M64, st.mtimeNs * 0x9e3779b97f4a7c15n);
  h = BigInt.asUintN(M64, (h ^ BigInt.asUintN(M64, st.ctimeNs)) * 0xc2b2ae3d27d4eb4fn);
  h = BigInt.asUintN(M64, (h ^ st.ino) * 0x165667b19e3779f9n);
  h ^= h >> 32n;
  return Number(h & 0xfffffffffffffn);
}

/**
 * Size and stamp of a path as the tree's walk sees it: links are not followed (but for the tree's root,
 * which may be a link to the tree), and what is neither a file nor a directory (a link, a FIFO, a
 * device, a socket) is undefined, as a path that is gone.
 */
export function treeStat(abs: string, isRoot = false): { size: number; stamp: number; dir: boolean } | undefined {
  let st: BigIntStats | undefined;
  try {
    st = (isRoot ? statSync : lstatSync)(fsPath(abs), { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (!st || !(st.isFile() || st.isDirectory())) return undefined;
  return { size: Number(st.size), stamp: changeStamp(st), dir: st.isDirectory() };
}

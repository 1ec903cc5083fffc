/** Finding the kernel tree a path belongs to. */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface TreeRoot {
  root: string;
  /** False when no parent folder has Kbuild and MAINTAINERS: a plain folder of C. */
  isKernelTree: boolean;
}

export function looksLikeKernelTree(dir: string): boolean {
  return existsSync(`${dir}/Kbuild`) && existsSync(`${dir}/MAINTAINERS`);
}

/** The nearest parent of `start` (inclusive) with Kbuild and MAINTAINERS; else `start` itself. */
export function findTreeRoot(start: string): TreeRoot {
  let dir = resolve(start);
  try {
    if (!statSync(dir).isDirectory()) dir = dirname(dir);
  } catch {
    return { root: dir, isKernelTree: false };
  }
  const first = dir;
  for (;;) {
    if (looksLikeKernelTree(dir)) return { root: dir, isKernelTree: true };
    const up = dirname(dir);
    if (up === dir) return { root: first, isKernelTree: false };
    dir = up;
  }
}

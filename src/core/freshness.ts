/**
 * What changed on disk since a cache was written: directories whose mtime moved gained or lost
 * entries; files whose size or mtime moved were edited. Pure fs, so a worker can run it while the
 * main thread loads the cache. The addon stats the files when it loads: 56,731 linux files in
 * 0.15-0.2 s, against 0.3-0.34 s for statSync.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { MakefileStat, StatList } from './cache';
import { nativeAddon } from './nativeScanner';
import { walkTree } from './walk';

/** [size, mtimeMs] pairs of root/paths[k]; -1, -1 for what cannot be stat'ed. */
function statPaths(root: string, paths: string[], native: boolean): Float64Array {
  const out = new Float64Array(paths.length * 2);
  const addon = native ? nativeAddon() : undefined;
  if (addon) {
    addon.statPaths(root, paths, out);
    return out;
  }
  paths.forEach((p, k) => {
    let st;
    try {
      st = statSync(p ? join(root, p) : root, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    out[k * 2] = st ? st.size : -1;
    out[k * 2 + 1] = st ? st.mtimeMs : -1;
  });
  return out;
}

export interface Staleness {
  /** Changed or added files. */
  changed: string[];
  gone: string[];
  /** Makefiles and Kbuild files changed, added or gone: their namespaces are read again. */
  makefiles: string[];
  /** The tree's directories and Makefiles as they are now, for a cache written after the refresh. */
  dirs: [string, number][];
  makefileStats: MakefileStat[];
}

/** Size and mtime of each Makefile and Kbuild file, for a cache; those that cannot be stat'ed are left out. */
export function statMakefiles(root: string, paths: string[], native = true): MakefileStat[] {
  const st = statPaths(root, paths, native);
  const out: MakefileStat[] = [];
  paths.forEach((p, k) => {
    if (st[k * 2] !== -1) out.push([p, st[k * 2]!, st[k * 2 + 1]!]);
  });
  return out;
}

/**
 * The files to rescan and drop; undefined when the tree itself is gone. A directory whose mtime moved
 * is listed again, and the directories new in it walked whole, with the tree's exclusions: a `git pull`
 * that adds a driver's directory adds its files. A directory that is gone needs nothing more: its
 * files fail their stat.
 */
export function staleFiles(root: string, list: Omit<StatList, 'generation'>, native = true, exclude: readonly string[] = []): Staleness | undefined {
  const changed: string[] = [];
  const gone: string[] = [];
  const known = new Set<string>();
  for (let k = 0; k < list.paths.length; k++) if (list.alive[k] === 1) known.add(list.paths[k]!);
  const dirStat = statPaths(root, list.dirs.map(([dir]) => dir), native);
  const moved: string[] = [];
  const dirs = new Map<string, number>();
  for (let d = 0; d < list.dirs.length; d++) {
    const dir = list.dirs[d]![0];
    if (dirStat[d * 2] === -1) {
      if (dir === '') return undefined;
      continue;
    }
    dirs.set(dir, dirStat[d * 2 + 1]!);
    if (dirStat[d * 2 + 1] !== list.dirs[d]![1]) moved.push(dir);
  }
  const makefiles: string[] = [];
  const makefileStats: MakefileStat[] = [];
  const mkStat = statPaths(root, list.makefiles.map(([path]) => path), native);
  list.makefiles.forEach(([path, size, mtime], k) => {
    if (mkStat[k * 2] !== size || mkStat[k * 2 + 1] !== mtime) makefiles.push(path);
    if (mkStat[k * 2] !== -1) makefileStats.push([path, mkStat[k * 2]!, mkStat[k * 2 + 1]!]);
  });
  if (moved.length) {
    const walked = walkTree(root, exclude, { from: moved, known: new Set(list.dirs.map(([dir]) => dir)) });
    for (const path of walked.sources) if (!known.has(path)) changed.push(path);
    for (const [dir, mtime] of walked.dirs) if (!dirs.has(dir)) dirs.set(dir, mtime);
    const knownMakefiles = new Set(list.makefiles.map(([path]) => path));
    const added = walked.makefiles.filter((path) => !knownMakefiles.has(path));
    makefiles.push(...added);
    makefileStats.push(...statMakefiles(root, added, native));
  }
  const alive: string[] = [];
  const at: number[] = [];
  for (let k = 0; k < list.paths.length; k++) {
    if (list.alive[k] !== 1) continue;
    alive.push(list.paths[k]!);
    at.push(k);
  }
  const st = statPaths(root, alive, native);
  for (let j = 0; j < alive.length; j++) {
    const k = at[j]!;
    if (st[j * 2] === -1) gone.push(alive[j]!);
    else if (st[j * 2] !== list.size[k] || st[j * 2 + 1] !== list.mtime[k]) changed.push(alive[j]!);
  }
  return { changed, gone, makefiles, dirs: [...dirs], makefileStats };
}

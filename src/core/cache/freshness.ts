/**
 * What changed on disk since a cache was written: directories whose stamp moved gained or lost
 * entries; files whose size or stamp moved were edited. Pure fs, so a worker can run it while the
 * main thread loads the cache. The addon stats the files when it loads, in about half the time
 * statSync takes.
 */
import { join } from 'node:path';
import { nativeAddon } from '../scan/nativeScanner';
import { treeStat } from '../util/stamp';
import { walkTree } from '../scan/walk';

/** A Makefile or Kbuild file as a cache saw it. */
export type MakefileStat = [path: string, size: number, stamp: number];

/** What a cache says of the tree's files, directories and Makefiles, to be checked against the disk. */
export interface StatList {
  generation: string;
  dirs: [string, number][];
  makefiles: MakefileStat[];
  paths: string[];
  size: Float64Array;
  stamp: Float64Array;
  alive: Uint8Array;
}

/** [size, stamp] pairs of root/paths[k]; -1, -1 for what is gone, or is neither a file nor a directory (links are not followed). */
function statPaths(root: string, paths: string[], native: boolean): Float64Array {
  const out = new Float64Array(paths.length * 2);
  const addon = native ? nativeAddon() : undefined;
  if (addon) {
    addon.statPaths(root, paths, out);
    return out;
  }
  paths.forEach((p, k) => {
    const st = treeStat(p ? join(root, p) : root, !p);
    out[k * 2] = st ? st.size : -1;
    out[k * 2 + 1] = st ? st.stamp : -1;
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

/** Size and stamp of each Makefile and Kbuild file, for a cache; those that cannot be stat'ed are left out. */
export function statMakefiles(root: string, paths: string[], native = true): MakefileStat[] {
  return makefileStatsOf(paths, statPaths(root, paths, native));
}

function makefileStatsOf(paths: string[], st: Float64Array): MakefileStat[] {
  const out: MakefileStat[] = [];
  paths.forEach((p, k) => {
    if (st[k * 2] !== -1) out.push([p, st[k * 2]!, st[k * 2 + 1]!]);
  });
  return out;
}

/** What the directories and Makefiles say: new files in new or changed directories, Makefiles to read again. */
export interface DirStaleness {
  added: string[];
  makefiles: string[];
  dirs: [string, number][];
  makefileStats: MakefileStat[];
  /**
   * Directories gone, or now links (which the walk does not follow): their files are gone too, though
   * a stat through a linked directory still finds them.
   */
  goneDirs: string[];
}

/**
 * The first part of staleFiles(): undefined when the tree itself is gone. A directory whose stamp moved
 * is listed again, and the directories new in it walked whole, with the tree's exclusions: a `git pull`
 * that adds a driver's directory adds its files. A directory that is gone needs nothing more: its
 * files are gone with it. `stats` are the directories' and the cached Makefiles' stats when made
 * elsewhere (the addon's statList()), in the list's order.
 */
export function staleDirs(
  root: string,
  list: Omit<StatList, 'generation'>,
  native = true,
  exclude: readonly string[] = [],
  stats?: { dirs: Float64Array; makefiles: Float64Array },
): DirStaleness | undefined {
  const dirStat =
    stats?.dirs ??
    statPaths(
      root,
      list.dirs.map(([dir]) => dir),
      native,
    );
  const moved: string[] = [];
  const dirs = new Map<string, number>();
  const goneDirs: string[] = [];
  for (let d = 0; d < list.dirs.length; d++) {
    const dir = list.dirs[d]![0];
    if (dirStat[d * 2] === -1) {
      if (dir === '') return undefined;
      goneDirs.push(dir);
      continue;
    }
    dirs.set(dir, dirStat[d * 2 + 1]!);
    if (dirStat[d * 2 + 1] !== list.dirs[d]![1]) moved.push(dir);
  }
  const added: string[] = [];
  // The cached Makefiles now; one changed or gone is read again.
  const cached = list.makefiles.map(([path]) => path);
  const makefileStats = stats ? makefileStatsOf(cached, stats.makefiles) : statMakefiles(root, cached, native);
  const now = new Map(makefileStats.map(([path, size, stamp]) => [path, [size, stamp]]));
  const makefiles = list.makefiles.filter(([path, size, stamp]) => now.get(path)?.[0] !== size || now.get(path)?.[1] !== stamp).map(([path]) => path);
  if (moved.length) {
    const known = new Set<string>();
    for (let k = 0; k < list.paths.length; k++) if (list.alive[k] === 1) known.add(list.paths[k]!);
    const walked = walkTree(root, exclude, { from: moved, known: new Set(list.dirs.map(([dir]) => dir)) }, native);
    for (const path of walked.sources) if (!known.has(path)) added.push(path);
    for (const [dir, stamp] of walked.dirs) if (!dirs.has(dir)) dirs.set(dir, stamp);
    const knownMakefiles = new Set(list.makefiles.map(([path]) => path));
    const fresh = walked.makefiles.filter((path) => !knownMakefiles.has(path));
    makefiles.push(...fresh);
    makefileStats.push(...statMakefiles(root, fresh, native));
  }
  return { added, makefiles, dirs: [...dirs], makefileStats, goneDirs };
}

/** Files per claim of statShare(): a few ms of stat calls, so that two threads end close together. */
export const STAT_CHUNK = 1024;

/** One thread's share of the file list's stat pass: indices into the list, in the order stat'ed. */
export interface FileShare {
  changed: number[];
  gone: number[];
}

/**
 * The second part of staleFiles(): stats the list's live files a chunk at a time, each chunk claimed
 * from claim[0] with Atomics, so that threads holding the same list (a warm start's worker and the
 * main thread, claim on a SharedArrayBuffer) share the pass without stat'ing a file twice.
 */
export function statShare(root: string, list: Omit<StatList, 'generation' | 'dirs' | 'makefiles'>, claim: Int32Array, native = true, chunk = STAT_CHUNK): FileShare {
  const share: FileShare = { changed: [], gone: [] };
  const n = list.paths.length;
  for (let from = Atomics.add(claim, 0, chunk); from < n; from = Atomics.add(claim, 0, chunk)) {
    const at: number[] = [];
    for (let k = from; k < Math.min(n, from + chunk); k++) if (list.alive[k] === 1) at.push(k);
    const st = statPaths(
      root,
      at.map((k) => list.paths[k]!),
      native,
    );
    at.forEach((k, j) => judge(share, list, k, st[j * 2]!, st[j * 2 + 1]!));
  }
  return share;
}

function judge(share: FileShare, list: Pick<StatList, 'size' | 'stamp'>, k: number, size: number, stamp: number): void {
  if (size === -1) share.gone.push(k);
  else if (size !== list.size[k] || stamp !== list.stamp[k]) share.changed.push(k);
}

/** The whole stat pass as one share, from stats made elsewhere: st[2k], st[2k + 1] of each live file k (the addon's statList()). */
export function shareOf(list: Pick<StatList, 'size' | 'stamp' | 'alive'>, st: Float64Array): FileShare {
  const share: FileShare = { changed: [], gone: [] };
  for (let k = 0; k < list.alive.length; k++) if (list.alive[k] === 1) judge(share, list, k, st[k * 2]!, st[k * 2 + 1]!);
  return share;
}

/** Both parts together: the new files, then the changed ones in the list's order; the gone ones in that order. */
export function mergeStaleness(paths: readonly string[], dirs: DirStaleness, shares: readonly FileShare[], alive?: Uint8Array): Staleness {
  const inOrder = (pick: (s: FileShare) => number[]): number[] => shares.flatMap(pick).sort((a, b) => a - b);
  let changed = inOrder((s) => s.changed);
  let gone = inOrder((s) => s.gone);
  if (dirs.goneDirs.length) {
    // a file below a directory that is gone or now a link is gone, whatever its own stat said
    const under = new Set(dirs.goneDirs);
    const below = (path: string): boolean => {
      for (let at = path.lastIndexOf('/'); at > 0; at = path.lastIndexOf('/', at - 1)) if (under.has(path.slice(0, at))) return true;
      return false;
    };
    changed = changed.filter((k) => !below(paths[k]!));
    const more = new Set(gone);
    for (let k = 0; k < paths.length; k++) if ((alive === undefined || alive[k] === 1) && !more.has(k) && below(paths[k]!)) more.add(k);
    gone = [...more].sort((a, b) => a - b);
  }
  const names = (ks: number[]): string[] => ks.map((k) => paths[k]!);
  return { changed: [...dirs.added, ...names(changed)], gone: names(gone), makefiles: dirs.makefiles, dirs: dirs.dirs, makefileStats: dirs.makefileStats };
}

/** The files to rescan and drop, and the Makefiles to read again, on this thread alone; undefined when the tree itself is gone. */
export function staleFiles(root: string, list: Omit<StatList, 'generation'>, native = true, exclude: readonly string[] = []): Staleness | undefined {
  const dirs = staleDirs(root, list, native, exclude);
  return dirs && mergeStaleness(list.paths, dirs, [statShare(root, list, new Int32Array(1), native)], list.alive);
}

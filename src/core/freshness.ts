/**
 * What changed on disk since a cache was written: directories whose mtime moved gained or lost
 * entries; files whose size or mtime moved were edited. Pure fs, so a worker can run it while the
 * main thread loads the cache.
 */
import { opendirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StatList } from './cache';

export interface Staleness {
  /** Changed or added files. */
  changed: string[];
  gone: string[];
}

/** The files to rescan and drop; undefined when a directory of the tree is gone (rebuild). */
export function staleFiles(root: string, list: Omit<StatList, 'generation'>): Staleness | undefined {
  const changed: string[] = [];
  const gone: string[] = [];
  const known = new Set<string>();
  for (let k = 0; k < list.paths.length; k++) if (list.alive[k] === 1) known.add(list.paths[k]!);
  for (const [dir, mtime] of list.dirs) {
    const st = statSync(dir ? join(root, dir) : root, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (st.mtimeMs === mtime) continue;
    for (const name of listSources(join(root, dir))) {
      const path = dir ? `${dir}/${name}` : name;
      if (!known.has(path)) changed.push(path);
    }
  }
  for (let k = 0; k < list.paths.length; k++) {
    if (list.alive[k] !== 1) continue;
    const path = list.paths[k]!;
    let st;
    try {
      st = statSync(join(root, path), { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (!st) gone.push(path);
    else if (st.size !== list.size[k] || st.mtimeMs !== list.mtime[k]) changed.push(path);
  }
  return { changed, gone };
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  try {
    const d = opendirSync(dir);
    try {
      let e;
      while ((e = d.readSync())) if (e.isFile() && /\.[chS]$/.test(e.name)) out.push(e.name);
    } finally {
      d.closeSync();
    }
  } catch {
    // unreadable now: its files are found gone one by one
  }
  return out;
}

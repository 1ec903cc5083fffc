/**
 * Lists a tree's C sources, headers, assembly files and makefiles. Symbolic links are never followed,
 * so a link loop cannot trap the walk; they are counted instead.
 */
import { type Dirent, lstatSync, readdirSync } from 'node:fs';
import { decodeName, fsPath } from '../util/fsName';
import { treeStat } from '../util/stamp';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { type NativeAddon, nativeAddon } from './nativeScanner';

export interface WalkResult {
  /** Paths relative to the root, '/'-separated, sorted. */
  sources: string[];
  makefiles: string[];
  symlinks: number;
  unreadableDirs: string[];
  excluded: number;
  /** Every directory walked ('' is the root) and its mtime: a changed mtime means added or removed entries. */
  dirs: [string, number][];
}

/** Where a walk starts (a warm start's changed directories), and the directories it does not go into. */
interface WalkPart {
  from: readonly string[];
  known: ReadonlySet<string>;
}

const skipDirs = new Set(['.git', '.hg', '.svn', 'node_modules', '.pc', '.tmp_versions']);

/** Whether a file name is one the index scans: .c, .h, .S, .c_shipped. */
function isSourceName(name: string): boolean {
  return name.endsWith('.c') || name.endsWith('.h') || name.endsWith('.S') ? name.length > 2 : name.endsWith('.c_shipped');
}

/**
 * Walks the tree, or only the subtrees at `from` (a warm start's changed directories), not going
 * into the directories in `known` (they are checked on their own). The addon walks where it is built
 * and no exclude glob is set (globs are matched here), faster than this walk (README, Performance).
 */
export function walkTree(root: string, exclude: readonly string[] = [], part: WalkPart = { from: [''], known: new Set() }, native = true): WalkResult {
  const addon = native && exclude.length === 0 ? nativeAddon() : undefined;
  const out = addon ? readTree(addon, root, part) : walkHere(root, exclude, part);
  out.sources.sort();
  out.makefiles.sort();
  return out;
}

/** The addon's walk, its NUL-separated lists split. */
function readTree(addon: NativeAddon, root: string, part: WalkPart): WalkResult {
  const t = addon.readTree(root, [...part.from], [...part.known]);
  const list = (s: string): string[] => (s ? s.slice(0, -1).split('\0') : []);
  const dirs = list(t.dirs);
  return { sources: list(t.sources), makefiles: list(t.makefiles), symlinks: t.symlinks, unreadableDirs: list(t.unreadable), excluded: 0, dirs: dirs.map((d, k) => [d, t.dirStamps[k]!]) };
}

/** walkTree() in JS, with the exclude globs. */
function walkHere(root: string, exclude: readonly string[], part: WalkPart): WalkResult {
  const isExcluded = exclude.length ? picomatch(exclude as string[], { dot: true }) : undefined;
  const out: WalkResult = { sources: [], makefiles: [], symlinks: 0, unreadableDirs: [], excluded: 0, dirs: [] };
  const stack: string[] = [...part.from];
  while (stack.length) {
    const rel = stack.pop()!;
    let entries: Dirent<Buffer>[];
    try {
      const abs = rel ? join(root, rel) : root;
      // the root may be a link to the tree; a directory below it that became a link is not walked
      const st = treeStat(abs, rel === '');
      if (!st?.dir) {
        if (st === undefined && rel && lstatSync(fsPath(abs), { throwIfNoEntry: false })?.isSymbolicLink()) out.symlinks++;
        else out.unreadableDirs.push(rel || '.');
        continue;
      }
      out.dirs.push([rel, st.stamp]);
      // A directory's entries in one call: about twice as fast as opendirSync() and a readSync() per
      // entry.
      entries = readdirSync(fsPath(abs), { withFileTypes: true, encoding: 'buffer' });
    } catch {
      out.unreadableDirs.push(rel || '.');
      continue;
    }
    for (const ent of entries) {
      const name = decodeName(ent.name);
      const path = rel ? `${rel}/${name}` : name;
      if (ent.isSymbolicLink()) {
        out.symlinks++;
        continue;
      }
      if (isExcluded && isExcluded(path)) {
        out.excluded++;
        continue;
      }
      if (ent.isDirectory()) {
        if (!skipDirs.has(name) && !part.known.has(path)) stack.push(path);
      } else if (ent.isFile()) {
        if (isSourceName(name)) out.sources.push(path);
        else if (name === 'Makefile' || name === 'Kbuild') out.makefiles.push(path);
      }
    }
  }
  return out;
}

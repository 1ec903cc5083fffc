/**
 * Opening a tree's index: from the cache when it is valid, refreshed for what changed on disk since,
 * else by a full scan that is then cached.
 */
import { opendirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cacheKey, cachePath, kbuildFrom, loadCache, saveIndex } from './cache';
import { buildIndexFromWalk, type IndexedFile, type IndexOptions, KernelIndex } from './index';
import { DEFAULT_MAX_FILE_BYTES } from './scanFile';
import { Interner } from './interner';
import { NameTable } from './scanPool';
import { walkTree } from './walk';

export interface OpenOptions extends IndexOptions {
  /** Where the cache lives; undefined: no cache. */
  cacheDir?: string;
  log?: (msg: string) => void;
}

/** Above this many changed files a full rebuild is cheaper than updating one file at a time. */
const REFRESH_LIMIT = 2000;

export async function openIndex(root: string, opts: OpenOptions = {}): Promise<KernelIndex> {
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const key = cacheKey(root, { exclude: opts.exclude ?? [], maxFileBytes });
  const file = opts.cacheDir ? cachePath(opts.cacheDir, key) : undefined;
  if (file) {
    try {
      const index = fromCache(root, file, key, opts);
      if (index) return index;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') opts.log?.(`cache ${file} is unusable (${(e as Error).message}); rebuilding it`);
    }
  }
  let t = performance.now();
  const walk = walkTree(root, opts.exclude);
  opts.onPhase?.('walk', performance.now() - t);
  const index = await buildIndexFromWalk(root, walk, { ...opts, maxFileBytes });
  if (file && !opts.token?.isCancellationRequested) {
    try {
      t = performance.now();
      saveIndex(index, walk.dirs, file, key);
      opts.onPhase?.('save cache', performance.now() - t);
    } catch (e) {
      opts.log?.(`could not write the cache ${file}: ${(e as Error).message}`);
    }
  }
  return index;
}

/** The cached index brought up to date; undefined when too much changed to be worth it. */
function fromCache(root: string, file: string, key: string, opts: OpenOptions): KernelIndex | undefined {
  let t = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    opts.onPhase?.(name, now - t);
    t = now;
  };
  const { header, files, arrays, interner } = loadCache(file, key);
  phase('load cache');
  const table = new NameTable(new Interner(0, interner));
  const index = new KernelIndex(root, table);
  index.files = files;
  files.forEach((f: IndexedFile, k: number) => {
    if (f.alive) index.byPath.set(f.path, k);
  });
  index.offsets = arrays.get('offsets') as Uint32Array;
  index.postFile = arrays.get('postFile') as Uint32Array;
  index.postLine = arrays.get('postLine') as Uint32Array;
  index.postCtx = arrays.get('postCtx') as Uint32Array;
  index.proxyName = arrays.get('proxyName') as Uint32Array;
  index.proxyLine = arrays.get('proxyLine') as Uint32Array;
  index.proxyKind = arrays.get('proxyKind') as Uint8Array;
  index.proxyCount = header.proxyCount;
  index.kbuild = kbuildFrom(header);
  index.stats = header.stats;

  // What changed on disk: directories whose mtime moved gained or lost entries; files whose size or
  // mtime moved were edited.
  const changed: string[] = [];
  const gone: string[] = [];
  const known = new Set(index.byPath.keys());
  for (const [dir, mtime] of header.dirs) {
    let now: number;
    try {
      now = statSync(dir ? join(root, dir) : root).mtimeMs;
    } catch {
      return undefined;
    }
    if (now === mtime) continue;
    for (const name of listSources(join(root, dir))) {
      const path = dir ? `${dir}/${name}` : name;
      if (!known.has(path)) changed.push(path);
    }
  }
  for (const [path, k] of index.byPath) {
    const f = index.files[k]!;
    try {
      const st = statSync(join(root, path));
      if (st.size !== f.size || st.mtimeMs !== f.mtimeMs) changed.push(path);
    } catch {
      gone.push(path);
    }
  }
  phase('stat tree');
  if (changed.length + gone.length > REFRESH_LIMIT) return undefined;
  index.collectWrappers();
  index.resolveAll();
  phase('resolve');
  for (const path of gone) index.deleteFile(path);
  for (const path of changed) {
    try {
      const st = statSync(join(root, path));
      index.updateFile(path, readFileSync(join(root, path)), st.mtimeMs);
    } catch {
      index.deleteFile(path);
    }
  }
  phase('refresh');
  if (changed.length || gone.length) opts.log?.(`cache refreshed: ${changed.length} changed or added, ${gone.length} deleted`);
  return index;
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

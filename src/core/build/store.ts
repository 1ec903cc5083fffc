/**
 * The build model, kept beside the index's cache: one file per tree (modelCache.ts), written to a
 * temporary file and renamed into place, and used only while every Makefile, Kbuild and Kconfig file
 * it was read from has the size, mtime and inode it had then. A damaged or stale file is rebuilt
 * (and said so).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BUILD_FILE, readBuildFileStat, readMakefile } from './kbuild';
import { type BuildModel, buildModel, type ModelInput, updateModel } from './model';
import { decodeModel, encodeModel, type FileStat } from './modelCache';

/** A regular file of the tree, not followed through a link. */
function isTreeFile(root: string, path: string): boolean {
  try {
    return lstatSync(join(root, path)).isFile();
  } catch {
    return false;
  }
}

/** Whether the folder is a Kbuild tree at all: a top Kbuild or Makefile, and a top Kconfig. */
export function isKbuildTree(root: string): boolean {
  return isTreeFile(root, 'Kconfig') && (isTreeFile(root, 'Kbuild') || isTreeFile(root, 'Makefile'));
}

export interface OpenBuildOptions {
  cacheDir?: string;
  log?: (msg: string) => void;
  onPhase?: (phase: string, ms: number) => void;
}

/** The cache file of a tree's model in a cache folder. */
function cacheFileOf(root: string, cacheDir: string | undefined): string | undefined {
  return cacheDir ? join(cacheDir, `build-${createHash('sha256').update(root).digest('hex').slice(0, 16)}.model`) : undefined;
}

/** The tree's build model, from its cache when that is still true; undefined for a folder that is no Kbuild tree. */
export function openBuildModel(root: string, opts: OpenBuildOptions = {}): BuildModel | undefined {
  if (!isKbuildTree(root)) return undefined;
  const file = cacheFileOf(root, opts.cacheDir);
  const t = performance.now();
  if (file) {
    const cached = readStored(file, root, opts.log);
    if (cached) {
      opts.onPhase?.('build model from cache', performance.now() - t);
      return cached;
    }
  }
  const { model } = buildFresh(root, file, opts.log);
  opts.onPhase?.('build model', performance.now() - t);
  return model;
}

/**
 * The build model for a command that will need it: from its cache at once when that holds, else
 * read in a worker thread (dist/modelWorker.js) while this thread goes on (a cold index's scan).
 * Without the worker's script, or when the worker fails, it is read on this thread, and said so.
 */
export function startBuildModel(root: string, opts: OpenBuildOptions & { workerScript?: string } = {}): Promise<BuildModel | undefined> {
  if (!isKbuildTree(root)) return Promise.resolve(undefined);
  const file = cacheFileOf(root, opts.cacheDir);
  if (file) {
    const cached = readStored(file, root, opts.log);
    if (cached) return Promise.resolve(cached);
  }
  const here = (): BuildModel => buildFresh(root, file, opts.log).model;
  const script = resolve(opts.workerScript ?? join(__dirname, 'modelWorker.js'));
  if (!existsSync(script)) return Promise.resolve(here());
  const t = performance.now();
  return new Promise((done) => {
    let settled = false;
    const settle = (model: () => BuildModel): void => {
      if (settled) return;
      settled = true;
      worker.unref();
      const m = model();
      opts.onPhase?.('build model', performance.now() - t);
      done(m);
    };
    const fail = (why: string): void => {
      if (settled) return;
      opts.log?.(`the build model's worker thread ${why}; reading the model on the main thread`);
      settle(here);
    };
    const worker = new Worker(script, { workerData: { root, file } satisfies ModelWorkerSetup });
    worker.once('message', (msg: ModelWorkerReply) => {
      for (const line of msg.logs) opts.log?.(line);
      if ('error' in msg) return fail(`failed: ${msg.error}`);
      const got = decodeModel(Buffer.from(msg.bytes), root);
      if ('error' in got) return fail(`sent a model that does not decode (${got.error})`);
      settle(got.model);
    });
    worker.once('error', (e) => fail(`failed: ${e.message}`));
    worker.once('exit', (code) => fail(`exited (${code}) without a model`));
  });
}

/** What the model's worker thread is given, and what it posts back. */
export interface ModelWorkerSetup {
  root: string;
  file: string | undefined;
}
export type ModelWorkerReply = { logs: string[]; bytes: ArrayBuffer } | { logs: string[]; error: string };

/**
 * The model read afresh from every Makefile, Kbuild and Kconfig file, and its cache file's bytes,
 * written to `file` when one is given.
 */
export function buildFresh(root: string, file: string | undefined, log?: (msg: string) => void): { model: BuildModel; bytes: Buffer } {
  const files = new Map<string, FileStat>();
  // stat'ed (fstat) before it is read: an edit after this is seen by the next run
  const readBytes = (path: string): Buffer | undefined => {
    const got = readBuildFileStat(root, path);
    if (got) files.set(path, [path, got.st.size, got.st.mtimeMs, got.st.ino]);
    return got?.data;
  };
  const read = (path: string): string | undefined => readBytes(path)?.toString('latin1');
  const model = buildModel({ read, readBytes, exists: (path) => isTreeFile(root, path), arches: archesOf(root) });
  const bytes = encodeModel(root, [...files.values()], model);
  if (file) writeStored(file, bytes, log);
  return { model, bytes };
}

function archesOf(root: string): string[] {
  try {
    return readdirSync(join(root, 'arch')).sort();
  } catch {
    return []; // a tree without arch/: no architecture heads
  }
}

/**
 * The model as a set of edits leaves it: the Makefiles, Kbuild and Kconfig files in `texts` read
 * from there (undefined: the edit deletes it), the rest from the tree. Only the files edited are
 * read again (see updateModel).
 */
export function modelAfter(model: BuildModel, root: string, texts: ReadonlyMap<string, string | undefined>): BuildModel {
  const changed = [...texts.keys()].filter((p) => BUILD_FILE.test(p));
  if (changed.length === 0) return model;
  const input: ModelInput = {
    read: (path) => (texts.has(path) ? texts.get(path) : readMakefile(root, path)),
    exists: (path) => (texts.has(path) ? texts.get(path) !== undefined : isTreeFile(root, path)),
    arches: model.kconfig.arches.length ? model.kconfig.arches : archesOf(root),
  };
  return updateModel(model, input, changed);
}

function readStored(file: string, root: string, log?: (msg: string) => void): BuildModel | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  const got = decodeModel(buf, root);
  if ('error' in got) {
    log?.(`build model cache ${file} is ${got.stale ? got.error : `damaged (${got.error})`}; rebuilding it`);
    return undefined;
  }
  for (const [path, size, mtimeMs, ino] of got.files) {
    try {
      const st = lstatSync(join(root, path));
      if (st.size !== size || st.mtimeMs !== mtimeMs || st.ino !== ino) return undefined;
    } catch {
      return undefined;
    }
  }
  return got.model();
}

function writeStored(file: string, bytes: Uint8Array, log?: (msg: string) => void): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
    // the JSON file of format 4 and before, under its old name
    rmSync(file.replace(/\.model$/, '.json'), { force: true });
  } catch (e) {
    log?.(`could not write the build model cache ${file}: ${(e as Error).message}`);
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was left
    }
  }
}

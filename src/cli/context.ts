/** What every command starts from: the tree, its settings, its index. */
import { rmSync, statSync } from 'node:fs';
import { defaultCacheDir } from '../core/util/cacheDir';
import { readRegularFile } from '../core/util/regularFile';
import { join, relative, resolve } from 'node:path';
import { BuildAnswers } from '../core/build/answers';
import { openBuildModel, startBuildModel } from '../core/build/store';
import { openIndex } from '../core/engine';
import type { KernelIndex } from '../core/index/index';
import { findTreeRoot } from '../core/tree';
import { parseSettings, type Settings } from '../protocol/settings';
import { flag, flags, has, type ParsedArgs, UsageError } from './args';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
  stdin?: () => string;
  /**
   * Resolves once what `out` wrote has gone to the reader. A pipe takes 64 KiB at a time and the rest
   * waits in memory: a command with much to write awaits this between records, so its memory stays
   * that of one record, not of the whole output. False when the reader is gone (a closed pipe).
   */
  drained?: () => Promise<boolean>;
}

export interface Context {
  index: KernelIndex;
  settings: Settings;
  root: string;
  paths: string[];
  /** Where caches live; undefined with --no-cache. */
  cacheDir: string | undefined;
  /** The build model's answers, read (or taken from its cache) when first asked; undefined for a folder with no Kbuild and Kconfig. */
  build: () => BuildAnswers | undefined;
}

/**
 * Cache files still being written. A command answers from the index first; main() waits for these
 * before it returns, so the process (and a test calling main()) ends with the cache on disk.
 */
const cacheWrites: Promise<void>[] = [];

export async function cacheWritesSettled(): Promise<void> {
  while (cacheWrites.length) await cacheWrites.shift();
}

/** Every index this run opened, to ask at exit whether its mapped cache was cut short under it. */
const opened: KernelIndex[] = [];

/**
 * Says which mapped cache files another program cut short while this run read them, and removes
 * them so that the next run rebuilds them: true when there was one (the answers may miss uses).
 */
export function reportCutShortCaches(io: Io): boolean {
  let any = false;
  for (const index of opened.splice(0)) {
    const mapped = index.mappedCache;
    if (!mapped?.cutShort()) continue;
    any = true;
    let then: string;
    try {
      rmSync(mapped.file, { force: true });
      then = 'the cache is removed, and the next run rebuilds it';
    } catch (e) {
      then = `it could not be removed (${(e as Error).message}), and the next run finds it damaged and rebuilds it`;
    }
    io.err(`kexports: the cache ${mapped.file} was cut short by another program while this ran: what is above may miss uses; ${then}\n`);
  }
  return any;
}

export interface ContextNeeds {
  /** the command's positional arguments are paths in the tree */
  paths?: boolean;
  /** the command changes the index (a review applies its series), so the cache's bytes are taken before it may */
  changes?: boolean;
  /** every run of the command asks the build model: it is read alongside the index (in a worker thread when not cached) */
  model?: boolean;
}

export async function openContext(args: ParsedArgs, io: Io, needs: ContextNeeds = {}): Promise<Context> {
  const takesPaths = !!needs.paths;
  const changes = !!needs.changes;
  const treeArg = flag(args, '--tree');
  if (treeArg !== undefined) {
    const st = statSync(resolve(io.cwd, treeArg), { throwIfNoEntry: false });
    if (!st) throw new Error(`--tree ${treeArg}: no such directory`);
    if (!st.isDirectory()) throw new Error(`--tree ${treeArg}: not a directory`);
  }
  const workers = count(args, '--workers');
  const maxBytes = bytesFlag(args, '--max-file-bytes');
  const found = findTreeRoot(resolve(io.cwd, treeArg ?? '.'));
  if (!found.isKernelTree) {
    io.err(`kexports: ${found.root} does not look like a kernel tree (no Kbuild and MAINTAINERS); scanning it as a plain folder of C\n`);
  }
  const root = found.root;
  const settings = loadSettings(args, io, root);
  const cacheDir = has(args, '--no-cache') ? undefined : (flag(args, '--cache-dir') ?? defaultCacheDir());
  const log = (m: string): void => io.err(`kexports: ${m}\n`);
  // read while the index opens: on a cold start the model's worker and the scan share the machine
  const model = needs.model ? startBuildModel(root, { cacheDir, log }) : undefined;
  const index = await openIndex(root, {
    exclude: settings.exclude,
    cacheDir,
    // A cold build's answer need not wait for its cache file, nor, unless the command changes the
    // index, for the cache's bytes (README, Performance); main() waits for both.
    cacheWrite: changes ? 'background' : 'after',
    onCacheWriteStarted: (settled) => cacheWrites.push(settled),
    workers,
    maxFileBytes: maxBytes,
    log,
  });
  opened.push(index);
  const paths = takesPaths ? args.positionals.map((p) => toTreePath(root, io.cwd, p, !!treeArg)) : [];
  reportSkips(index, io);
  const started = model && (await model);
  let build: BuildAnswers | undefined | null = model ? started && new BuildAnswers(started, index) : null;
  const buildOf = (): BuildAnswers | undefined => {
    if (build === null) {
      const m = openBuildModel(root, { cacheDir, log });
      build = m && new BuildAnswers(m, index);
    }
    return build;
  };
  return { index, settings, root, paths, cacheDir, build: buildOf };
}

/** A whole number flag, such as --workers 3; anything else is a usage error, never ignored. */
function count(args: ParsedArgs, name: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`${name} ${v}: expected a whole number`);
  return Number(v);
}

/** A size flag: bytes, or with a K, M or G suffix (KiB, MiB, GiB), such as --max-file-bytes 64M. */
function bytesFlag(args: ParsedArgs, name: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  const m = /^(\d+)([KMG]?)$/i.exec(v);
  if (!m || Number(m[1]) === 0) throw new UsageError(`${name} ${v}: expected a size in bytes, such as 67108864 or 64M`);
  return Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase());
}

function toTreePath(root: string, cwd: string, p: string, treeGiven: boolean): string {
  // A path is taken relative to the tree when --tree is given and it does not exist from cwd.
  const fromCwd = resolve(cwd, p);
  const rel = relative(root, fromCwd);
  if (!rel.startsWith('..') && (!treeGiven || existsFile(fromCwd))) return rel.split('\\').join('/');
  return p.replace(/^\.\//, '').replace(/\/$/, '');
}

function existsFile(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false }) !== undefined;
}

/** A settings file is a few hundred bytes; one far larger is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

function loadSettings(args: ParsedArgs, io: Io, root: string): Settings {
  const configPath = flag(args, '--config') ?? join(root, '.kexports.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readRegularFile(resolve(io.cwd, configPath), { follow: true, maxBytes: MAX_CONFIG_BYTES }).toString('utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (e as Error).message.replace(`${resolve(io.cwd, configPath)}: `, '');
    if (code !== 'ENOENT' || flag(args, '--config')) io.err(`kexports: ${configPath}: ${why}; using the default settings\n`);
  }
  const { settings, warnings } = parseSettings(raw);
  for (const w of warnings) io.err(`${w}\n`);
  const policy = flags(args, '--policy');
  if (policy.length) settings.gplOnlyPaths = policy;
  settings.exclude.push(...flags(args, '--exclude'));
  if (has(args, '--no-tests')) settings.testsCountAsConsumers = false;
  return settings;
}

function reportSkips(index: KernelIndex, io: Io): void {
  const s = index.stats;
  if (s.skipped.length) {
    const byReason = new Map<string, number>();
    for (const k of s.skipped) byReason.set(k.reason, (byReason.get(k.reason) ?? 0) + 1);
    io.err(`kexports: skipped ${s.skipped.length} file${s.skipped.length === 1 ? '' : 's'} (${[...byReason].map(([r, n]) => `${n} ${r}`).join(', ')})\n`);
    for (const k of s.skipped.slice(0, 10)) io.err(`kexports:   ${k.path}: ${k.reason}: ${k.detail}\n`);
    if (s.skipped.length > 10) io.err(`kexports:   … and ${s.skipped.length - 10} more (--format json lists them all)\n`);
  }
}

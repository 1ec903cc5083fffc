/** The CLI's commands: argv in, text out, an exit code back. */
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { checkExports, type Finding, type Severity, severityRank } from '../core/findings';
import type { KernelIndex } from '../core/index';
import { openIndex } from '../core/engine';
import { findTreeRoot } from '../core/tree';
import { parseSettings, type Settings } from '../protocol/settings';
import { flag, flags, has, type ParsedArgs, UsageError } from './args';
import { consumersBlock, exportJson, exportLine, findingText, sarif } from './format';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
  stdin?: () => string;
}

export const VERSION = '0.1.0';

export const usage = `usage: kexports COMMAND [options]

  kexports exports   [--tree DIR] [PATH...]   every export under PATH (default: the whole tree)
  kexports consumers [--tree DIR] SYMBOL...   who uses it, and through which header inline or macro
                                              (SYMBOL - reads symbols from standard input)
  kexports check     [--tree DIR] [PATH...]   findings for the exports defined under PATH
  kexports lsp --stdio                        the language server, for any LSP editor

options:
  --tree DIR            the kernel tree (default: the nearest parent with Kbuild and MAINTAINERS)
  --format FMT          text or json; check also takes sarif
  --fail-on SEVERITY    check: exit 1 on a finding at or above error|warning|info|hint (default warning), or none
  --config FILE         settings file (default: .kexports.json in the tree, if present)
  --policy GLOB         a GPL-only path glob, instead of the configured ones (repeatable)
  --exclude GLOB        leave paths out of the index (repeatable)
  --no-tests            tests do not count as consumers
  --cache-dir DIR       where the index cache lives (default: $XDG_CACHE_HOME/kexports)
  --no-cache            neither read nor write the cache
  --workers N           scan threads (default: one per core)
`;

interface Context {
  index: KernelIndex;
  settings: Settings;
  root: string;
  paths: string[];
}

async function context(args: ParsedArgs, io: Io, takesPaths: boolean): Promise<Context> {
  const treeArg = flag(args, '--tree');
  const found = findTreeRoot(resolve(io.cwd, treeArg ?? '.'));
  if (!found.isKernelTree) {
    io.err(`kexports: ${found.root} does not look like a kernel tree (no Kbuild and MAINTAINERS); scanning it as a plain folder of C\n`);
  }
  const root = found.root;
  const settings = loadSettings(args, io, root);
  const workers = flag(args, '--workers');
  const maxBytes = flag(args, '--max-file-bytes');
  const index = await openIndex(root, {
    exclude: settings.exclude,
    cacheDir: has(args, '--no-cache') ? undefined : (flag(args, '--cache-dir') ?? defaultCacheDir()),
    workers: workers === undefined ? undefined : Number(workers),
    maxFileBytes: maxBytes === undefined ? undefined : Number(maxBytes),
    log: (s) => io.err(`kexports: ${s}\n`),
  });
  const paths = takesPaths ? args.positionals.map((p) => toTreePath(root, io.cwd, p, !!treeArg)) : [];
  reportSkips(index, io);
  return { index, settings, root, paths };
}

function toTreePath(root: string, cwd: string, p: string, treeGiven: boolean): string {
  // A path is taken relative to the tree when --tree is given and it does not exist from cwd.
  const fromCwd = resolve(cwd, p);
  const rel = relative(root, fromCwd);
  if (!rel.startsWith('..') && (!treeGiven || existsFile(fromCwd))) return rel.split('\\').join('/');
  return p.replace(/^\.\//, '').replace(/\/$/, '');
}

function existsFile(p: string): boolean {
  try {
    readFileSync(p, { flag: 'r' });
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EISDIR';
  }
}

function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(process.env.HOME ?? '/tmp', '.cache');
  return join(base, 'kexports');
}

function loadSettings(args: ParsedArgs, io: Io, root: string): Settings {
  const configPath = flag(args, '--config') ?? join(root, '.kexports.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(resolve(io.cwd, configPath), 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || flag(args, '--config')) io.err(`kexports: ${configPath}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}; using the default settings\n`);
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
  if (index.unresolved.length) io.err(`kexports: ${index.unresolved.length} export call${index.unresolved.length === 1 ? '' : 's'} could not be resolved (see UNRESOLVED_EXPORT in check)\n`);
}

function format(args: ParsedArgs, allowed: readonly string[]): string {
  const f = flag(args, '--format') ?? 'text';
  if (!allowed.includes(f)) throw new UsageError(`--format ${f}: expected ${allowed.join(', ')}`);
  return f;
}

export async function runExports(args: ParsedArgs, io: Io): Promise<number> {
  const fmt = format(args, ['text', 'json']);
  const { index, paths } = await context(args, io, true);
  const list = index.exportsUnder(paths);
  if (fmt === 'json') {
    io.out(`${JSON.stringify({ tree: index.root, exports: list.map(exportJson), unresolved: index.unresolved, skipped: index.stats.skipped }, null, 1)}\n`);
  } else {
    for (const e of list) io.out(`${exportLine(e)}\n`);
    io.err(`kexports: ${list.length} export${list.length === 1 ? '' : 's'}\n`);
  }
  return 0;
}

export async function runConsumers(args: ParsedArgs, io: Io): Promise<number> {
  const fmt = format(args, ['text', 'json']);
  let symbols = args.positionals;
  if (symbols.includes('-')) {
    const extra = (io.stdin?.() ?? '').split(/\s+/).filter(Boolean);
    symbols = [...symbols.filter((s) => s !== '-'), ...extra];
  }
  if (symbols.length === 0) throw new UsageError('consumers needs at least one SYMBOL');
  const { index } = await context(args, io, false);
  let missing = 0;
  const json: Record<string, unknown>[] = [];
  for (const sym of symbols) {
    const exps = index.exportsNamed(sym);
    if (exps.length === 0) {
      missing++;
      if (fmt === 'json') json.push({ symbol: sym, exported: false });
      else io.out(`${sym}: not exported in this tree\n`);
      continue;
    }
    for (const e of exps) {
      const list = index.consumers(e);
      if (fmt === 'json') json.push({ symbol: sym, exported: true, export: exportJson(e), consumers: list });
      else io.out(`${consumersBlock(e, list)}\n`);
    }
  }
  if (fmt === 'json') io.out(`${JSON.stringify(json, null, 1)}\n`);
  return missing === symbols.length ? 1 : 0;
}

export async function runCheck(args: ParsedArgs, io: Io): Promise<number> {
  const fmt = format(args, ['text', 'json', 'sarif']);
  const failOn = (flag(args, '--fail-on') ?? 'warning') as Severity | 'none';
  if (failOn !== 'none' && !(failOn in severityRank)) throw new UsageError(`--fail-on ${failOn}: expected error, warning, info, hint or none`);
  const { index, settings, paths } = await context(args, io, true);
  const exports = index.exportsUnder(paths);
  const findings = checkExports(index, exports, {
    gplOnlyPaths: settings.gplOnlyPaths,
    severity: settings.severity,
    testsCountAsConsumers: settings.testsCountAsConsumers,
  });
  if (fmt === 'json') {
    io.out(`${JSON.stringify({ tree: index.root, exports: exports.length, findings }, null, 1)}\n`);
  } else if (fmt === 'sarif') {
    io.out(`${JSON.stringify(sarif(findings, VERSION), null, 1)}\n`);
  } else {
    for (const f of findings) io.out(`${findingText(index, f)}\n`);
    if (paths.length) {
      io.out(`Consumers of the ${exports.length} export${exports.length === 1 ? '' : 's'} checked:\n`);
      for (const e of exports) io.out(`${consumersBlock(e, index.consumers(e))}\n`);
      io.out('\n');
    }
    io.out(`${summary(findings, exports.length)}\n`);
  }
  const threshold = failOn === 'none' ? Infinity : severityRank[failOn];
  return findings.some((f) => severityRank[f.severity] >= threshold) ? 1 : 0;
}

function summary(findings: readonly Finding[], exports: number): string {
  const n = (s: Finding['severity']): number => findings.filter((f) => f.severity === s).length;
  return `total: ${n('error')} errors, ${n('warning')} warnings, ${n('info')} infos, ${exports} exports checked`;
}

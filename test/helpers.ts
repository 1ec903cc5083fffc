/** Shared test helpers: temporary trees written from a {path: text} map, the built CLI. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '..');
export const sampleTree = join(repoRoot, 'test/fixtures/hmm-tree');
export const cliPath = join(repoRoot, 'dist/cli.js');
export const workerPath = join(repoRoot, 'dist/scanWorker.js');

export function tempDir(prefix = 'kexports-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A fresh copy of the sample tree, for tests that change it. */
export function copySampleTree(): string {
  const root = tempDir();
  cpSync(sampleTree, root, { recursive: true });
  return root;
}

/** Writes a tree; a Buffer value is written as bytes. Adds Kbuild and MAINTAINERS unless `plain`. */
export function writeTree(files: Record<string, string | Buffer>, plain = false): string {
  const root = tempDir();
  const all: Record<string, string | Buffer> = plain ? files : { Kbuild: 'obj-y += x/\n', MAINTAINERS: 'made up\n', ...files };
  for (const [path, text] of Object.entries(all)) {
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  }
  return root;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    input: opts.input,
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: tempDir('kexports-cache-'), ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A file compiled twice, the second time by including itself with other macros, as kernel/locking/qspinlock.c is. */
export const selfIncludingQspin = [
  '#ifndef _GEN_PV',
  '#define queued_spin_lock_slowpath native_queued_spin_lock_slowpath',
  '#endif',
  'void queued_spin_lock_slowpath(void) { }',
  'EXPORT_SYMBOL(queued_spin_lock_slowpath);',
  '#if !defined(_GEN_PV)',
  '#define _GEN_PV',
  '#undef queued_spin_lock_slowpath',
  '#define queued_spin_lock_slowpath __pv_queued_spin_lock_slowpath',
  '#include "qspin.c"',
  '#endif',
  '',
].join('\n');

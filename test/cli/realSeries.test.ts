/**
 * Review of the real upstream series in ../shared/real-series over Debian's linux-6.1, when both are
 * on this machine (../shared/tools/get-kernel.sh 6.1 unpacks the tree): no crash, every mail read, and
 * a patch applied exactly where `git apply` applies it, patch by patch, on a repository of the files
 * the series touches.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot, runCli, tempDir } from '../helpers';

const seriesDir = join(repoRoot, '../shared/real-series');
const tree = join(process.env.KERNEL_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache'), 'kernel-trees'), 'linux-6.1');
const missing = !existsSync(seriesDir) ? `no ${seriesDir}` : !existsSync(join(tree, 'MAINTAINERS')) ? `no linux-6.1 tree at ${tree} (../shared/tools/get-kernel.sh 6.1 unpacks it)` : undefined;
if (missing) console.log(`# real-series review skipped: ${missing}`);

/** For each mail of an mbox in order: whether git apply takes it, after the ones before it that it took. */
function gitApplies(mbox: string): boolean[] {
  const work = tempDir('kexports-real-');
  const msgs = join(work, 'msgs');
  const repo = join(work, 'tree');
  mkdirSync(msgs);
  mkdirSync(repo);
  execFileSync('git', ['mailsplit', `-o${msgs}`, mbox], { stdio: 'ignore' });
  const mails = readdirSync(msgs).sort();
  const paths = new Set<string>();
  for (const m of mails) {
    for (const l of readFileSync(join(msgs, m), 'latin1').split('\n')) {
      const name = /^(?:--- a\/|\+\+\+ b\/)(\S+)/.exec(l)?.[1];
      if (name) paths.add(name);
    }
  }
  for (const p of paths) {
    if (!existsSync(join(tree, p))) continue;
    mkdirSync(dirname(join(repo, p)), { recursive: true });
    cpSync(join(tree, p), join(repo, p));
  }
  const git = (...args: string[]): void => void execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: repo, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '--allow-empty', '-m', 'base');
  return mails.map((m) => {
    try {
      git('apply', '--check', join(msgs, m));
    } catch {
      return false;
    }
    git('apply', join(msgs, m));
    return true;
  });
}

describe('kexports review of real series over linux-6.1', { skip: missing ?? false }, () => {
  const cacheDir = tempDir('kexports-real-cache-');
  for (const name of missing
    ? []
    : readdirSync(seriesDir)
        .filter((f) => f.endsWith('.mbox'))
        .sort()) {
    it(name, () => {
      const mbox = join(seriesDir, name);
      const r = runCli(['review', '--tree', tree, '--cache-dir', cacheDir, '--format', 'json', mbox]);
      assert.ok(r.code === 0 || r.code === 1, `${name}: exit ${r.code}: ${r.stderr}`);
      const review = JSON.parse(r.stdout) as { patches: { index: number }[]; findings: { code: string; patch: number }[] };
      const applies = gitApplies(mbox);
      assert.equal(review.patches.length, applies.length, `${name}: every mail is a patch`);
      const refused = new Set(review.findings.filter((f) => f.code === 'PATCH_DOES_NOT_APPLY').map((f) => f.patch));
      assert.deepEqual(
        review.patches.map((p) => !refused.has(p.index)),
        applies,
        `${name}: applied where git apply applies`,
      );
    });
  }
});

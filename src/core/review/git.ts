/**
 * A series from a git range, through simple-git: `git format-patch --stdout` gives the same mail the
 * list would see, so git ranges and mbox files take one path. The base tree's texts come from
 * `git show BASE:path`, for the files the series touches only.
 */
import { simpleGit, type SimpleGit } from 'simple-git';
import { GitError, runGit as run } from '../gitRun';

export interface GitSeries {
  mbox: string;
  range: string;
  base: string;
  baseText: Map<string, string | undefined>;
}

/** Resolves `A..B`, `A...B`, `A..`, `REV` or nothing (the branch against its upstream) to base..tip. */
export async function resolveRange(git: SimpleGit, range: string | undefined): Promise<{ base: string; tip: string; label: string }> {
  if (!range) {
    const upstream = (await run(git, ['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{upstream}']).catch(() => '')).trim();
    if (!upstream) throw new GitError('the current branch has no upstream: name a range, such as origin/master..HEAD or HEAD~15..');
    const base = (await run(git, ['merge-base', 'HEAD', upstream])).trim();
    return { base, tip: 'HEAD', label: `${upstream}...HEAD` };
  }
  const three = /^(.*?)\.\.\.(.*)$/.exec(range);
  if (three) {
    const tip = three[2] || 'HEAD';
    return { base: (await run(git, ['merge-base', three[1] || 'HEAD', tip])).trim(), tip, label: range };
  }
  const two = /^(.*?)\.\.(.*)$/.exec(range);
  if (two) return { base: (await run(git, ['rev-parse', '--verify', `${two[1] || 'HEAD'}^{commit}`])).trim(), tip: two[2] || 'HEAD', label: range };
  return { base: (await run(git, ['rev-parse', '--verify', `${range}^{commit}`])).trim(), tip: 'HEAD', label: `${range}..HEAD` };
}

export async function seriesFromGit(repo: string, range: string | undefined, pathsOf: (mbox: string) => Promise<string[]>): Promise<GitSeries> {
  const git = simpleGit(repo);
  const { base, tip, label } = await resolveRange(git, range);
  const mbox = await run(git, ['format-patch', '--stdout', '--no-signature', '--no-stat', `${base}..${tip}`]);
  if (!mbox.trim()) throw new GitError(`${label} holds no commits`);
  const baseText = new Map<string, string | undefined>();
  for (const path of await pathsOf(mbox)) {
    const text = await git.raw(['show', `${base}:${path}`]).catch(() => undefined);
    baseText.set(path, text);
  }
  return { mbox, range: label, base, baseText };
}

/** The uncommitted work against HEAD, as one patch. */
export async function workingTreeDiff(repo: string): Promise<{ diff: string; baseText: Map<string, string | undefined>; paths: string[] }> {
  const git = simpleGit(repo);
  const diff = await run(git, ['diff', 'HEAD']);
  const paths = [...diff.matchAll(/^diff --git a\/(\S+) b\/(\S+)$/gm)].flatMap((m) => [m[1]!, m[2]!]);
  const baseText = new Map<string, string | undefined>();
  for (const p of new Set(paths)) baseText.set(p, await git.raw(['show', `HEAD:${p}`]).catch(() => undefined));
  return { diff, baseText, paths };
}

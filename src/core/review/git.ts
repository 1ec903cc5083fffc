/**
 * A series from a git range, through simple-git: `git format-patch --stdout` gives the same mail the
 * list would see, so git ranges and mbox files take one path. The base tree's texts come from
 * `git cat-file blob BASE:path`, for the files the series touches only.
 *
 * The user's git settings must not change what is read: diff.noprefix, diff.context=0, color.ui=always,
 * diff.external or format.subjectPrefix in ~/.gitconfig gave false findings, or none. Every git run here
 * has fixed options and `-c` overrides, and `--end-of-options` before a ref the user typed.
 */
import { simpleGit, type SimpleGit } from 'simple-git';
import { FIXED_CONFIG, GitError, runGit as run } from '../util/gitRun';
import { byteString, parseDiff } from './diff';

/** Diff options that no setting can override. */
const FIXED_DIFF = ['--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/', '--unified=3', '--no-relative', '-O/dev/null'];

/** A file's text at a revision, a byte a character as the review compares it; undefined where it does not exist. */
async function blob(git: SimpleGit, rev: string, path: string): Promise<string | undefined> {
  const text = await git.raw(['cat-file', 'blob', `${rev}:${path}`]).catch(() => undefined);
  return text === undefined ? undefined : byteString(text);
}

export function reviewGit(repo: string): SimpleGit {
  return simpleGit({ baseDir: repo, config: FIXED_CONFIG });
}

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
    return { base: (await run(git, ['merge-base', '--end-of-options', three[1] || 'HEAD', tip])).trim(), tip, label: range };
  }
  const two = /^(.*?)\.\.(.*)$/.exec(range);
  if (two) return { base: (await run(git, ['rev-parse', '--verify', '--end-of-options', `${two[1] || 'HEAD'}^{commit}`])).trim(), tip: two[2] || 'HEAD', label: range };
  return { base: (await run(git, ['rev-parse', '--verify', '--end-of-options', `${range}^{commit}`])).trim(), tip: 'HEAD', label: `${range}..HEAD` };
}

export async function seriesFromGit(repo: string, range: string | undefined, pathsOf: (mbox: string) => Promise<string[]>): Promise<GitSeries> {
  const git = reviewGit(repo);
  const { base, tip, label } = await resolveRange(git, range);
  // the tip is checked as a commit first: it goes into a range argument, after --end-of-options
  const tipId = (await run(git, ['rev-parse', '--verify', '--end-of-options', `${tip}^{commit}`])).trim();
  const mbox = await run(git, [
    'format-patch',
    '--stdout',
    '--no-signature',
    '--no-stat',
    ...FIXED_DIFF,
    '--subject-prefix=PATCH',
    '--numbered',
    '--no-attach',
    '--no-thread',
    '--no-cover-letter',
    '--no-notes',
    '--end-of-options',
    `${base}..${tipId}`,
  ]);
  if (!mbox.trim()) throw new GitError(`${label} holds no commits`);
  const baseText = new Map<string, string | undefined>();
  for (const path of await pathsOf(mbox)) {
    baseText.set(path, await blob(git, base, path));
  }
  return { mbox, range: label, base, baseText };
}

/** The uncommitted work against HEAD, as one patch. */
export async function workingTreeDiff(repo: string): Promise<{ diff: string; baseText: Map<string, string | undefined>; paths: string[] }> {
  const git = reviewGit(repo);
  const diff = await run(git, ['diff', ...FIXED_DIFF, '--end-of-options', 'HEAD']);
  const paths = parseDiff(diff)
    .files.flatMap((f) => (f.error ? [] : [f.oldPath, f.newPath]))
    .filter((p) => p !== '/dev/null');
  const baseText = new Map<string, string | undefined>();
  for (const p of new Set(paths)) baseText.set(p, await blob(git, 'HEAD', p));
  return { diff, baseText, paths };
}

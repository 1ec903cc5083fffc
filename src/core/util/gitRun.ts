/**
 * Running one git command through simple-git, for review and export history alike: every failure
 * becomes a GitError that names the command, and says so plainly when git is missing or the tree is
 * not in a repository.
 */
import type { SimpleGit } from 'simple-git';

export class GitError extends Error {}

/**
 * Settings in a user's ~/.gitconfig that change the text of a diff or a mail, set back to git's
 * defaults with -c for every git that review and export history run.
 */
export const FIXED_CONFIG = [
  'color.ui=never',
  'diff.noprefix=false',
  'diff.mnemonicPrefix=false',
  'diff.suppressBlankEmpty=false',
  'diff.context=3',
  'diff.interHunkContext=0',
  'diff.relative=false',
  'core.quotePath=true',
  'format.headers=',
  'format.signature=',
];

export async function runGit(git: SimpleGit, args: string[]): Promise<string> {
  try {
    return await git.raw(args);
  } catch (e) {
    throw gitError(args, e);
  }
}

function gitError(args: readonly string[], e: unknown): GitError {
  const raw = (e as Error).message ?? String(e);
  // Pathspecs can run to hundreds of files: the command is named by its first words.
  const cmd = `git ${args
    .filter((a) => !a.startsWith('--format=') && a !== '--end-of-options')
    .slice(0, 6)
    .join(' ')}${args.length > 6 ? ' …' : ''}`;
  if (/ENOENT/.test(raw) && /spawn/.test(raw)) return new GitError(`${cmd} failed: git is not installed or not on PATH`);
  if (/not a git repository/i.test(raw)) return new GitError(`${cmd} failed: the tree is not in a git repository`);
  return new GitError(`${cmd} failed: ${raw.trim().split('\n').slice(0, 3).join(' ')}`);
}

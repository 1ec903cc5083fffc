/**
 * The git questions export history asks, through one simple-git instance per tree, which caps the
 * number of git processes running at once. Every failure becomes a GitError naming the command.
 */
import { simpleGit, type SimpleGit } from 'simple-git';
import { FIXED_CONFIG, runGit } from '../util/gitRun';
import { type KernelVersion, parseTag } from './versions';
import { readRegularFile } from '../util/regularFile';

/** A commit changing more files than this is not searched for exports moved between files. */
export const MAX_MOVE_FILES = 300;

/** Git processes at once, per tree: enough to overlap, few enough to leave the editor its cores. */
export const MAX_GIT_PROCESSES = 3;

export interface LogCommit {
  hash: string;
  parents: string[];
  authorDate: string;
  /** Committer time, Unix seconds. */
  time: number;
  subject: string;
}

export interface PatchCommit extends LogCommit {
  /** The file's path in this commit (before a later rename). */
  path: string;
  added: string[];
  removed: string[];
}

const FIELDS = '%H%x1f%P%x1f%aI%x1f%ct%x1f%s';

function parseHeader(line: string): LogCommit {
  const [hash = '', parents = '', authorDate = '', time = '0', subject = ''] = line.split('\x1f');
  return { hash, parents: parents ? parents.split(' ') : [], authorDate, time: Number(time), subject };
}

export class HistoryGit {
  private readonly git: SimpleGit;

  constructor(readonly root: string) {
    this.git = simpleGit({ baseDir: root, maxConcurrentProcesses: MAX_GIT_PROCESSES, trimmed: false, config: FIXED_CONFIG });
  }

  run(args: string[]): Promise<string> {
    return runGit(this.git, args);
  }

  async head(): Promise<string> {
    return (await this.run(['rev-parse', '--verify', 'HEAD^{commit}'])).trim();
  }

  /** A commit's committer time, Unix seconds. */
  async commitTime(rev: string): Promise<number> {
    return Number((await this.run(['show', '-s', '--format=%ct', rev])).trim());
  }

  /** The boundary commits of a shallow clone: their parents are missing. */
  async shallowBoundary(): Promise<Set<string>> {
    if ((await this.run(['rev-parse', '--is-shallow-repository'])).trim() !== 'true') return new Set();
    const file = (await this.run(['rev-parse', '--path-format=absolute', '--git-path', 'shallow'])).trim();
    try {
      return new Set(
        readRegularFile(file, { follow: true, maxBytes: 64 * 1024 * 1024 })
          .toString('utf8')
          .split('\n')
          .filter(Boolean),
      );
    } catch {
      return new Set(['?']);
    }
  }

  /** Mainline kernel tags, optionally only those containing or merged into a commit. */
  async tags(filter?: { contains: string } | { merged: string }): Promise<KernelVersion[]> {
    const args = ['tag', '--list', 'v*'];
    if (filter && 'contains' in filter) args.push('--contains', filter.contains);
    if (filter && 'merged' in filter) args.push('--merged', filter.merged);
    const out = await this.run(args);
    return out
      .split('\n')
      .map((t) => parseTag(t.trim()))
      .filter((v): v is KernelVersion => v !== undefined);
  }

  /** Every commit that changed the file, following renames, newest first, with its changed lines; up to `until` when given. */
  async fileLog(path: string, until?: string): Promise<PatchCommit[]> {
    const out = await this.run(['log', '--follow', '-M', '-p', '-U0', '--no-color', '--no-ext-diff', '--no-textconv', '--relative', `--format=%x1e${FIELDS}`, ...(until ? [until] : []), '--', path]);
    const commits: PatchCommit[] = [];
    for (const rec of out.split('\x1e')) {
      if (!rec) continue;
      const nl = rec.indexOf('\n');
      const c: PatchCommit = { ...parseHeader(nl < 0 ? rec : rec.slice(0, nl)), path, added: [], removed: [] };
      if (nl >= 0) {
        for (const line of rec.slice(nl + 1).split('\n')) {
          if (line.startsWith('+++ ')) {
            if (line.startsWith('+++ b/')) c.path = line.slice(6);
          } else if (line.startsWith('--- ')) continue;
          else if (line.startsWith('+')) c.added.push(line.slice(1));
          else if (line.startsWith('-')) c.removed.push(line.slice(1));
        }
      }
      commits.push(c);
    }
    return commits;
  }

  /**
   * Commits whose diff adds or removes a line naming any of `names` (as a word) in the paths, with
   * the paths each changed; newest first. `-G`, not `-S`: a comment turned into a call keeps the
   * count the same. Paths go in chunks: argv has a limit and popular exports have
   * thousands of users.
   */
  async pickaxe(names: readonly string[], paths: readonly string[]): Promise<{ commit: LogCommit; files: string[] }[]> {
    const re = `(^|[^A-Za-z0-9_])(${names.join('|')})([^A-Za-z0-9_]|$)`;
    const out: { commit: LogCommit; files: string[] }[] = [];
    const CHUNK = 200;
    const chunks: string[][] = [];
    for (let k = 0; k < paths.length; k += CHUNK) chunks.push(paths.slice(k, k + CHUNK) as string[]);
    const texts = await Promise.all(chunks.map((chunk) => this.run(['log', '--no-color', '--no-ext-diff', '--relative', `-G${re}`, '--name-only', `--format=%x1e${FIELDS}`, '--', ...chunk])));
    for (const text of texts) {
      for (const rec of text.split('\x1e')) {
        if (!rec) continue;
        const lines = rec.split('\n');
        out.push({ commit: parseHeader(lines[0]!), files: lines.slice(1).filter(Boolean) });
      }
    }
    return out;
  }

  /**
   * The lines one commit removed that name one of `names`, per file (paths as before the commit).
   * A commit that changes more than MAX_MOVE_FILES files (a release import, a tree-wide rename) is not
   * read: it would take minutes, and a move of exports between files is a small commit.
   */
  async removedLines(commit: string, names: readonly string[]): Promise<Map<string, string[]>> {
    const files = new Map<string, string[]>();
    const changed = (await this.run(['diff-tree', '-r', '--no-commit-id', '--name-only', commit])).split('\n').filter(Boolean).length;
    if (changed > MAX_MOVE_FILES || names.length === 0) return files;
    const re = `(^|[^A-Za-z0-9_])(${names.join('|')})([^A-Za-z0-9_]|$)`;
    const out = await this.run(['show', '-M', '-U0', '--no-color', '--no-ext-diff', '--no-textconv', '--relative', '--format=', `-G${re}`, commit]);
    let current: string[] | undefined;
    for (const line of out.split('\n')) {
      if (line.startsWith('--- ')) {
        current = undefined;
        if (line.startsWith('--- a/')) files.set(line.slice(6), (current = []));
      } else if (line.startsWith('+++ ')) continue;
      else if (current && line.startsWith('-')) current.push(line.slice(1));
    }
    return files;
  }

  /** A file's bytes at a commit; undefined when it does not exist there. */
  async show(commit: string, path: string): Promise<Buffer | undefined> {
    try {
      return await this.git.showBuffer([`${commit}:./${path}`]);
    } catch {
      return undefined;
    }
  }

  /** Whether `a` is an ancestor of `b` (or the same commit). */
  async isAncestor(a: string, b: string): Promise<boolean> {
    return (await this.run(['rev-list', '-n', '1', `${b}..${a}`])).trim() === '';
  }
}

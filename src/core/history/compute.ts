/**
 * Export history for one file: for each export, the commit that added its export line (through
 * renames), its license changes, and the first commit that added a use outside the file; each placed
 * in a release and merge window, with the linux-mm rule 2 verdict.
 *
 * Cost per file: one `git log --follow -p`, one `git log -G` per export over the files that use it
 * today, one `git tag --contains` per distinct commit, and a `git show` to confirm a use.
 */
import { exportMacros, isGplOnly } from '../exportMacros';
import { DEF_CTX } from '../scan/scanTypes';
import { scanBuffer, scratchScanner } from '../scan/scanFile';
import { type HistoryGit, type LogCommit, type PatchCommit } from './git';
import { estimatedLanding, type Landing, type Releases } from './versions';

/** What the caller knows about one export today, from the index. */
export interface ExportRef {
  name: string;
  macro: string;
  wrapper?: string;
  gplOnly: boolean;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  /** The names whose use consumes it (a tracepoint's trace_NAME and relatives). */
  consumerNames: string[];
  /** Files, other than its own, that use one of those names today, in a counted class. */
  consumerFiles: string[];
}

export interface CommitRef {
  hash: string;
  subject: string;
  authorDate: string;
  landing: Landing;
  /** The commit is a shallow clone's boundary: the real event may be older. */
  cut?: boolean;
}

export type Verdict = 'same-window' | 'next-window' | 'late' | 'never' | 'before-export' | 'uncommitted' | 'unknown';

export interface ExportHistory {
  symbol: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  macro: string;
  /** The commit that added the export line; undefined when no commit has (uncommitted work). */
  exported?: CommitRef & { path: string };
  /** Moves of the export line from another file (not git renames: a split, say), oldest first. */
  moves: (CommitRef & { from: string; to: string })[];
  firstConsumer?: CommitRef & { file: string };
  /** Merge windows from the export to the first consumer. */
  gap?: number;
  verdict: Verdict;
  /** Set when the export has more users than were searched: the first consumer is among these. */
  searched?: { files: number; of: number };
  licenseChanges: (CommitRef & { from: string; to: string })[];
}

export interface FileHistory {
  path: string;
  head: string;
  /** The newest release tag merged into HEAD and its window ordinal: what has closed. */
  closed?: { tag: string; ordinal: number };
  /** HEAD's own landing: the window being worked on. */
  current?: Landing;
  tagged: boolean;
  shallow: boolean;
  /** What limits the answers: no tags, a shallow clone. */
  notes: string[];
  exports: ExportHistory[];
}

interface Span {
  added: PatchCommit;
  macro: string;
  changes: { commit: PatchCommit; from: string; to: string }[];
}

const CALL = /\b([A-Z_][A-Z0-9_]*)\s*\(\s*([A-Za-z_]\w*)\s*[,)]/g;

/** How many moves between files an export is followed through. */
const MAX_MOVES = 4;

/** Export calls in lines of a diff: symbol → macros. Known macros, and the file's wrappers. */
function exportCalls(lines: readonly string[], macros: ReadonlySet<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of lines) {
    if (!line.includes('(')) continue;
    for (const m of line.matchAll(CALL)) {
      if (!macros.has(m[1]!)) continue;
      const list = out.get(m[2]!);
      if (list) list.push(m[1]!);
      else out.set(m[2]!, [m[1]!]);
    }
  }
  return out;
}

/** Replays the file's log oldest first: each symbol's current span of being exported. */
export function exportSpans(log: readonly PatchCommit[], macros: ReadonlySet<string>): Map<string, Span> {
  const spans = new Map<string, Span>();
  for (let k = log.length - 1; k >= 0; k--) {
    const c = log[k]!;
    const added = exportCalls(c.added, macros);
    const removed = exportCalls(c.removed, macros);
    for (const [sym, gone] of removed) {
      if (!added.has(sym) && spans.has(sym) && gone.length) spans.delete(sym);
    }
    for (const [sym, macrosAdded] of added) {
      const span = spans.get(sym);
      const macro = macrosAdded[macrosAdded.length - 1]!;
      if (!span) spans.set(sym, { added: c, macro, changes: [] });
      else if (span.macro !== macro) {
        span.changes.push({ commit: c, from: span.macro, to: macro });
        span.macro = macro;
      }
    }
  }
  return spans;
}

function gplOnly(macro: string, wrappers: ReadonlyMap<string, boolean>): boolean | undefined {
  const m = exportMacros.get(macro);
  return m ? isGplOnly(m.type) : wrappers.get(macro);
}

export interface ComputeOptions {
  git: HistoryGit;
  releases: Releases;
  head: string;
  shallow: ReadonlySet<string>;
  /** Landing cache by commit: tags rarely change while an editor is open. */
  landings: Map<string, Landing>;
  /** Wrapper macros of this file's exports: whether each is GPL-only. */
  wrappers: ReadonlyMap<string, boolean>;
}

export async function computeFileHistory(path: string, exports: readonly ExportRef[], o: ComputeOptions): Promise<FileHistory> {
  const { git, releases } = o;
  const tagged = releases.newest !== undefined;
  const notes: string[] = [];
  if (!tagged) notes.push('no release tags (vX.Y, vX.Y-rcN) in this repository: merge windows are estimated from commit dates, nine weeks each');
  if (o.shallow.size) notes.push('shallow clone: history is cut at the oldest fetched commits, so an export or consumer shown there may be older');

  const landingOf = async (c: LogCommit): Promise<Landing> => {
    const known = o.landings.get(c.hash);
    if (known) return known;
    const l = tagged ? (releases.landing(await git.tags({ contains: c.hash })) ?? estimatedLanding(c.time)) : estimatedLanding(c.time);
    o.landings.set(c.hash, l);
    return l;
  };
  const ref = async (c: LogCommit): Promise<CommitRef> => {
    const r: CommitRef = { hash: c.hash, subject: c.subject, authorDate: c.authorDate, landing: await landingOf(c) };
    if (o.shallow.has(c.hash)) r.cut = true;
    return r;
  };

  const macros = new Set<string>([...exportMacros.keys(), ...o.wrappers.keys()]);
  const log = exports.length ? await git.fileLog(path) : [];
  const spans = exportSpans(log, macros);
  // A commit that adds an export line may have taken it from another file: one `git show -G` each,
  // for the names of all of this file's exports at once.
  const removals = new Map<string, Promise<Map<string, string[]>>>();
  const removedBy = (hash: string): Promise<Map<string, string[]>> => {
    let p = removals.get(hash);
    if (!p)
      removals.set(
        hash,
        (p = git.removedLines(
          hash,
          exports.map((e) => e.name),
        )),
      );
    return p;
  };
  const logs = new Map<string, Promise<Map<string, Span>>>();
  const spansOf = (file: string, until: string): Promise<Map<string, Span>> => {
    const k = `${file}\0${until}`;
    let p = logs.get(k);
    if (!p) logs.set(k, (p = git.fileLog(file, until).then((l) => exportSpans(l, macros))));
    return p;
  };
  /** Follows an export line back through moves from other files: the span where it began, and the moves. */
  const origin = async (symbol: string, span: Span): Promise<{ span: Span; moves: { commit: PatchCommit; from: string; to: string }[] }> => {
    const moves: { commit: PatchCommit; from: string; to: string }[] = [];
    let at = span;
    for (let depth = 0; depth < MAX_MOVES && at.added.parents.length && !o.shallow.has(at.added.hash); depth++) {
      const removed = await removedBy(at.added.hash);
      const from = [...removed].find(([file, lines]) => file !== at.added.path && exportCalls(lines, macros).has(symbol))?.[0];
      if (!from) break;
      const before = (await spansOf(from, `${at.added.hash}^`)).get(symbol);
      if (!before) break;
      moves.unshift({ commit: at.added, from, to: at.added.path });
      // The license history continues across the move, which may itself change the macro.
      const moved = at.changes[0]?.from ?? at.macro;
      at = { added: before.added, macro: at.macro, changes: [...before.changes, ...(before.macro !== moved ? [{ commit: at.added, from: before.macro, to: moved }] : []), ...at.changes] };
    }
    return { span: at, moves };
  };

  // HEAD's time matters only without tags, where windows are estimated from dates.
  const headTime = tagged ? 0 : await git.commitTime(o.head);
  const [closedTags, current] = await Promise.all([tagged ? git.tags({ merged: o.head }) : Promise.resolve([]), landingOf({ hash: o.head, parents: [], authorDate: '', time: headTime, subject: '' })]);
  const newestClosed = releases.tags.filter((t) => closedTags.some((c) => c.tag === t.tag)).at(-1);

  const out = await Promise.all(
    exports.map(async (e): Promise<ExportHistory> => {
      const h: ExportHistory = { symbol: e.name, line: e.line, col: e.col, endLine: e.endLine, endCol: e.endCol, macro: e.macro, verdict: 'uncommitted', licenseChanges: [], moves: [] };
      const here = spans.get(e.name);
      if (!here) return h;
      const { span, moves } = await origin(e.name, here);
      h.exported = { ...(await ref(span.added)), path: span.added.path };
      for (const m of moves) h.moves.push({ ...(await ref(m.commit)), from: m.from, to: m.to });
      for (const ch of span.changes) {
        if (gplOnly(ch.from, o.wrappers) !== gplOnly(ch.to, o.wrappers)) h.licenseChanges.push({ ...(await ref(ch.commit)), from: ch.from, to: ch.to });
      }
      const users = e.consumerFiles.filter((f) => f !== path);
      if (users.length > MAX_SEARCHED_FILES) h.searched = { files: MAX_SEARCHED_FILES, of: users.length };
      const first = await firstConsumer(git, e.consumerNames, users.slice(0, MAX_SEARCHED_FILES));
      if (!first) {
        h.verdict = 'never';
        return h;
      }
      h.firstConsumer = { ...(await ref(first.commit)), file: first.file };
      const exported = h.exported.landing.ordinal;
      const consumed = h.firstConsumer.landing.ordinal;
      const before = consumed < exported || (Math.floor(consumed) === Math.floor(exported) && first.commit.hash !== span.added.hash && (await git.isAncestor(first.commit.hash, span.added.hash)));
      if (h.exported.cut && h.firstConsumer.cut) h.verdict = 'unknown';
      else if (before) h.verdict = 'before-export';
      else {
        h.gap = Math.floor(consumed - exported);
        h.verdict = h.gap === 0 ? 'same-window' : h.gap === 1 ? 'next-window' : 'late';
      }
      return h;
    }),
  );
  const history: FileHistory = { path, head: o.head, tagged, shallow: o.shallow.size > 0, notes, exports: out, current };
  if (newestClosed) history.closed = { tag: newestClosed.tag, ordinal: releases.ordinal(newestClosed) };
  return history;
}

/**
 * Files searched for an export's first consumer, at most. Each 200 cost one `git log -G` over the
 * whole history; an export with more users than this (printk has 33,000) is consumed beyond doubt,
 * and the answer says how many were searched.
 */
export const MAX_SEARCHED_FILES = 400;

/** Confirmations by `git show` per export, at most: a mention in a comment before the real use is rare. */
const MAX_CONFIRM = 8;

/**
 * The earliest commit that added a use of the export to a file that uses it today. `git log -G` finds
 * the commits whose diff names it; the oldest is confirmed by scanning the file at that commit, so a
 * mention in a comment or a prototype does not count. Past the confirmation budget, the next
 * candidate is taken as it is.
 */
async function firstConsumer(git: HistoryGit, names: readonly string[], files: readonly string[]): Promise<{ commit: LogCommit; file: string } | undefined> {
  if (files.length === 0) return undefined;
  const hits = await git.pickaxe(names, files);
  // One entry per commit (chunks of paths may each list it), files in path order.
  const byCommit = new Map<string, { commit: LogCommit; files: string[]; k: number }>();
  hits.forEach((h, k) => {
    const seen = byCommit.get(h.commit.hash);
    if (seen) seen.files.push(...h.files);
    else byCommit.set(h.commit.hash, { commit: h.commit, files: [...h.files], k });
  });
  const wanted = new Set(files);
  // Oldest first; git log lists newest first, so among equal times the later entry is older.
  const order = [...byCommit.values()].sort((a, b) => a.commit.time - b.commit.time || b.k - a.k);
  for (const o of order) o.files.sort();
  let confirms = 0;
  for (const h of order) {
    for (const file of h.files) {
      if (!wanted.has(file)) continue;
      if (confirms >= MAX_CONFIRM) return { commit: h.commit, file };
      confirms++;
      const buf = await git.show(h.commit.hash, file);
      if (buf && usesName(file, buf, names)) return { commit: h.commit, file };
    }
  }
  return undefined;
}

/** Whether the text uses one of the names, as the index counts uses: not in comments, strings or declarations. */
export function usesName(path: string, buf: Uint8Array, names: readonly string[]): boolean {
  const scanner = scratchScanner();
  const scan = scanBuffer(scanner, path, buf);
  const ids = new Set(names.map((n) => scanner.interner.find(n)).filter((id) => id >= 0));
  const u = scan.uses;
  for (let k = 0; k < u.length; k += 3) if (ids.has(u[k]!) && u[k + 2] !== DEF_CTX) return true;
  return false;
}

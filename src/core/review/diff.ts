/**
 * Unified diffs as git apply and patch -p1 read them: git's form (`diff --git`, renames, copies, new
 * and deleted files, binary stubs) and the plain form quilt and distribution patch sets write
 * (`--- a/F` / `+++ b/F`, `Index:` lines, timestamps after a tab). Parsing is jsdiff's; this file turns
 * its patches into per-file changes with line numbers, strips one leading path component as -p1 does,
 * and refuses paths that would leave the tree.
 *
 * A file whose hunks cannot be read keeps its place with an `error`, so that the patch can be refused
 * as a whole, naming the file, instead of being applied in part.
 */
import { parsePatch, type StructuredPatch } from 'diff';

export type Change =
  { type: 'insert'; content: string; lineNumber: number } | { type: 'delete'; content: string; lineNumber: number } | { type: 'normal'; content: string; oldLineNumber: number; newLineNumber: number };

export interface Hunk {
  /** The `@@ -a,b +c,d @@` line as written. */
  content: string;
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  changes: Change[];
}

export interface FileDiff {
  type: 'add' | 'delete' | 'modify' | 'rename' | 'copy';
  /** Tree paths, one leading component stripped; the absent side of an add or delete is `/dev/null`. */
  oldPath: string;
  newPath: string;
  hunks: Hunk[];
  isBinary: boolean;
  newEndingNewLine: boolean;
  /** Why this file's diff cannot be read; such a file is never applied. */
  error?: string;
}

export interface ParsedDiff {
  files: FileDiff[];
  /** The diff's form: git's, or the plain form (quilt, diff -u). */
  form: 'git' | 'plain';
}

const NULL = '/dev/null';

/**
 * Review compares a hunk with a file byte for byte, as git apply does, whatever either's encoding: the
 * tree's files are read a byte a character (latin1), and so is every diff, once its mail is decoded.
 * "Rafał" in a hunk's context then matches "Rafał" in the file.
 */
export function byteString(text: string): string {
  return /[^\u0000-\u007f]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/** A byte string's text again, for showing it: UTF-8 where it is, else as it is. */
export function textOfBytes(bytes: string): string {
  if (!/[\u0080-\u00ff]/.test(bytes)) return bytes;
  const buf = Buffer.from(bytes, 'latin1');
  const text = buf.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buf) ? text : bytes;
}

/** Where the diff starts in a mail body: a `diff --git` line, or a plain `---`/`+++` pair (after an optional `Index:`). */
export function diffStart(text: string): number {
  const git = /^diff --git /m.exec(text);
  const plain = /^(?:Index: [^\n]*\n=+\n|diff -[^\n]*\n)?--- [^\n]*\n\+\+\+ [^\n]*\n@@ -/m.exec(text);
  if (git && (!plain || git.index <= plain.index)) return git.index;
  // the `---` that ends a commit message stands alone on its line; a file header names a file
  return plain ? plain.index : -1;
}

/**
 * Cuts a mail's trailing signature (`-- ` and git's version) off a diff. The signature is the last
 * `-- ` line after which no hunk or file header follows, and something does, so a removed line reading
 * "- " inside a hunk is not taken for it.
 */
export function cutSignature(diff: string): string {
  let at = -1;
  for (const m of diff.matchAll(/^-- $/gm)) at = m.index;
  if (at < 0) return diff;
  const rest = diff.slice(at + 3);
  // a signature says something (git's version, a name); a last "-- " with nothing after is a removed line
  if (/^(@@ -|diff --git |\+\+\+ )/m.test(rest) || !/\S/.test(rest)) return diff;
  return diff.slice(0, at);
}

/**
 * Tree path of a header name: `a/F` or `linux.orig/F` gives F. A name that leaves the tree keeps its
 * text, for the message, with the reason it is refused.
 */
function treePath(name: string | undefined, strip: boolean): { path: string; error?: string } {
  if (name === undefined || name === '') return { path: '', error: 'the diff names no file' };
  if (name === NULL) return { path: NULL };
  let path = name;
  if (strip) {
    const slash = path.indexOf('/');
    path = slash < 0 ? path : path.slice(slash + 1);
  }
  path = path.replace(/^(\.\/)+/, '').replace(/\/{2,}/g, '/');
  if (path === '' || path.startsWith('/')) return { path, error: `the path ${JSON.stringify(name)} is not inside the tree` };
  if (path.split(/[/\\]/).some((p) => p === '..')) return { path, error: `the path ${JSON.stringify(name)} climbs out of the tree with ..` };
  if (/[\u0000-\u001f\u007f]/.test(path)) return { path, error: `the path ${JSON.stringify(name)} holds control characters` };
  return { path };
}

function convert(p: StructuredPatch, form: ParsedDiff['form'], headers: string[]): FileDiff {
  // git's names carry a/ and b/ (c/, i/, w/, o/ with diff.mnemonicPrefix); a git diff made with
  // --no-prefix is read as it was made; the plain form is read as patch -p1 reads it
  const named = [p.oldFileName, p.newFileName].filter((x) => x && x !== NULL);
  const strip = form === 'plain' || named.some((x) => /^[abciow]\//.test(x!));
  const o = treePath(p.isCreate ? NULL : p.oldFileName, strip);
  const n = treePath(p.isDelete ? NULL : p.newFileName, strip);
  const type: FileDiff['type'] = p.isRename ? 'rename' : p.isCopy ? 'copy' : p.isCreate || p.oldFileName === NULL ? 'add' : p.isDelete || p.newFileName === NULL ? 'delete' : 'modify';
  const file: FileDiff = { type, oldPath: '', newPath: '', hunks: [], isBinary: !!p.isBinary, newEndingNewLine: true };
  // names come a byte a character (byteString()), as the tree's paths do not
  file.oldPath = textOfBytes(type === 'add' ? NULL : o.path || n.path);
  file.newPath = textOfBytes(type === 'delete' ? NULL : n.path || o.path);
  const bad = (type !== 'add' ? o.error : undefined) ?? (type !== 'delete' ? n.error : undefined);
  if (bad) file.error = bad;
  for (const h of p.hunks) {
    const hunk: Hunk = {
      content: headers.shift() ?? `@@ -${h.oldStart - (h.oldLines === 0 ? 1 : 0)},${h.oldLines} +${h.newStart - (h.newLines === 0 ? 1 : 0)},${h.newLines} @@`,
      oldStart: h.oldStart,
      oldLines: h.oldLines,
      newStart: h.newStart,
      newLines: h.newLines,
      changes: [],
    };
    let oldLine = h.oldStart;
    let newLine = h.newStart;
    let last: Change['type'] | undefined;
    for (const line of h.lines) {
      const op = line[0] ?? ' ';
      const content = line.slice(1);
      if (op === '+') hunk.changes.push({ type: 'insert', content, lineNumber: newLine++ });
      else if (op === '-') hunk.changes.push({ type: 'delete', content, lineNumber: oldLine++ });
      else if (op === '\\') {
        if (last !== 'delete') file.newEndingNewLine = false;
        continue;
      } else hunk.changes.push({ type: 'normal', content, oldLineNumber: oldLine++, newLineNumber: newLine++ });
      last = hunk.changes.at(-1)!.type;
    }
    file.hunks.push(hunk);
  }
  return file;
}

/** The hunk header's counts against the lines that follow it, for a message about a hunk cut short. */
function cutShort(section: string): string | undefined {
  const lines = section.split('\n');
  for (let k = 0, n = 0; k < lines.length; k++) {
    const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(lines[k]!);
    if (!m) continue;
    n++;
    const want = [m[2] === undefined ? 1 : Number(m[2]), m[4] === undefined ? 1 : Number(m[4])] as const;
    let old = 0;
    let neu = 0;
    let j = k + 1;
    for (; j < lines.length && (old < want[0] || neu < want[1]); j++) {
      const op = lines[j]![0];
      if (op === '-') old++;
      else if (op === '+') neu++;
      else if (op === ' ' || (lines[j] === '' && j < lines.length - 1)) {
        old++;
        neu++;
      } else if (op !== '\\') break;
    }
    if (old < want[0] || neu < want[1])
      return `hunk ${n} (@@ -${m[1]},${want[0]} +${m[3]},${want[1]} @@) is cut short: it declares ${want[0]} old and ${want[1]} new lines but holds ${old} and ${neu}`;
  }
  return undefined;
}

/** Splits a diff into its files' sections, for telling which file's hunks are unreadable. */
function sections(diff: string): string[] {
  const starts = [...diff.matchAll(/^(diff --git |Index: |--- (?!-)\S[^\n]*\n\+\+\+ )/gm)].map((m) => m.index);
  const out: string[] = [];
  for (let k = 0; k < starts.length; k++) {
    // a `---` right after a git header or an Index: line belongs to that section
    const start = starts[k]!;
    const prev = out.length ? diff.slice(starts[k - 1], start) : '';
    if (out.length && diff.startsWith('--- ', start) && /^(diff --git |Index: )/.test(prev) && !/^@@ /m.test(prev)) {
      out[out.length - 1] += diff.slice(start, starts[k + 1] ?? diff.length);
      continue;
    }
    out.push(diff.slice(start, starts[k + 1] ?? diff.length));
  }
  return out;
}

function nameOf(section: string): string {
  const git = /^diff --git (?:"?[ab]\/)?(\S+)/.exec(section);
  if (git) return git[1]!;
  const plus = /^\+\+\+ (?:[^/\s]+\/)?([^\t\n]+)/m.exec(section);
  return plus?.[1] ?? '(unnamed file)';
}

/** Reads a diff: every file it holds, each with its hunks or the reason they cannot be read. */
export function parseDiff(text: string): ParsedDiff {
  const diff = text.replace(/\r\n/g, '\n');
  const form: ParsedDiff['form'] = /^diff --git /m.test(diff) ? 'git' : 'plain';
  // jsdiff keeps no header text; a hunk's body lines never start with "@@", so the headers come in order
  const headersOf = (t: string): string[] => [...t.matchAll(/^@@ -[^\n]*/gm)].map((m) => m[0].replace(/\s+$/, ''));
  try {
    const headers = headersOf(diff);
    return {
      files: parsePatch(diff)
        .filter((p) => p.oldFileName !== undefined || p.newFileName !== undefined || p.hunks.length)
        .map((p) => convert(p, form, headers)),
      form,
    };
  } catch {
    // one file's hunks are unreadable: read the others, and mark that one
    const files: FileDiff[] = [];
    for (const section of sections(diff)) {
      try {
        const headers = headersOf(section);
        files.push(...parsePatch(section).map((p) => convert(p, form, headers)));
      } catch (e) {
        const name = nameOf(section);
        files.push({ type: 'modify', oldPath: name, newPath: name, hunks: [], isBinary: false, newEndingNewLine: true, error: cutShort(section) ?? (e as Error).message.replace(/ at line \d+/, '') });
      }
    }
    return { files, form };
  }
}

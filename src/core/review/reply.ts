/**
 * The review as a reply in the kernel's interleaved quoting style: per patch, the hunk lines a finding
 * concerns quoted with "> " and trimmed to a little context, the finding written under them, and no
 * top-posting. Plain text, ready for a mail client.
 */
import { type Change, type FileDiff as DiffFile, textOfBytes } from './diff';
import type { Review, ReviewFinding } from './analyze';
import { printable as pr, printableLines } from '../util/printable';
import type { Series } from './series';

const CONTEXT = 3;

function prefix(c: Change): string {
  return c.type === 'insert' ? '+' : c.type === 'delete' ? '-' : ' ';
}

/** Where a finding's line is in a file's hunks: the new side first, then the old. */
function locate(file: DiffFile, line: number, symbol: string): { hunk: number; change: number } | undefined {
  let fallback: { hunk: number; change: number } | undefined;
  for (let h = 0; h < file.hunks.length; h++) {
    const changes = file.hunks[h]!.changes;
    for (let k = 0; k < changes.length; k++) {
      const c = changes[k]!;
      const newLine = c.type === 'normal' ? c.newLineNumber : c.type === 'insert' ? c.lineNumber : -1;
      if (newLine === line && c.type !== 'delete') return { hunk: h, change: k };
      if (!fallback && c.type === 'delete' && symbol && c.content.includes(symbol)) fallback = { hunk: h, change: k };
    }
  }
  return fallback;
}

export function replyText(review: Review, series: Series): string {
  const out: string[] = [];
  for (const patch of series.patches) {
    const findings = review.findings.filter((f) => f.patch === patch.index);
    if (findings.length === 0) continue;
    out.push(`On ${pr(patch.date) || 'the patch'}, ${pr(patch.author) || 'the author'} wrote:`, `> ${pr(patch.written)}`, '');
    const loose: ReviewFinding[] = [];
    // findings grouped by the hunk line they concern, in diff order
    const placed: { file: number; hunk: number; change: number; f: ReviewFinding }[] = [];
    for (const f of findings) {
      const fi = patch.files.findIndex((d) => d.newPath === f.file || d.oldPath === f.file);
      const at = fi >= 0 ? locate(patch.files[fi]!, f.line, f.symbol) : undefined;
      if (at) placed.push({ file: fi, ...at, f });
      else loose.push(f);
    }
    placed.sort((a, b) => a.file - b.file || a.hunk - b.hunk || a.change - b.change);
    let quotedFile = -1;
    let quotedUpTo = { hunk: -1, change: -1 };
    for (const p of placed) {
      const file = patch.files[p.file]!;
      if (quotedFile !== p.file) {
        out.push(`> diff --git a/${pr(file.oldPath === '/dev/null' ? file.newPath : file.oldPath)} b/${pr(file.newPath === '/dev/null' ? file.oldPath : file.newPath)}`);
        quotedFile = p.file;
        quotedUpTo = { hunk: -1, change: -1 };
      }
      const hunk = file.hunks[p.hunk]!;
      const sameHunk = quotedUpTo.hunk === p.hunk;
      const from = sameHunk ? Math.max(quotedUpTo.change + 1, p.change - CONTEXT) : Math.max(0, p.change - CONTEXT);
      if (!sameHunk) out.push(`> ${pr(hunk.content)}`);
      if (from > (sameHunk ? quotedUpTo.change + 1 : 0)) out.push('> [...]');
      for (let k = from; k <= p.change; k++) out.push(`> ${prefix(hunk.changes[k]!)}${printableLines(textOfBytes(hunk.changes[k]!.content)).replace(/\n/g, '\\n')}`);
      quotedUpTo = { hunk: p.hunk, change: Math.max(p.change, sameHunk ? quotedUpTo.change : -1) };
      out.push('', wrap(pr(p.f.message)), '');
    }
    for (const f of loose) out.push(wrap(pr(f.message)), '');
  }
  if (out.length === 0) out.push('No findings: the series keeps the export rules.', '');
  // whom to answer, as get_maintainer.pl would name them: header lines for the mail client
  const r = review.recipients;
  if (r && (r.to.length || r.cc.length)) out.unshift(...(r.to.length ? [`To: ${r.to.map(pr).join(', ')}`] : []), ...(r.cc.length ? [`Cc: ${r.cc.map(pr).join(', ')}`] : []), '');
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

/** Wraps prose at 72 columns, as mail wants; long tokens (paths) stay whole. */
function wrap(text: string): string {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/)) {
    if (cur && cur.length + 1 + word.length > 72) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines.join('\n');
}

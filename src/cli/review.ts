/** `kexports review RANGE|FILE|DIR`: what a series does to exports, in text, JSON, Markdown or SARIF. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { severityRank, type Severity } from '../core/findings';
import { type Review, reviewSeries } from '../core/review/analyze';
import { seriesFromGit, workingTreeDiff } from '../core/review/git';
import { replyText } from '../core/review/reply';
import { readSeries, seriesFromTexts } from '../core/review/series';
import { flag, has, type ParsedArgs, UsageError } from './args';
import { type Io, openContext } from './context';
import { md } from '../core/markdown';
import { README_URL, sarif } from './format';

export async function runReview(args: ParsedArgs, io: Io): Promise<number> {
  const fmt = flag(args, '--format') ?? 'text';
  if (!['text', 'json', 'markdown', 'sarif', 'reply'].includes(fmt)) throw new UsageError(`--format ${fmt}: expected text, json, markdown, sarif or reply`);
  const failOn = (flag(args, '--fail-on') ?? 'warning') as Severity | 'none';
  if (failOn !== 'none' && !(failOn in severityRank)) throw new UsageError(`--fail-on ${failOn}: expected error, warning, info, hint or none`);
  if (args.positionals.length > 1) throw new UsageError('review takes one RANGE, FILE or DIR');
  const what = args.positionals[0];
  const { index, settings, root } = await openContext(args, io, false);

  let series;
  let baseText: (path: string) => string | undefined;
  const asPath = what === undefined ? undefined : resolve(io.cwd, what);
  if (has(args, '--uncommitted')) {
    if (what !== undefined) throw new UsageError('--uncommitted takes no RANGE, FILE or DIR');
    const w = await workingTreeDiff(root);
    if (!w.diff.trim()) {
      io.err('kexports: no uncommitted changes against HEAD\n');
      return 0;
    }
    series = await seriesFromTexts([{ source: 'git diff HEAD', text: w.diff }]);
    for (const p of series.patches) p.subject = 'uncommitted changes against HEAD';
    baseText = (path) => w.baseText.get(path);
  } else if (asPath && existsSync(asPath)) {
    series = await readSeries(asPath);
    baseText = (path) => {
      try {
        return readFileSync(join(root, path), 'latin1');
      } catch {
        return undefined;
      }
    };
  } else {
    const g = await seriesFromGit(root, what, async (mbox) => {
      const s = await seriesFromTexts([{ source: 'git', text: mbox }]);
      return [...new Set(s.patches.flatMap((p) => p.files.flatMap((f) => [f.oldPath, f.newPath])).filter((p) => p && p !== '/dev/null'))];
    });
    series = await seriesFromTexts([{ source: `git format-patch ${g.range}`, text: g.mbox }]);
    baseText = (path) => g.baseText.get(path);
  }
  const review = reviewSeries(index, series, { gplOnlyPaths: settings.gplOnlyPaths, testsCountAsConsumers: settings.testsCountAsConsumers, baseText });
  for (const p of review.problems) io.err(`kexports: ${p.source}:${p.line}: ${p.message}\n`);
  if (review.replies) io.err(`kexports: ignored ${review.replies} repl${review.replies === 1 ? 'y' : 'ies'}\n`);

  if (fmt === 'json') io.out(`${JSON.stringify(review, null, 1)}\n`);
  else if (fmt === 'sarif') io.out(`${JSON.stringify(sarif(review.findings.map((f) => ({ ...f, col: 0, endLine: Math.max(1, f.line), endCol: 0, line: Math.max(1, f.line) })), '0.1.0'), null, 1)}\n`);
  else if (fmt === 'markdown') io.out(markdown(review));
  else if (fmt === 'reply') io.out(replyText(review, series));
  else io.out(text(review));
  const threshold = failOn === 'none' ? Infinity : severityRank[failOn];
  return review.findings.some((f) => severityRank[f.severity] >= threshold) ? 1 : 0;
}

const word = { error: 'ERROR', warning: 'WARNING', info: 'INFO', hint: 'HINT' } as const;

export function text(r: Review): string {
  const out: string[] = [];
  if (r.cover) out.push(`Cover letter: ${r.cover.subject}${r.cover.author ? ` (${r.cover.author})` : ''}`, '');
  for (const p of r.patches) {
    out.push(`[PATCH ${p.index}/${p.total}] ${p.subject}`);
    for (const a of p.added) out.push(`  + ${a.name} ${a.macro} (${a.license}${a.namespace ? `, namespace ${a.namespace}` : ''}) ${a.file}:${a.line}${a.firstConsumer ? `; first consumer ${a.firstConsumer.patch === 'tree' ? 'already in the tree' : `in patch ${a.firstConsumer.patch}`}: ${a.firstConsumer.file}:${a.firstConsumer.line}` : '; no consumer'}`);
    for (const c of p.changed) out.push(`  ~ ${c.name} ${c.before!.macro} -> ${c.macro} ${c.file}:${c.line}`);
    for (const d of p.removed) out.push(`  - ${d.name} ${d.macro} ${d.file}`);
    for (const f of r.findings.filter((x) => x.patch === p.index)) out.push(`  ${word[f.severity]}:${f.code}: ${f.message}${f.line ? ` (${f.file}:${f.line})` : ''}`);
    out.push('');
  }
  const n = (s: string): number => r.findings.filter((f) => f.severity === s).length;
  out.push(`total: ${n('error')} errors, ${n('warning')} warnings, ${n('info')} infos, ${r.patches.length} patches`);
  return `${out.join('\n')}\n`;
}

/** Markdown for the VS Code report; everything from the series is escaped, never interpreted. */
export function markdown(r: Review): string {
  const esc = md;
  const out = ['# Kernel Exports: series review', ''];
  if (r.cover) out.push(`Cover letter: ${esc(r.cover.subject)}`, '');
  out.push('| patch | subject | exports added | removed | changed | findings |', '|---|---|---|---|---|---|');
  for (const p of r.patches) {
    const f = r.findings.filter((x) => x.patch === p.index).length;
    out.push(`| ${p.index}/${p.total} | ${esc(p.subject)} | ${p.added.map((a) => esc(a.name)).join(', ')} | ${p.removed.map((a) => esc(a.name)).join(', ')} | ${p.changed.map((a) => esc(a.name)).join(', ')} | ${f} |`);
  }
  out.push('', '## Findings', '');
  for (const f of r.findings) out.push(`- **${f.severity}** [\`${f.code}\`](${README_URL}#${f.code.toLowerCase()}) patch ${f.patch}: ${esc(f.message)}`);
  if (r.findings.length === 0) out.push('None.');
  return `${out.join('\n')}\n`;
}

/** `kexports review RANGE|FILE|DIR`: what a series does to exports, in text, JSON, Markdown or SARIF. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { severityRank, type Severity } from '../core/findings/findings';
import { checks } from '../core/review/checks';
import { replyText } from '../core/review/reply';
import { markdown, text } from '../core/review/report';
import { type ReviewSource, runReview } from '../core/review/run';
import { flag, has, type ParsedArgs, UsageError } from './args';
import { type Io, openContext } from './context';
import { sarif } from './format';
import { VERSION } from '../protocol/version';

export async function reviewCommand(args: ParsedArgs, io: Io): Promise<number> {
  const fmt = flag(args, '--format') ?? 'text';
  if (!['text', 'json', 'markdown', 'sarif', 'reply', 'patchwork'].includes(fmt)) throw new UsageError(`--format ${fmt}: expected text, json, markdown, sarif, reply or patchwork`);
  const failOn = (flag(args, '--fail-on') ?? 'warning') as Severity | 'none';
  if (failOn !== 'none' && !(failOn in severityRank)) throw new UsageError(`--fail-on ${failOn}: expected error, warning, info, hint or none`);
  if (args.positionals.length > 1) throw new UsageError('review takes one RANGE, FILE or DIR');
  const what = args.positionals[0];
  const ctx = await openContext(args, io, { changes: true });
  const { index, settings, root } = ctx;

  const source: ReviewSource = has(args, '--uncommitted')
    ? { kind: 'uncommitted' }
    : what !== undefined && existsSync(resolve(io.cwd, what))
      ? { kind: 'path', path: resolve(io.cwd, what) }
      : { kind: 'range', range: what };
  if (source.kind === 'uncommitted' && what !== undefined) throw new UsageError('--uncommitted takes no RANGE, FILE or DIR');
  const run = await runReview(index, root, source, { gplOnlyPaths: settings.gplOnlyPaths, testsCountAsConsumers: settings.testsCountAsConsumers, trusted: true, build: () => ctx.build()?.model });
  if (run.empty) {
    io.err('kexports: no uncommitted changes against HEAD\n');
    return 0;
  }
  const { review, series } = run;
  for (const p of review.problems) io.err(`kexports: ${p.source}:${p.line}: ${p.message}\n`);
  // an input with no patch in it is no clean review
  if (series.patches.length === 0) {
    io.err(
      `kexports: ${source.kind === 'path' ? source.path : 'the range'}: no patch to review${review.problems.length ? ` (${review.problems.length} problem${review.problems.length === 1 ? '' : 's'} above)` : ''}\n`,
    );
    return 2;
  }
  if (review.replies) io.err(`kexports: ignored ${review.replies} repl${review.replies === 1 ? 'y' : 'ies'}\n`);

  if (fmt === 'json') io.out(`${JSON.stringify(review, null, 1)}\n`);
  else if (fmt === 'sarif')
    io.out(
      `${JSON.stringify(
        sarif(
          review.findings.map((f) => ({ ...f, col: 0, endLine: Math.max(1, f.line), endCol: 0, line: Math.max(1, f.line) })),
          VERSION,
        ),
        null,
        1,
      )}\n`,
    );
  else if (fmt === 'markdown') io.out(markdown(review, series, root));
  else if (fmt === 'reply') io.out(replyText(review, series));
  else if (fmt === 'patchwork') io.out(`${JSON.stringify(checks(review, series), null, 1)}\n`);
  else io.out(text(review));
  const threshold = failOn === 'none' ? Infinity : severityRank[failOn];
  return review.findings.some((f) => severityRank[f.severity] >= threshold) ? 1 : 0;
}

/**
 * Export history in words: the hover's one line, the CLI's table and CSV, the timeline's Markdown,
 * and the rule 2 findings. Subjects come from commits anyone can write: the Markdown forms escape them.
 */
import { md } from '../util/markdown';
import type { Finding, FindingCode, Severity } from '../findings/findings';
import type { CommitRef, ExportHistory, FileHistory } from './compute';

const SUBJECT_MAX = 60;

function short(c: CommitRef): string {
  return c.hash.slice(0, 12);
}

function subject(c: CommitRef): string {
  return c.subject.length > SUBJECT_MAX ? `${c.subject.slice(0, SUBJECT_MAX - 1)}…` : c.subject;
}

function base(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function windows(n: number): string {
  return `${n} window${n === 1 ? '' : 's'}`;
}

/** The distance from export to first consumer, in words. */
export function verdictWords(h: ExportHistory): string {
  switch (h.verdict) {
    case 'same-window':
      return 'same window';
    case 'next-window':
      return '1 window later';
    case 'late':
      return `${windows(h.gap ?? 0)} later: late (rule 2 wants the same window or the next)`;
    case 'never':
      return 'never consumed so far';
    case 'before-export':
      return 'consumed before the export existed';
    case 'uncommitted':
      return 'not committed yet';
    case 'unknown':
      return 'order unknown: both fall at the shallow clone boundary';
  }
}

/** "in v5.2", "after v5.10 (not yet released)", "in v5.1 or earlier (shallow clone)". */
function released(c: CommitRef): string {
  const r = c.landing.release;
  return `${r.startsWith('after ') ? r : `in ${r}`}${c.cut ? ' or earlier (shallow clone)' : ''}`;
}

/**
 * One line, as the hover shows it:
 * exported in v5.2 (merge window of v5.2, abc1234 'mm/hmm: …'); first consumer v5.3 (nouveau_svm.c, def5678): 1 window later
 * `esc` escapes text from commits for Markdown; identity for plain text.
 */
export function historyLine(h: ExportHistory, esc: (s: string) => string = (s) => s): string {
  const e = h.exported;
  if (!e) return 'not in git history yet: the export line is not committed';
  const parts = [`exported ${esc(released(e))} (${esc(e.landing.window)}, ${short(e).slice(0, 7)} '${esc(subject(e))}')`];
  for (const m of h.moves) parts.push(`moved from ${esc(m.from)} ${esc(released(m))} (${short(m).slice(0, 7)})`);
  const c = h.firstConsumer;
  const among = h.searched ? ` among ${h.searched.files} of the ${h.searched.of.toLocaleString('en-US')} files that use it` : '';
  if (c) parts.push(`first consumer${among} ${esc(released(c)).replace(/^in /, '')} (${esc(base(c.file))}, ${short(c).slice(0, 7)}): ${verdictWords(h)}`);
  else parts.push(verdictWords(h));
  for (const l of h.licenseChanges) parts.push(`${esc(l.from)} → ${esc(l.to)} ${esc(released(l))} (${short(l).slice(0, 7)})`);
  return parts.join('; ');
}

/** Why there is no history line: an untrusted workspace, no git, a failure. */
export function unavailableLine(reason: string): string {
  return `history unavailable: ${reason}`;
}

// ---- the CLI ----

export function historyText(files: readonly FileHistory[]): string {
  const out: string[] = [];
  for (const f of files) {
    out.push(`${f.path} (HEAD ${f.head.slice(0, 12)}${f.closed ? `, newest release merged: ${f.closed.tag}` : ''})`);
    for (const n of f.notes) out.push(`  note: ${n}`);
    for (const h of f.exports) out.push(`  ${f.path}:${h.line}: ${h.symbol}  ${h.macro}\n    ${historyLine(h)}`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

export const CSV_COLUMNS = [
  'file',
  'line',
  'symbol',
  'macro',
  'export_commit',
  'export_date',
  'export_subject',
  'export_path',
  'export_tag',
  'export_release',
  'export_window',
  'consumer_commit',
  'consumer_date',
  'consumer_file',
  'consumer_tag',
  'consumer_release',
  'consumer_window',
  'gap_windows',
  'verdict',
  'license_changes',
  'history_cut',
  'moved_from',
] as const;

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(v: string | number | undefined): string {
  const s = v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function historyCsv(files: readonly FileHistory[]): string {
  const rows: string[] = [CSV_COLUMNS.join(',')];
  for (const f of files) {
    for (const h of f.exports) {
      const e = h.exported;
      const c = h.firstConsumer;
      const row = [
        f.path,
        h.line,
        h.symbol,
        h.macro,
        e?.hash,
        e?.authorDate,
        e?.subject,
        e?.path,
        e?.landing.firstTag,
        e?.landing.release,
        e?.landing.window,
        c?.hash,
        c?.authorDate,
        c?.file,
        c?.landing.firstTag,
        c?.landing.release,
        c?.landing.window,
        h.gap,
        h.verdict,
        h.licenseChanges.map((l) => `${l.from}->${l.to}@${l.hash.slice(0, 12)}`).join(' '),
        e?.cut || c?.cut ? 'yes' : '',
        h.moves.map((m) => `${m.from}@${m.hash.slice(0, 12)}`).join(' '),
      ];
      rows.push(row.map(csvField).join(','));
    }
  }
  return `${rows.join('\r\n')}\r\n`;
}

/** The timeline as a Markdown document: one table row per export. */
export function historyMarkdown(f: FileHistory): string {
  const cell = (s: string): string => md(s).replace(/\n/g, ' ');
  const out = [
    `# Export timeline: ${md(f.path)}`,
    '',
    `HEAD ${f.head.slice(0, 12)}${f.closed ? ` · newest release merged: ${md(f.closed.tag)}` : ''}${f.current ? ` · current: ${cell(f.current.window)}` : ''}`,
    '',
  ];
  for (const n of f.notes) out.push(`> ${cell(n)}`, '');
  out.push('| Line | Export | Exported | First consumer | Windows | Verdict | License changes |', '|---:|---|---|---|---:|---|---|');
  for (const h of f.exports) {
    const e = h.exported;
    const c = h.firstConsumer;
    out.push(
      [
        '',
        String(h.line),
        `\`${h.symbol}\` ${cell(h.macro)}`,
        e
          ? `${cell(released(e))}, ${cell(e.landing.window)}<br>${short(e)} ${cell(e.subject)}${e.path !== f.path ? `<br>in ${cell(e.path)}` : ''}${h.moves.map((m) => `<br>moved from ${cell(m.from)} ${cell(released(m))} (${short(m)})`).join('')}`
          : 'not committed',
        c ? `${cell(released(c))}, ${cell(c.landing.window)}<br>${cell(c.file)}<br>${short(c)} ${cell(c.subject)}` : '—',
        h.gap === undefined ? '' : String(h.gap),
        cell(verdictWords(h)),
        h.licenseChanges.map((l) => `${cell(l.from)} → ${cell(l.to)} ${cell(released(l))} (${short(l)})`).join('<br>'),
        '',
      ]
        .join(' | ')
        .trim(),
    );
  }
  return `${out.join('\n')}\n`;
}

// ---- findings ----

export interface HistoryFindingOptions {
  severity: Partial<Record<FindingCode, Severity>>;
  /** Exports more releases older than the newest merged release get no history finding. */
  maxAgeReleases: number;
}

/**
 * LATE_CONSUMER and NEVER_CONSUMED, for exports young enough to matter. NEVER_CONSUMED waits until the
 * window after the export's has closed: until then, rule 2 still allows a consumer.
 */
export function historyFindings(f: FileHistory, opts: HistoryFindingOptions): Finding[] {
  const out: Finding[] = [];
  const closed = f.closed?.ordinal ?? (f.tagged ? undefined : f.current?.ordinal);
  for (const h of f.exports) {
    const e = h.exported;
    if (!e || closed === undefined) continue;
    const age = closed - e.landing.ordinal;
    if (age > opts.maxAgeReleases) continue;
    const at = { symbol: h.symbol, file: f.path, line: h.line, col: h.col, endLine: h.endLine, endCol: h.endCol };
    if (h.verdict === 'late' && h.firstConsumer) {
      const s = opts.severity.LATE_CONSUMER ?? 'warning';
      if (s !== 'off') {
        out.push({
          code: 'LATE_CONSUMER',
          severity: s,
          message: `${h.symbol} was exported ${released(e)} and first consumed ${released(h.firstConsumer)} (${h.firstConsumer.file}), ${windows(h.gap ?? 0)} later; rule 2 wants a consumer in the same merge window or the next`,
          ...at,
        });
      }
    }
    if (h.verdict === 'never' && age >= 1 && !(e.landing.estimated && age < 2)) {
      const s = opts.severity.NEVER_CONSUMED ?? 'warning';
      if (s !== 'off') {
        out.push({
          code: 'NEVER_CONSUMED',
          severity: s,
          message: `${h.symbol} was exported ${released(e)} and has no in-tree consumer ${f.closed ? `after ${f.closed.tag}` : 'since'}; rule 2 wants one by the next merge window, else the export is reverted`,
          ...at,
        });
      }
    }
  }
  return out;
}

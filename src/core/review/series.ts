/**
 * A patch series from mail: an mbox (b4, lore, `git format-patch --stdout`), single .patch/.eml files,
 * quilt's plain diffs, or a folder of `git format-patch` output. MIME is postal-mime's job; diffs are
 * read in diff.ts.
 * Bad input is reported with the file and line, and what could be read is still returned.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import PostalMime from 'postal-mime';
import { readRegularFile } from '../util/regularFile';
import { byteString, cutSignature, diffStart, type FileDiff, parseDiff } from './diff';

export interface Patch {
  /** Position in the series, 1-based and unique: by [PATCH M/N] when every mail is numbered, else the order read. */
  index: number;
  /** The series' length as its subjects give it (N of [PATCH M/N]), else the number of patches. */
  total: number;
  /** M of [PATCH M/N] as written, when there is one. */
  number?: number;
  /** How reports name the patch: "3/15" as the subject numbers it, or "#3" (its place) for a mail without a number in a numbered series. */
  label: string;
  version: number;
  /** The title, without the [PATCH ...] tag. */
  subject: string;
  /** The subject as the mail wrote it, tag and all, for a reply to quote. */
  written: string;
  author: string;
  date: string;
  messageId: string;
  /** Where the message starts: the input file and its line. */
  source: string;
  line: number;
  /** The line of the diff's first `diff --git` in the input file. */
  diffLine: number;
  files: FileDiff[];
}

export interface InputProblem {
  source: string;
  line: number;
  message: string;
}

export interface Series {
  patches: Patch[];
  cover?: { subject: string; author: string };
  /** Replies found and ignored (Re: ..., or messages without a diff answering another). */
  replies: number;
  problems: InputProblem[];
}

/** The largest mail file read: a V8 string holds about 512 MiB, and no series comes near this. */
const MAX_MAIL_BYTES = 256 * 1024 * 1024;

const SUBJECT = /\[(?:[^\]]*?\bPATCH\b[^\]]*?)\]/i;

export function parseSubject(subject: string): { version: number; index?: number; total?: number; title: string } {
  const tag = SUBJECT.exec(subject);
  const title = subject
    .replace(/^(\s*(re|fwd?):\s*)+/i, '')
    .replace(SUBJECT, '')
    .trim();
  if (!tag) return { version: 1, title };
  const v = /\bv(\d+)\b/i.exec(tag[0]);
  const n = /\b(\d+)\s*\/\s*(\d+)\b/.exec(tag[0]);
  return { version: v ? Number(v[1]) : 1, index: n ? Number(n[1]) : undefined, total: n ? Number(n[2]) : undefined, title };
}

/** Splits an mbox into messages, with the line each starts on; undoes mboxrd's >From quoting. */
export function splitMbox(text: string): { body: string; line: number }[] {
  const lines = text.split('\n');
  const out: { body: string; line: number }[] = [];
  let start = -1;
  const flush = (end: number): void => {
    if (start < 0) return;
    const body = lines
      .slice(start + 1, end)
      .map((l) => (/^>+From /.test(l) ? l.slice(1) : l))
      .join('\n');
    out.push({ body, line: start + 2 });
  };
  for (let k = 0; k < lines.length; k++) {
    if (/^From \S+ .*\d{4}\s*$/.test(lines[k]!) || /^From [0-9a-f]{40} /.test(lines[k]!)) {
      flush(k);
      start = k;
    }
  }
  flush(lines.length);
  if (out.length === 0 && /^[\w-]+:/m.test(text.slice(0, 2000))) out.push({ body: text, line: 1 });
  return out;
}

/** The diff part of a message text: from the first file header to the signature or the end. */
export function diffOf(text: string): { diff: string; offset: number } | undefined {
  const at = diffStart(text);
  if (at < 0) return undefined;
  return { diff: cutSignature(text.slice(at)), offset: text.slice(0, at).split('\n').length - 1 };
}

/**
 * A mail, parsed by postal-mime. A body that is plain text as it stands (one part, no transfer
 * encoding, UTF-8, or ASCII that is ASCII) is taken as postal-mime would give it, but without its
 * decoders: they go through a Blob each, a third of the review of a 15-patch series in a new process
 * (35-45 ms of mail parsing, 6-8 ms for the headers alone). git format-patch writes such mails.
 */
export async function parseMail(raw: string): Promise<Awaited<ReturnType<typeof PostalMime.parse>>> {
  const end = /\r?\n\r?\n/.exec(raw);
  if (!end) return PostalMime.parse(raw);
  const mail = await PostalMime.parse(raw.slice(0, end.index + end[0].length));
  const body = raw.slice(end.index + end[0].length);
  if (!plainAsItStands(mail.headers, body)) return PostalMime.parse(raw);
  // as postal-mime gives it: lines end in \n, the last too; no body, no text
  const text = body.replace(/\r\n/g, '\n');
  return { ...mail, text: text === '' ? undefined : text.endsWith('\n') ? text : `${text}\n` };
}

function plainAsItStands(headers: readonly { key: string; value: string }[], body: string): boolean {
  const type = headers.find((h) => h.key === 'content-type')?.value;
  const encoding = headers
    .find((h) => h.key === 'content-transfer-encoding')
    ?.value.trim()
    .toLowerCase();
  if (encoding !== undefined && !['7bit', '8bit', 'binary'].includes(encoding)) return false;
  if (type === undefined) return true;
  const m = /^\s*text\/plain\s*(;.*)?$/is.exec(type);
  if (!m) return false;
  const params = (m[1] ?? '').toLowerCase();
  if (/format\s*=\s*"?flowed/.test(params)) return false;
  const charset = /charset\s*=\s*"?([^";\s]+)/.exec(params)?.[1];
  // postal-mime reads a us-ascii body's other bytes as latin1
  return charset === undefined || charset === 'utf-8' || charset === 'utf8' || ((charset === 'us-ascii' || charset === 'ascii') && !/[^\x00-\x7f]/.test(body));
}

async function readMessage(raw: string, source: string, line: number, series: Series, order: number): Promise<void> {
  let mail;
  try {
    mail = await parseMail(raw);
  } catch (e) {
    series.problems.push({ source, line, message: `not a mail message: ${(e as Error).message}` });
    return;
  }
  const subject = mail.subject ?? '';
  const parsed = parseSubject(subject);
  const author = mail.from ? `${mail.from.name ?? ''} <${mail.from.address ?? ''}>`.trim() : '';
  const isReply = /^\s*re:/i.test(subject) || (!!mail.inReplyTo && !SUBJECT.test(subject));
  const candidates = [
    mail.text ?? '',
    ...(mail.attachments ?? [])
      .filter((a) => /patch|diff|text/.test(a.mimeType) || /\.(patch|diff)$/.test(a.filename ?? ''))
      .map((a) => (typeof a.content === 'string' ? a.content : Buffer.from(a.content as ArrayBuffer).toString('utf8'))),
  ];
  let found: { diff: string; offset: number } | undefined;
  for (const c of candidates) if ((found = diffOf(c.replace(/\r\n/g, '\n')))) break;
  if (isReply) {
    series.replies++;
    return;
  }
  if (!found) {
    if (parsed.index === 0) series.cover = { subject: parsed.title, author };
    else series.problems.push({ source, line, message: `"${subject}" has no diff; skipped` });
    return;
  }
  const files = parseDiff(byteString(found.diff)).files;
  const headerLines = raw.slice(0, Math.max(0, raw.indexOf('\n\n'))).split('\n').length + 1;
  series.patches.push({
    index: order,
    total: parsed.total ?? 0,
    ...(parsed.index !== undefined ? { number: parsed.index } : {}),
    label: '',
    version: parsed.version,
    subject: parsed.title,
    written: subject,
    author,
    date: mail.date ?? '',
    messageId: mail.messageId ?? '',
    source,
    line,
    diffLine: line + headerLines + found.offset,
    files,
  });
}

/** Reads an mbox, a patch file, or a folder of patch files into a series, in series order. */
export async function readSeries(path: string): Promise<Series> {
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((f) => /\.(patch|eml|mbox|diff)$/.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  const texts: { source: string; text: string }[] = [];
  const problems: InputProblem[] = [];
  for (const f of files) {
    try {
      texts.push({ source: f, text: readRegularFile(f, { follow: true, maxBytes: MAX_MAIL_BYTES }).toString('utf8') });
    } catch (e) {
      // a FIFO, a device or a file past the limit is no mail: said, never waited on or read whole
      if (files.length === 1) throw new Error(`${f}: ${(e as Error).message.replace(`${f}: `, '')}`);
      problems.push({ source: f, line: 0, message: `${(e as Error).message.replace(`${f}: `, '')}; skipped` });
    }
  }
  const series = await seriesFromTexts(texts);
  series.problems.unshift(...problems);
  return series;
}

/** A series from texts already in hand (an mbox from `git format-patch --stdout`, a diff). */
export async function seriesFromTexts(inputs: readonly { source: string; text: string }[]): Promise<Series> {
  const series: Series = { patches: [], replies: 0, problems: [] };
  let order = 0;
  for (const { source: file, text: raw } of inputs) {
    // An mbox saved with CRLF line ends throughout (mail as it travels) is read as LF, so that line
    // numbers and hunks are the mail's; a CR inside an LF mbox is a patch's own and stays.
    const text = /^[^\n]*\r\n/.test(raw) ? raw.replace(/\r\n/g, '\n') : raw;
    const messages = splitMbox(text);
    if (messages.length === 0) {
      // a plain diff with no mail around it
      const d = diffOf(text);
      if (d)
        series.patches.push({
          index: ++order,
          total: 0,
          label: '',
          version: 1,
          subject: file,
          written: file,
          author: '',
          date: '',
          messageId: '',
          source: file,
          line: 1,
          diffLine: d.offset + 1,
          files: parseDiff(byteString(d.diff)).files,
        });
      else series.problems.push({ source: file, line: 1, message: 'neither an mbox, a mail nor a diff' });
      continue;
    }
    for (const m of messages) await readMessage(m.body, file, m.line, series, ++order);
  }
  numberSeries(series);
  return series;
}

/**
 * Orders the patches and checks their numbers as a maintainer would: a mail without a number in a
 * numbered series, a number twice, lengths that disagree, and numbers not in the input are notices
 * that name the mail. Every patch keeps a unique place, so that findings never go to two mails.
 */
function numberSeries(series: Series): void {
  const patches = series.patches;
  const numbered = patches.filter((p) => p.number !== undefined);
  // every mail numbered: in the order of the numbers; else in the order read
  if (numbered.length === patches.length) patches.sort((a, b) => a.number! - b.number! || a.index - b.index);
  const totals = [...new Set(numbered.map((p) => p.total).filter((t) => t > 0))];
  const total = Math.max(0, ...totals);
  const where = (p: Patch): string => `"${p.written}" (${p.source}:${p.line})`;
  patches.forEach((p, k) => {
    p.index = k + 1;
    if (!p.total) p.total = total || patches.length;
  });
  const clean = numbered.length === patches.length;
  for (const p of patches) p.label = p.number !== undefined ? `${p.number}/${p.total}` : clean || numbered.length === 0 ? `${p.index}/${p.total}` : `#${p.index}`;
  if (numbered.length === 0) return;
  for (const p of patches)
    if (p.number === undefined)
      series.problems.push({ source: p.source, line: p.line, message: `${where(p)} has no patch number, in a series numbered to ${total}; it is reviewed as patch #${p.index}, in the order read` });
  const seen = new Map<number, Patch>();
  for (const p of numbered) {
    const first = seen.get(p.number!);
    if (first) series.problems.push({ source: p.source, line: p.line, message: `two mails are patch ${p.number}/${total}: ${where(first)} and ${where(p)}` });
    else seen.set(p.number!, p);
    if (totals.length > 1 && p.total !== total) series.problems.push({ source: p.source, line: p.line, message: `${where(p)} says it is one of ${p.total}, where the series has ${total}` });
  }
  const missing: number[] = [];
  for (let m = 1; m <= total; m++) if (!seen.has(m)) missing.push(m);
  if (missing.length) {
    const first = numbered[0]!;
    series.problems.push({ source: first.source, line: 1, message: `the series has ${seen.size} of its ${total} patches: ${ranges(missing)} ${missing.length === 1 ? 'is' : 'are'} not in the input` });
  }
}

/** 1, 2, 3, 5, 7, 8 as "1-3, 5, 7-8". */
function ranges(list: readonly number[]): string {
  const out: string[] = [];
  for (let k = 0; k < list.length;) {
    let j = k;
    while (j + 1 < list.length && list[j + 1] === list[j]! + 1) j++;
    out.push(j === k ? `${list[k]}` : `${list[k]}-${list[j]}`);
    k = j + 1;
  }
  return out.join(', ');
}

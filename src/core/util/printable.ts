/**
 * Text from a patch or a tree as a terminal or a mail client may safely show it. A subject decoded
 * from an encoded-word, an author's name or a file name can hold any character: escape sequences
 * that retitle or clear the terminal, carriage returns that overwrite a line, newlines that forge one,
 * C1 controls some terminals obey, and the bidirectional overrides of "Trojan Source". Each becomes a
 * visible escape.
 */

// C0 controls, DEL, C1 controls, and the bidi embeddings, overrides and isolates
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_KEEP_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A byte of a file name that is not UTF-8, kept as U+DC00 + the byte (fsName.ts), shown as the byte. */
const NAME_BYTE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g;

function escape(c: string): string {
  const code = c.charCodeAt(0);
  if (code >= 0xdc80 && code <= 0xdcff) return `\\x${(code - 0xdc00).toString(16)}`;
  return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`);
}

/** One field (a subject, a name, a path): every control character escaped, newlines and tabs too. */
export function printable(s: string): string {
  return s.replace(UNSAFE, escape).replace(NAME_BYTE, escape);
}

/** Whole output: every control character escaped but the newlines, CRLFs (CSV) and tabs that lay it out. */
export function printableLines(s: string): string {
  return s
    .replace(UNSAFE_KEEP_LINES, escape)
    .replace(/\r(?!\n)/g, '\\r')
    .replace(NAME_BYTE, escape);
}

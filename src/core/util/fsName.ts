/**
 * File names as the kernel's file systems have them: bytes, nearly always UTF-8. A name that is not
 * UTF-8 (a Latin-1 "f\xff.c" from an old tarball) cannot be a plain JS string without losing bytes,
 * and a path that lost them names no file (ENOENT). Such a name keeps each byte that is not part of
 * valid UTF-8 as the code unit U+DC00 + byte, as Python's surrogateescape does, so that it goes back
 * to the same bytes for the file system, in the cache and in the addon (getPath(), pathString()).
 */
import { isUtf8 } from 'node:buffer';

/** A lone low surrogate from U+DC80 to U+DCFF: an escaped byte. */
const ESCAPED = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/** A name's bytes as a string: UTF-8, with the bytes that are not valid UTF-8 escaped. */
export function decodeName(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return buf.toString('utf8');
  let out = '';
  const fatal = new TextDecoder('utf-8', { fatal: true });
  for (let k = 0; k < buf.length;) {
    const len = sequenceLength(buf, k);
    if (len === 0) {
      out += String.fromCharCode(0xdc00 + buf[k]!);
      k++;
    } else {
      out += len === 1 ? String.fromCharCode(buf[k]!) : fatal.decode(buf.subarray(k, k + len));
      k += len;
    }
  }
  return out;
}

/** The length of the valid UTF-8 sequence at buf[k], or 0 (WHATWG's rules: no overlong forms, no surrogates). */
function sequenceLength(buf: Uint8Array, k: number): number {
  const c = buf[k]!;
  if (c < 0x80) return 1;
  const need = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (!need || k + need > buf.length) return 0;
  const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
  const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
  if (buf[k + 1]! < lo || buf[k + 1]! > hi) return 0;
  for (let j = 2; j < need; j++) if ((buf[k + j]! & 0xc0) !== 0x80) return 0;
  return need;
}

/** A name's bytes again: UTF-8, and each escaped byte as itself. */
export function encodeName(name: string): Buffer {
  if (!ESCAPED.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let from = 0;
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    if (c >= 0xd800 && c <= 0xdbff && k + 1 < name.length) {
      const d = name.charCodeAt(k + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        k++;
        continue;
      }
    }
    if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(Buffer.from(name.slice(from, k), 'utf8'), Buffer.of(c - 0xdc00));
      from = k + 1;
    }
  }
  parts.push(Buffer.from(name.slice(from), 'utf8'));
  return Buffer.concat(parts);
}

/** What to hand the file system for a path: the string itself, or its bytes when it holds escaped ones. */
export function fsPath(path: string): string | Buffer {
  return ESCAPED.test(path) ? encodeName(path) : path;
}

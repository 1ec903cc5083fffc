/**
 * Reads and scans one file, turning bad input into a counted skip instead of an exception.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exportMacros } from './exportMacros';
import { Interner } from './interner';
import { type FileScan, Scanner, SourceKind, sourceKindOf } from './lexer';

/** Far above the largest kernel source: generated amdgpu register headers pass 10 MB. */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;

export type SkipReason = 'binary' | 'too-large' | 'unreadable';

export interface Skipped {
  path: string;
  reason: SkipReason;
  detail: string;
}

export interface ScannedFile {
  path: string;
  size: number;
  mtimeMs: number;
  scan?: FileScan;
  skipped?: Skipped;
}

export function newScanner(interner = new Interner()): Scanner {
  return new Scanner(interner, [...exportMacros.keys()]);
}

/** Headers outside tools/ and scripts/ can hold proxies: inline functions and macros that kernel code uses. */
export function proxiesAllowed(path: string): boolean {
  return path.endsWith('.h') && !path.startsWith('tools/') && !path.startsWith('scripts/');
}

export function scanBuffer(scanner: Scanner, path: string, buf: Uint8Array, wrapperNames?: ReadonlySet<string>, keepDefs = false): FileScan {
  const kind = sourceKindOf(path) ?? SourceKind.C;
  return scanner.scan(buf, { kind, proxies: proxiesAllowed(path), wrapperNames, keepDefs });
}

export function scanPath(
  scanner: Scanner,
  root: string,
  path: string,
  maxBytes = DEFAULT_MAX_FILE_BYTES,
  wrapperNames?: ReadonlySet<string>,
): ScannedFile {
  const abs = join(root, path);
  let size = 0;
  let mtimeMs = 0;
  try {
    const st = statSync(abs);
    size = st.size;
    mtimeMs = st.mtimeMs;
    if (size > maxBytes) {
      return { path, size, mtimeMs, skipped: { path, reason: 'too-large', detail: `${size} bytes, over the ${maxBytes}-byte limit` } };
    }
    const buf = readFileSync(abs);
    const nul = buf.indexOf(0);
    if (nul >= 0) {
      const line = countLines(buf, nul);
      return { path, size, mtimeMs, skipped: { path, reason: 'binary', detail: `NUL byte at line ${line}` } };
    }
    return { path, size, mtimeMs, scan: scanBuffer(scanner, path, buf, wrapperNames) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return { path, size, mtimeMs, skipped: { path, reason: 'unreadable', detail: code } };
  }
}

export function countLines(buf: Uint8Array, end: number): number {
  let line = 1;
  let j = buf.indexOf(10);
  while (j >= 0 && j < end) {
    line++;
    j = buf.indexOf(10, j + 1);
  }
  return line;
}

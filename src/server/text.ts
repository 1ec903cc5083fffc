/** Positions, words and paths: what the LSP speaks in, converted to the engine's tree paths. */
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decodeName, fsPath } from '../core/util/fsName';
import { readRegularText } from '../core/util/regularFile';
import { DEFAULT_MAX_FILE_BYTES } from '../core/scan/scanFile';

export function uriToTreePath(root: string, uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  const rel = relative(root, uriToPath(uri));
  if (rel.startsWith('..') || rel === '') return undefined;
  return rel.split(sep).join('/');
}

/** A file: URI's path; percent-escapes that are not UTF-8 (a name that is not) stay the bytes they name (fsName.ts). */
export function uriToPath(uri: string): string {
  try {
    return fileURLToPath(uri);
  } catch (e) {
    const m = /^file:\/\/(?:localhost)?(\/[^?#]*)/.exec(uri);
    if (!m) throw e;
    return decodeName(
      Buffer.from(
        m[1]!.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
        'latin1',
      ),
    );
  }
}

export function treePathToUri(root: string, path: string): string {
  const abs = join(root, path);
  const raw = fsPath(abs);
  if (typeof raw === 'string') return pathToFileURL(abs).toString();
  // the name's own bytes, percent-escaped, where pathToFileURL would write U+FFFD
  return `file://${[...raw].map((b) => (/[A-Za-z0-9\-._~/!$&'()*+,;=:@]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('')}`;
}

/** [A-Za-z0-9_] */
const isId = (c: string): boolean => (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c === '_';

/** The C identifier at a character of a line, if any. */
export function wordAt(line: string, character: number): { word: string; start: number; end: number } | undefined {
  let s = Math.min(character, line.length);
  let e = s;
  while (s > 0 && isId(line[s - 1]!)) s--;
  while (e < line.length && isId(line[e]!)) e++;
  if (s === e || (line[s]! >= '0' && line[s]! <= '9')) return undefined;
  return { word: line.slice(s, e), start: s, end: e };
}

/** Reads files' lines on demand, once per request. */
export class LineReader {
  private cache = new Map<string, string[] | null>();
  constructor(private readonly root: string) {}

  line(path: string, line: number): string | undefined {
    let lines = this.cache.get(path);
    if (lines === undefined) {
      try {
        lines = readRegularText(join(this.root, path), { maxBytes: DEFAULT_MAX_FILE_BYTES }).split('\n');
      } catch {
        lines = null;
      }
      this.cache.set(path, lines);
    }
    return lines?.[line - 1];
  }

  /** The column span of `word` on a line, or the whole line when it is not there. */
  span(path: string, line: number, word: string): { start: number; end: number } {
    const text = this.line(path, line) ?? '';
    const re = new RegExp(`\\b${word.replace(/[^\w]/g, '')}\\b`);
    const m = re.exec(text);
    return m ? { start: m.index, end: m.index + word.length } : { start: 0, end: text.length };
  }
}

export { md } from '../core/util/markdown';

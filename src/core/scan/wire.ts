/**
 * The scanner's wire format, as both builds of src/scanner hand it over (the addon's scan() and
 * scanParallel(), the wasm build's kx_part()): a batch of files' uses, proxy names and new names as
 * typed arrays, and the rare structured parts as JSON tuples (src/scanner/wire.h), read back here.
 */
import { type Definition, type DefKind, type FileScan, type ImportNs, type IncludeRef, type LocalMacro, PROXY_MACRO, type RawExport, type ScannedFile, type WrapperCandidate } from './scanTypes';

/** A batch as the scanner builds it (src/scanner/batch.h's ScanOut). */
export interface RawBatch {
  fresh: boolean;
  names: Uint8Array;
  nameLens: Uint16Array;
  uses: Uint32Array;
  proxies: Uint32Array;
  stat: Float64Array;
  info: Int32Array;
  json: string;
}

/** One batch: files whose uses number names on this thread's wire, and the names first sent now. */
export interface NativeBatch {
  fresh: boolean;
  names: Uint8Array;
  nameLens: Uint16Array;
  files: ScannedFile[];
  /** The buffers every file's uses and proxies view; transfer them once. */
  buffers: ArrayBuffer[];
}

const DEF_KINDS: DefKind[] = ['function', 'variable', 'macro-variable', 'asm-label'];

type JExport = [string, string[], number, number, number, number, string, (string | null)?, number?, number?, number?];
type JDef = [string, number, number, number, number];
type JWrapper = [string, string[], number, string, number];
type JMacro = [string, string[] | null, string, number];
type JInclude = [string, number, number, number, number];
interface JFile {
  e: JExport[];
  d: JDef[];
  w: JWrapper[];
  i: [string, number][];
  m: JMacro[];
  n: JInclude[];
}

export function toBatch(paths: string[], raw: RawBatch, maxBytes: number): NativeBatch {
  return { fresh: raw.fresh, names: raw.names, nameLens: raw.nameLens, files: toFiles(paths, raw, maxBytes), buffers: [raw.uses.buffer as ArrayBuffer, raw.proxies.buffer as ArrayBuffer] };
}

/** Per file in a batch's `info`: status, use triples, lines, NUL line, proxies (as batch.h's scanInto() pushes them). */
export const INFO_FIELDS = 5;

export function toFiles(paths: string[], raw: RawBatch, maxBytes: number): ScannedFile[] {
  const parts = JSON.parse(raw.json) as (JFile | 0 | string)[];
  const out: ScannedFile[] = [];
  let use = 0;
  let proxy = 0;
  for (let k = 0; k < paths.length; k++) {
    const path = paths[k]!;
    const size = raw.stat[k * 2]!;
    const stamp = raw.stat[k * 2 + 1]!;
    const info = k * INFO_FIELDS;
    const status = raw.info[info]!;
    const triples = raw.info[info + 1]!;
    const part = parts[k]!;
    if (status === 1) out.push({ path, size, stamp, skipped: { path, reason: 'binary', detail: `NUL byte at line ${raw.info[info + 3]!}` } });
    else if (status === 2) out.push({ path, size, stamp, skipped: { path, reason: 'too-large', detail: `${size} bytes, over the ${maxBytes}-byte limit` } });
    else if (status === 3) out.push({ path, size, stamp, skipped: { path, reason: 'unreadable', detail: part as string } });
    else {
      const uses = raw.uses.subarray(use, use + triples * 3);
      use += triples * 3;
      const proxies = raw.info[info + 4]! * 3;
      const scan = toScan(part as JFile | 0, uses, proxies ? raw.proxies.subarray(proxy, proxy + proxies) : NO_PROXIES, raw.info[info + 2]!);
      proxy += proxies;
      out.push({ path, size, stamp, scan });
    }
  }
  return out;
}

/**
 * One empty list for every empty part of every scan: linux's scans have 371,716 empty lists among
 * 397,117, and each was an object to allocate, to clone from a worker, and to collect. Nothing adds
 * to a scan's lists (the cache's records share one empty list the same way).
 */
const NONE: never[] = [];
const NO_PROXIES = new Uint32Array(0);

function some<T, U>(list: T[], f: (x: T) => U): U[] {
  return list.length ? list.map(f) : NONE;
}

/** A scan's proxies one record each, named by `name` (an id's name in the table the scan's ids are of). */
export function proxyRecords(scan: FileScan, name: (id: number) => string): { name: string; line: number; kind: 'macro' | 'inline' }[] {
  const out = [];
  for (let k = 0; k < scan.proxies.length; k += 3)
    out.push({ name: name(scan.proxies[k]!), line: scan.proxies[k + 1]!, kind: scan.proxies[k + 2] === PROXY_MACRO ? ('macro' as const) : ('inline' as const) });
  return out;
}

/** A scan with nothing in it but its uses and lines (and its proxies). */
export function emptyScan(uses: Uint32Array, lines: number, proxies: Uint32Array = NO_PROXIES): FileScan {
  return { exports: NONE, defs: NONE, proxies, wrappers: NONE, imports: NONE, localMacros: NONE, includes: NONE, uses, lines };
}

function toScan(p: JFile | 0, uses: Uint32Array, proxies: Uint32Array, lines: number): FileScan {
  if (p === 0) return emptyScan(uses, lines, proxies);
  const exports = some(p.e, (e): RawExport => {
    const x: RawExport = { macro: e[0], args: e[1], line: e[2], col: e[3], endLine: e[4], endCol: e[5], cond: e[6] };
    if (typeof e[7] === 'string') {
      x.fileNamespace = e[7];
      x.fileNamespaceLine = e[8]!;
      if (e[9] === 1) x.fileNamespaceLate = true;
    }
    if (e[10] === 1) x.printed = true;
    return x;
  });
  const defs = some(p.d, (d): Definition => ({ name: d[0], line: d[1], endLine: d[2], isStatic: d[3] === 1, kind: DEF_KINDS[d[4]]! }));
  const wrappers = some(p.w, (w): WrapperCandidate => {
    const c: WrapperCandidate = { name: w[0], params: w[1], line: w[2], body: w[3] };
    if (w[4] >= 0) c.undefLine = w[4];
    return c;
  });
  const imports = some(p.i, (i): ImportNs => ({ ns: i[0], line: i[1] }));
  const localMacros = some(p.m, (m): LocalMacro => ({ name: m[0], params: m[1], body: m[2], line: m[3] }));
  const includes = some(p.n, (n): IncludeRef => ({ target: n[0], system: n[1] === 1, line: n[2], col: n[3], endCol: n[4] }));
  return { exports, defs, proxies, wrappers, imports, localMacros, includes, uses, lines };
}

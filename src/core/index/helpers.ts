/**
 * Consumers through a helper: a file that reaches an export only by calling a non-static, non-exported
 * function of a consumer file. kfd_svm.c calls amdgpu_hmm_range_get_pages() in amdgpu_mn.c, which
 * calls hmm_range_fault(). Such a helper can only be called from its own module (or from built-in
 * code), so these files are listed beside the consumers but never decide a finding.
 */
import { join } from 'node:path';
import { consumerNames } from '../exportMacros';
import type { Consumer, Export, KernelIndex } from './index';
import { AS_C_SOURCE, scratchScanner } from '../scan/scanFile';
import { readRegularFile } from '../util/regularFile';
import { DEFAULT_MAX_FILE_BYTES } from '../scan/scanFile';

/** Above this many direct consumer files, helpers are not looked for: each of those files is read again. */
export const MAX_HELPER_SOURCES = 24;

export interface Helper {
  name: string;
  line: number;
}

interface FunctionSpan {
  name: string;
  line: number;
  /** byte offsets of the definition in the file */
  from: number;
  to: number;
}

/** The non-static function definitions of a C file, with where each starts and ends. */
function functionSpans(buf: Uint8Array): FunctionSpan[] {
  const fns = scratchScanner()
    .scan(buf, AS_C_SOURCE, { keepDefs: true })
    .defs.filter((d) => d.kind === 'function' && !d.isStatic);
  if (fns.length === 0) return [];
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const starts = [0];
  for (let k = text.indexOf(10); k >= 0; k = text.indexOf(10, k + 1)) starts.push(k + 1);
  return fns.map((d) => ({ name: d.name, line: d.line, from: starts[d.line - 1] ?? buf.length, to: starts[d.endLine] ?? buf.length }));
}

/** The non-static functions of a C file whose bodies use one of `names`, outside comments and strings. */
export function functionsUsing(buf: Uint8Array, names: readonly string[], spans = functionSpans(buf)): Helper[] {
  if (spans.length === 0) return [];
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  // where the names occur at all, found once for the file, not once per function
  const hits: number[] = [];
  for (const n of names) for (let at = text.indexOf(n); at >= 0; at = text.indexOf(n, at + n.length)) hits.push(at);
  if (hits.length === 0) return [];
  hits.sort((a, b) => a - b);
  const scanner = scratchScanner();
  const out: Helper[] = [];
  for (const d of spans) {
    if (!hits.some((at) => at >= d.from && at < d.to)) continue;
    // The definition alone, scanned as a file of its own: its uses are exactly the body's, outside
    // comments and strings.
    const uses = scanner.scan(text.subarray(d.from, d.to), AS_C_SOURCE).uses;
    const ids = new Set(names.map((n) => scanner.interner.find(n)).filter((id) => id >= 0));
    let found = false;
    for (let k = 0; k < uses.length && !found; k += 3) found = ids.has(uses[k]!) && uses[k + 2] === 0;
    if (found) out.push({ name: d.name, line: d.line });
  }
  return out;
}

/**
 * Files that reach `exp` through a helper function of one of its direct consumer files, `direct` being
 * index.consumers(exp). A helper of a helper is not followed, nor a helper that is exported itself.
 */
export function helperConsumers(index: KernelIndex, exp: Export, direct: readonly Consumer[]): Consumer[] {
  // A hover asks again and again for the same export; its files are read once per version of the index.
  const cached = answered.get(exp);
  if (cached?.version === index.version) return cached.consumers.slice();
  const consumers = findHelperConsumers(index, exp, direct);
  answered.set(exp, { version: index.version, consumers });
  return consumers;
}

const answered = new WeakMap<Export, { version: number; consumers: Consumer[] }>();

function findHelperConsumers(index: KernelIndex, exp: Export, direct: readonly Consumer[]): Consumer[] {
  const sources = direct.filter((c) => !c.via && c.cls !== 'tools' && c.file.endsWith('.c'));
  if (sources.length === 0 || sources.length > MAX_HELPER_SOURCES) return [];
  const names = consumerNames(exp.flavour, exp.name);
  const seen = new Set([exp.file, ...direct.map((c) => c.file)]);
  const out: Consumer[] = [];
  for (const src of sources) {
    const file = fileSpans(index, src.file);
    if (!file) continue;
    for (const h of functionsUsing(file.buf, names, file.spans)) {
      if (index.exportsNamed(h.name).length) continue;
      for (const use of index.directUses(h.name)) {
        if (seen.has(use.file)) continue;
        seen.add(use.file);
        out.push({ file: use.file, line: use.line, cls: index.classify(use.file, exp.file), via: { name: h.name, file: src.file, line: h.line, kind: 'function' } });
      }
    }
  }
  return out;
}

/**
 * Consumer files' functions, found once for the index's version: a query for every export of a tree
 * asks 107,000 times about 17,500 files (linux-6.1), and scanning a file for its functions is most
 * of the cost. The spans of up to 32,768 files are kept, and the bytes of the last 512 read. A file
 * whose length is not what its spans were found in is scanned again.
 */
const spansCache = new Map<string, { version: number; bytes: number; spans: FunctionSpan[] }>();
const bufCache = new Map<string, { version: number; buf: Buffer }>();
const MAX_SPANS_FILES = 32_768;
const MAX_BUF_FILES = 512;

function fileSpans(index: KernelIndex, path: string): { buf: Buffer; spans: FunctionSpan[] } | undefined {
  const key = `${index.root}\u0000${path}`;
  let buf = bufCache.get(key);
  if (buf?.version !== index.version) {
    try {
      buf = { version: index.version, buf: readRegularFile(join(index.root, path), { maxBytes: DEFAULT_MAX_FILE_BYTES }) };
    } catch {
      return undefined;
    }
    remember(bufCache, key, buf, MAX_BUF_FILES);
  }
  let spans = spansCache.get(key);
  if (spans?.version !== index.version || spans.bytes !== buf.buf.length) {
    spans = { version: index.version, bytes: buf.buf.length, spans: functionSpans(buf.buf) };
    remember(spansCache, key, spans, MAX_SPANS_FILES);
  }
  return { buf: buf.buf, spans: spans.spans };
}

function remember<V>(cache: Map<string, V>, key: string, value: V, max: number): void {
  cache.delete(key);
  if (cache.size >= max) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

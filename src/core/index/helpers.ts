/**
 * Consumers through a helper: a file that reaches an export only by calling a non-static, non-exported
 * function of a consumer file. kfd_svm.c calls amdgpu_hmm_range_get_pages() in amdgpu_mn.c, which
 * calls hmm_range_fault(). Such a helper can only be called from its own module (or from built-in
 * code), so these files are listed beside the consumers but never decide a finding.
 */
import { join } from 'node:path';
import { consumerNames } from '../exportMacros';
import type { Consumer, Export, KernelIndex } from './index';
import { AS_C_SOURCE, DEFAULT_MAX_FILE_BYTES, scratchScanner } from '../scan/scanFile';
import { readRegularFile } from '../util/regularFile';
import { DEF_CTX, type Definition, type FileScan } from '../scan/scanTypes';
import { NativeScanner, nativeAddon, scanParallel } from '../scan/nativeScanner';
import { KnownIds } from '../scan/idMap';
import type { NameTable } from '../scan/scanPool';
import { Marks } from '../util/typed';

/** Above this many direct consumer files, helpers are not looked for: each of those files is read and scanned. */
export const MAX_HELPER_SOURCES = 24;

export interface Helper {
  name: string;
  line: number;
}

/**
 * Whether a file is the exporter's, a direct consumer's or one seen before (then it is seen now),
 * marked by file number: a Set of the paths was 0.4 s of every export's helper searches on linux-6.1,
 * whose direct consumers, through headers, are thousands of files for hundreds of exports.
 */
function seenFiles(index: KernelIndex, exp: Export, direct: readonly Consumer[] | (() => ArrayLike<number>)): (path: string) => boolean {
  seenMarks.clear(index.files.length);
  const own = index.byPath.get(exp.file);
  if (own !== undefined) seenMarks.mark(own);
  if (typeof direct === 'function') {
    const files = direct();
    for (let k = 0; k < files.length; k++) seenMarks.mark(files[k]!);
  } else {
    for (const c of direct) {
      const fileIdx = index.byPath.get(c.file);
      if (fileIdx !== undefined) seenMarks.mark(fileIdx);
    }
  }
  return (path) => {
    const fileIdx = index.byPath.get(path);
    // a file the index does not number (none today) is left out
    if (fileIdx === undefined || seenMarks.has(fileIdx)) return true;
    seenMarks.mark(fileIdx);
    return false;
  };
}
const seenMarks = new Marks();

/** A non-static function of a file, and the names its body uses in code (outside comments and strings), by number. */
interface FunctionUses {
  name: string;
  line: number;
  uses: number[];
}

/**
 * A file's non-static functions and the names each body uses, as the scan numbers them, from one scan
 * with keepDefs: such a scan records a name once per top-level statement and once per top-level body
 * (src/scanner/scan.h's resetStmt(), scanRun.h's '{'), so each body's uses are the scan's uses within
 * its lines. `keep` picks the functions wanted.
 */
function functionUses(scan: FileScan, keep: (d: Definition) => boolean = () => true): FunctionUses[] {
  const defs = scan.defs.filter((d) => d.kind === 'function' && !d.isStatic && keep(d));
  if (defs.length === 0) return [];
  const out = defs.map((d) => ({ name: d.name, line: d.line, uses: [] as number[] }));
  const { uses } = scan;
  for (let k = 0; k < uses.length; k += 3) {
    if (uses[k + 2] === DEF_CTX) continue;
    const line = uses[k + 1]!;
    for (let j = 0; j < defs.length; j++) if (line >= defs[j]!.line && line <= defs[j]!.endLine) out[j]!.uses.push(uses[k]!);
  }
  return out;
}

/** The non-static functions of a C file whose bodies use one of `names`, outside comments and strings. */
export function functionsUsing(buf: Uint8Array, names: readonly string[]): Helper[] {
  const scanner = scratchScanner();
  return functionUses(scanner.scan(buf, AS_C_SOURCE, { keepDefs: true }))
    .filter((f) => f.uses.some((id) => names.includes(scanner.interner.name(id))))
    .map((f) => ({ name: f.name, line: f.line }));
}

/**
 * A possible helper as the cache keeps it: the names its body uses by their numbers in the index's
 * name table. As strings (each batch's own copies) they were 34 MB of a query for every export.
 */
interface Candidate {
  name: string;
  line: number;
  uses: Int32Array;
}

/** A scan's functions as candidates, the scan's name numbers mapped to the index's by `idOf`. */
function candidates(scan: FileScan, keep: (d: Definition) => boolean, idOf: (id: number) => number): Candidate[] {
  return functionUses(scan, keep).map((f) => ({ name: f.name, line: f.line, uses: Int32Array.from(f.uses, idOf) }));
}

/**
 * A tree file's non-static functions that `keep` picks, with their bodies' names. The addon reads
 * and scans the file where it loads (a third faster than the WebAssembly build); without it the file
 * is read here and scanned by the WebAssembly build.
 */
let defScanner: { scanner: NativeScanner; ids: KnownIds; table: NameTable; version: number } | undefined;
function treeCandidates(index: KernelIndex, path: string, keep: (d: Definition) => boolean): Candidate[] | undefined {
  const addon = nativeAddon();
  if (!addon) {
    let buf: Buffer;
    try {
      buf = readRegularFile(join(index.root, path), { maxBytes: DEFAULT_MAX_FILE_BYTES });
    } catch {
      return undefined;
    }
    const scanner = scratchScanner();
    // a name the index has never seen (the file changed since) cannot be an export's
    return candidates(scanner.scan(buf, AS_C_SOURCE, { keepDefs: true }), keep, (id) => index.table.get(scanner.interner.name(id)) ?? -1);
  }
  // a name the table lacked may be in it once a file is scanned again: its lookups start afresh
  if (defScanner?.table !== index.table || defScanner.version !== index.version)
    defScanner = { scanner: new NativeScanner(addon, 1 << 16), ids: new KnownIds(index.table.interner), table: index.table, version: index.version };
  const batch = defScanner.scanner.scan(index.root, [path], DEFAULT_MAX_FILE_BYTES, undefined, true);
  defScanner.ids.add(batch.names, batch.nameLens, batch.fresh);
  const scan = batch.files[0]?.scan;
  const ids = defScanner.ids;
  return scan && candidates(scan, keep, (id) => ids.of(id));
}

const AHEAD_RUN = 512;

/**
 * The helper searches of many exports, scanned ahead: every export of linux-6.1 asks about 17,500
 * consumer files, 2.3 s of scans on the main thread, where the walk of their consumers takes 10 s
 * more. One of the addon's threads scans those files in the order the searches will ask for them,
 * while the main thread walks, and keeps each file's possible helpers as a search would; a search that
 * comes first scans its file itself, as without this. The batches land when the main thread lets the
 * event loop turn. Returns what stops the scan (resolved once its thread is done), or undefined
 * without the addon or anything to scan.
 */
export function scanHelpersAhead(index: KernelIndex, exps: Iterable<Export>): (() => Promise<void>) | undefined {
  const addon = nativeAddon();
  if (!addon) return undefined;
  const flags = definingFilesOf(index);
  const paths: string[] = [];
  const planned = new Uint8Array(index.files.length);
  for (const e of exps) {
    for (const path of index.directSources(e, MAX_HELPER_SOURCES) ?? []) {
      const fileIdx = index.byPath.get(path);
      if (fileIdx === undefined || flags[fileIdx] !== 1 || planned[fileIdx] === 1) continue;
      planned[fileIdx] = 1;
      paths.push(path);
    }
  }
  if (paths.length === 0) return undefined;
  const { version } = index;
  let stopped = false;
  // In runs of 512 files, one after the other: the addon's guided chunks for one thread are up to
  // 4,096 files, a batch of 50 MB that waited for the main thread to take it.
  const scanned = (async () => {
    for (let from = 0; from < paths.length && !stopped; from += AHEAD_RUN) {
      const run = paths.slice(from, from + AHEAD_RUN);
      const ids = new KnownIds(index.table.interner);
      await scanParallel(addon, { root: index.root, paths: run, maxBytes: DEFAULT_MAX_FILE_BYTES, threads: 1, chunkFiles: AHEAD_RUN, keepDefs: true }, (_scanner, first, batch) => {
        if (stopped || index.version !== version) return ((stopped = true), false);
        ids.add(batch.names, batch.nameLens, batch.fresh);
        batch.files.forEach((f, k) => {
          const path = run[first + k]!;
          if (f.scan && !candidatesCache.has(cacheKey(index, path)))
            keepCandidates(
              index,
              path,
              candidates(f.scan, candidateIn(index, path), (id) => ids.of(id)),
            );
        });
        return true;
      });
    }
  })().catch(() => undefined);
  return () => {
    stopped = true;
    return scanned;
  };
}

/**
 * Files that reach `exp` through a helper function of one of its direct consumer files, `direct` being
 * index.consumers(exp), or a function that gives their files' numbers in the index. A helper of a
 * helper is not followed, nor a helper that is exported itself.
 */
export function helperConsumers(index: KernelIndex, exp: Export, direct: readonly Consumer[] | (() => ArrayLike<number>)): Consumer[] {
  // A hover asks again and again for the same export; its files are read once per version of the index.
  const cached = answered.get(exp);
  if (cached?.version === index.version) return cached.consumers.slice();
  const consumers = findHelperConsumers(index, exp, direct);
  answered.set(exp, { version: index.version, consumers });
  return consumers;
}

const answered = new WeakMap<Export, { version: number; consumers: Consumer[] }>();

function findHelperConsumers(index: KernelIndex, exp: Export, direct: readonly Consumer[] | (() => ArrayLike<number>)): Consumer[] {
  const sources = index.directSources(exp, MAX_HELPER_SOURCES);
  if (!sources?.length) return [];
  const ids = consumerNames(exp.flavour, exp.name).flatMap((n) => index.table.get(n) ?? []);
  if (ids.length === 0) return [];
  let seen: ((path: string) => boolean) | undefined;
  const out: Consumer[] = [];
  for (const src of sources) {
    for (const h of candidatesOf(index, src) ?? []) {
      if (!ids.some((id) => h.uses.includes(id))) continue;
      seen ??= seenFiles(index, exp, direct);
      for (const use of index.directUses(h.name)) {
        if (seen(use.file)) continue;
        out.push({ file: use.file, line: use.line, cls: index.classify(use.file, exp.file), via: { name: h.name, file: src, line: h.line, kind: 'function' } });
      }
    }
  }
  return out;
}

/**
 * A consumer file's possible helpers (non-static, non-exported functions that another file calls),
 * found once for the index's version: a query for every export of a tree asks 107,000 times about
 * 17,500 files (linux-6.1). Reading each file again for each
 * question, and finding its functions, was most of the time of that query. The answers for up to
 * 32,768 files are kept.
 */
const candidatesCache = new Map<string, { version: number; list: Candidate[] }>();
const MAX_CANDIDATE_FILES = 32_768;

function candidatesOf(index: KernelIndex, path: string): Candidate[] | undefined {
  const cached = candidatesCache.get(cacheKey(index, path));
  if (cached?.version === index.version) return cached.list;
  const fileIdx = index.byPath.get(path);
  if (fileIdx !== undefined && !mayHaveHelpers(index, fileIdx)) return [];
  const list = treeCandidates(index, path, candidateIn(index, path));
  if (list) keepCandidates(index, path, list);
  return list;
}

const cacheKey = (index: KernelIndex, path: string): string => `${index.root}\u0000${path}`;

/** Whether a function of `path` is a possible helper: not exported, and called from another file. */
const candidateIn =
  (index: KernelIndex, path: string) =>
  (d: Definition): boolean =>
    !index.exportsNamed(d.name).length && index.directUses(d.name).some((u) => u.file !== path);

function keepCandidates(index: KernelIndex, path: string, list: Candidate[]): void {
  const key = cacheKey(index, path);
  candidatesCache.delete(key);
  if (candidatesCache.size >= MAX_CANDIDATE_FILES) candidatesCache.delete(candidatesCache.keys().next().value!);
  candidatesCache.set(key, { version: index.version, list });
}

/**
 * Per file of the index, whether it defines a name that another file uses and that is not exported:
 * a file without one has no helper, and is not read. Worked out in one pass over the postings (60 ms
 * on linux-6.1), once a version of the index has had its files read for 64 questions: a bulk query
 * skips 44% of them, a hover never waits for the pass.
 */
let definers: { index: WeakRef<KernelIndex>; version: number; misses: number; flags?: Uint8Array } | undefined;

function mayHaveHelpers(index: KernelIndex, fileIdx: number): boolean {
  const d = definersOf(index);
  if (!d.flags && ++d.misses > 64) d.flags = definingFiles(index);
  return d.flags ? d.flags[fileIdx] === 1 : true;
}

/** definingFiles() now, kept for mayHaveHelpers() too. */
function definingFilesOf(index: KernelIndex): Uint8Array {
  const d = definersOf(index);
  return (d.flags ??= definingFiles(index));
}

function definersOf(index: KernelIndex): NonNullable<typeof definers> {
  if (definers?.index.deref() !== index || definers.version !== index.version) definers = { index: new WeakRef(index), version: index.version, misses: 0 };
  return definers;
}

function definingFiles(index: KernelIndex): Uint8Array {
  const exported = new Set<number>();
  for (const e of index.exports) {
    const id = index.table.get(e.name);
    if (id !== undefined) exported.add(id);
  }
  const flags = new Uint8Array(index.files.length);
  const { offsets, postFile, postCtx } = index.postings;
  for (let id = 0; id + 1 < offsets.length; id++) {
    if (exported.has(id)) continue;
    // defined in one file or more, and used in a file that is not the only one defining it
    let defFile = -1;
    let defs = 0;
    let usedAway = false;
    for (let at = offsets[id]!, end = offsets[id + 1]!; at < end; at++) {
      if (postCtx[at] === DEF_CTX) {
        if (defs++ === 0) defFile = postFile[at]!;
        else if (postFile[at] !== defFile) defFile = -2;
      }
    }
    if (defs === 0) continue;
    for (let at = offsets[id]!, end = offsets[id + 1]!; at < end && !usedAway; at++) usedAway = postCtx[at] === 0 && (defFile === -2 || postFile[at] !== defFile);
    if (!usedAway) continue;
    for (let at = offsets[id]!, end = offsets[id + 1]!; at < end; at++) if (postCtx[at] === DEF_CTX) flags[postFile[at]!] = 1;
  }
  // files scanned again since the build (the overlay): every definer of a name they touch counts
  for (const [id, extra] of index.postings.overlay) {
    for (let k = 0; k < extra.length; k += 3) if (extra[k + 2] === DEF_CTX) flags[extra[k]!] = 1;
    if (id + 1 < offsets.length) for (let at = offsets[id]!, end = offsets[id + 1]!; at < end; at++) if (postCtx[at] === DEF_CTX) flags[postFile[at]!] = 1;
  }
  return flags;
}

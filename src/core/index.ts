/**
 * The index of one tree: every file's exports and definitions, and a postings list per identifier
 * (file, line, context) from which consumers are answered. One file can be re-scanned and its
 * contribution replaced without touching the rest.
 */
import { join, posix } from 'node:path';
import type { Cancellation } from './cancel';
import { type BaseClass, baseClass, classify, type ConsumerClass } from './classify';
import { consumerNames, type ExportFlavour, exportMacros, type ExportType, linkerSymbols } from './exportMacros';
import { emptyKbuild, kbuildNamespaceFor, type KbuildNamespaces, parseMakefile, readKbuildNamespaces, readMakefile, treeDir } from './kbuild';
import { DEF_CTX, type Definition, type FileScan, type ImportNs, type IncludeRef, type LocalMacro, type RawExport, type WrapperCandidate } from './scanTypes';
import { NOT_REGULAR } from './regularFile';
import { BUFFER_STAMP, countLines, DEFAULT_MAX_FILE_BYTES, type ScannedFile, type Skipped, newScanner, scanBuffer, scanPath } from './scanFile';
import { Interner } from './interner';
import { nativeAddon } from './nativeScanner';
import { NameTable, scanFiles } from './scanPool';
import { grown } from './typed';
import { walkTree, type WalkResult } from './walk';
import { pastedUses } from './pasted';
import { expand, type ExpandedExport, expandWrapperCall, parseWrapper, type Wrapper } from './wrappers';

export interface Export {
  /** The C identifier the macro names (for a tracepoint, the tracepoint's name). */
  name: string;
  /** Linker symbols, as Module.symvers lists them. */
  symbols: string[];
  type: ExportType;
  /** The export macro, after expanding any wrapper. */
  macro: string;
  /** The wrapper macro written at the call site, if any. */
  wrapper?: string;
  flavour: ExportFlavour;
  namespace?: string;
  /** EXPORT_SYMBOL_FOR_MODULES' module list. */
  modules?: string[];
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  cond: string;
  definition?: Definition;
  /** The export call in an included file that this export's #include line stands for (see resolveInclude). */
  includedFrom?: { file: string; line: number };
  /** A DEFAULT_SYMBOL_NAMESPACE the file defines after an #include: <linux/export.h> ignored it. */
  ignoredNamespace?: { name: string; line: number };
  /**
   * What the export is in other configs: the wrapper it goes through has other definitions in the
   * same file (#if/#else), which export it with another license or namespace. include/linux/fw_table.h
   * gives cdat_table_parse namespace ACPI, or CXL when CONFIG_CXL_BUS is set.
   */
  byConfig?: ConfigVariant[];
  /**
   * The file prints this export call into a file it generates at build time (lib/raid6/mktables.c
   * writes lib/raid6/tables.c): the symbol is defined there, not in `file`.
   */
  generated?: true;
}

export interface ConfigVariant {
  type: ExportType;
  namespace?: string;
  /** The wrapper definition that makes it so. */
  file: string;
  line: number;
}

export interface Unresolved {
  file: string;
  line: number;
  macro: string;
  reason: string;
}

export interface Via {
  name: string;
  file: string;
  line: number;
  /** A header macro or inline function (a proxy), or a helper function of a consumer file (see helpers.ts). */
  kind: 'macro' | 'inline' | 'function';
}

export interface Consumer {
  file: string;
  line: number;
  cls: ConsumerClass;
  /** The header inline function or macro through which the file uses the export, or the helper function. */
  via?: Via;
}

export interface IndexedFile {
  path: string;
  size: number;
  stamp: number;
  alive: boolean;
  lines: number;
  exports: RawExport[];
  /** Definitions of the names this file exports. */
  defs: Definition[];
  imports: ImportNs[];
  wrappers: WrapperCandidate[];
  /** Small macros that may build export names (exporting and including files only). */
  localMacros?: LocalMacro[];
  /** Includes whose files may export through this file's macros. */
  includes?: IncludeRef[];
  proxyStart: number;
  proxyCount: number;
  skipped?: Skipped;
}

export interface IndexOptions {
  exclude?: readonly string[];
  maxFileBytes?: number;
  workers?: number;
  workerScript?: string;
  /** Tests' knobs for the scan pool: files per chunk, names per worker table (see scanPool.ts). */
  chunkFiles?: number;
  workerNameLimit?: number;
  /** false: scan with the wasm build even where the addon was built (tests compare the two). */
  native?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Called after each build phase with its wall time, for the bench. */
  onPhase?: (phase: string, ms: number) => void;
  token?: Cancellation;
}

export interface IndexStats {
  files: number;
  bytes: number;
  skipped: Skipped[];
  symlinks: number;
  excluded: number;
  unreadableDirs: string[];
}

/** Lines are below this in a key of (file, line) as one number. */
const LINE_SPAN = 2 ** 24;

/** Growable postings of one identifier beyond the compact arrays: (file, line, ctx) triples. */
type Overlay = Map<number, number[]>;

export class KernelIndex {
  /**
   * Set when the postings and names map the cache file (a warm start with the addon): whether a read
   * found that file cut short since, by another program. What the index answers from then on may miss
   * uses; the cache is to be rebuilt.
   */
  mappedCache?: { file: string; cutShort(): boolean };
  /** The names the postings are numbered by; a warm start sets it once they are read (adoptNames). */
  private names: NameTable;
  files: IndexedFile[] = [];
  readonly byPath = new Map<string, number>();
  /** Compact postings: entries of name id k are [offsets[k], offsets[k+1]). */
  offsets: Uint32Array = new Uint32Array(1);
  /** 16 bits wide when loaded from a cache whose values fit. */
  postFile: Uint32Array | Uint16Array = new Uint32Array(0);
  postLine: Uint32Array | Uint16Array = new Uint32Array(0);
  postCtx: Uint32Array = new Uint32Array(0);
  overlay: Overlay = new Map();
  /** Proxies (header inline functions and macros), by file range. */
  proxyName: Uint32Array = new Uint32Array(0);
  proxyLine: Uint32Array = new Uint32Array(0);
  proxyKind: Uint8Array = new Uint8Array(0);
  proxyCount = 0;

  exports: Export[] = [];
  exportsByName = new Map<string, Export[]>();
  exportsByFile = new Map<string, Export[]>();
  wrappers = new Map<string, Wrapper>();
  /** A tree-wide wrapper's other definitions in the file of its first, under other #if branches. */
  readonly wrapperAlternatives = new Map<string, Wrapper[]>();
  /** Wrappers defined only around #includes (see collectWrappers). */
  readonly scopedWrappers = new Set<string>();
  unresolved: Unresolved[] = [];
  kbuild: KbuildNamespaces = emptyKbuild();
  stats: IndexStats = { files: 0, bytes: 0, skipped: [], symlinks: 0, excluded: 0, unreadableDirs: [] };
  /** The size over which a file read again (refreshWrappers) is skipped, as the build that made the index skipped it. */
  maxFileBytes = DEFAULT_MAX_FILE_BYTES;
  private scannerMade?: ReturnType<typeof newScanner>;

  constructor(
    readonly root: string,
    table?: NameTable,
  ) {
    this.names = table ?? new NameTable();
  }

  get table(): NameTable {
    return this.names;
  }

  /** The name table of a warm start, before anything was interned or scanned here. */
  adoptNames(table: NameTable): void {
    if (this.scannerMade || this.names.size) throw new Error('adoptNames() after names were interned');
    this.names = table;
  }

  /** The scanner for re-scanning one file, interning into this index's name table; made when first needed. */
  private get scanner(): ReturnType<typeof newScanner> {
    return (this.scannerMade ??= newScanner(this.table.interner));
  }

  // ---- building ----

  /** Adds scanned files, building the compact postings in one counting sort. */
  addScanned(scanned: readonly ScannedFile[]): void {
    this.changes++;
    const base = this.files.length;
    const names = this.table.size;
    const counts = new Uint32Array(names + 1);
    let total = 0;
    let maxLine = 0;
    for (const f of scanned) {
      const u = f.scan?.uses;
      if (!u) continue;
      for (let k = 0; k < u.length; k += 3) {
        counts[u[k]!]!++;
        if (u[k + 1]! > maxLine) maxLine = u[k + 1]!;
      }
      total += u.length / 3;
    }
    const offsets = new Uint32Array(names + 1);
    for (let k = 0, acc = 0; k < names; k++) {
      offsets[k] = acc;
      acc += counts[k]!;
      offsets[k + 1] = acc;
    }
    const fill = offsets.slice(0, names);
    const { postFile, postLine, postCtx } = postingArrays(total, base + scanned.length, maxLine);
    for (let fi = 0; fi < scanned.length; fi++) {
      const f = scanned[fi]!;
      const fileIdx = base + fi;
      this.pushFile(f, fileIdx);
      const u = f.scan?.uses;
      if (!u) continue;
      const pStart = this.files[fileIdx]!.proxyStart;
      for (let k = 0; k < u.length; k += 3) {
        const at = fill[u[k]!]!++;
        postFile[at] = fileIdx;
        postLine[at] = u[k + 1]!;
        const c = u[k + 2]!;
        postCtx[at] = c === 0 || c === DEF_CTX ? c : pStart + c; // global proxy index + 1
      }
    }
    if (base === 0) {
      this.offsets = offsets;
      this.postFile = postFile;
      this.postLine = postLine;
      this.postCtx = postCtx;
    } else {
      for (let k = 0; k < names; k++) {
        for (let at = offsets[k]!; at < offsets[k + 1]!; at++) this.addOverlay(k, postFile[at]!, postLine[at]!, postCtx[at]!);
      }
    }
  }

  /**
   * addScanned() of a full build's files, with the postings built by the addon on another thread
   * while this one files the records: the postings (empty until then) are in when the promise
   * resolves. Nothing may ask for a name's postings, nor change `scanned`, before. Without the addon,
   * or on an index with files, addScanned().
   */
  async addScannedInBackground(scanned: readonly ScannedFile[], native = true): Promise<void> {
    const addon = native && this.files.length === 0 ? nativeAddon() : undefined;
    if (!addon) return this.addScanned(scanned);
    this.changes++;
    const pStarts = new Uint32Array(scanned.length);
    // Each file's first proxy, as pushFile() below numbers them.
    let proxies = this.proxyCount;
    let total = 0;
    // A file's lines bound its uses' lines: the same 16 or 32 bits as addScanned() where no file with
    // uses passes 65,535 lines.
    let maxLine = 0;
    for (let fi = 0; fi < scanned.length; fi++) {
      const scan = scanned[fi]!.scan;
      pStarts[fi] = proxies;
      if (!scan) continue;
      proxies += scan.proxies.length;
      total += scan.uses.length / 3;
      if (scan.uses.length && scan.lines > maxLine) maxLine = scan.lines;
    }
    const offsets = new Uint32Array(this.table.size + 1);
    const { postFile, postLine, postCtx } = postingArrays(total, scanned.length, maxLine);
    const uses = scanned.map((f) => f.scan?.uses ?? null);
    const built = new Promise<void>((resolve, reject) =>
      addon.fillPostings(uses, pStarts, offsets, postFile, postLine, postCtx, (err) => (err ? reject(new Error(`postings: ${err.message}`)) : resolve())),
    );
    for (let fi = 0; fi < scanned.length; fi++) this.pushFile(scanned[fi]!, fi);
    await built;
    this.offsets = offsets;
    this.postFile = postFile;
    this.postLine = postLine;
    this.postCtx = postCtx;
  }

  /**
   * Folds the overlay into the compact postings and drops the postings of deleted and replaced file
   * records, so that a refreshed warm start can be written as a cache again. Answers do not change:
   * each name's postings keep their order, the compact ones first.
   */
  compact(): void {
    const names = this.table.size;
    // Two passes of the queries' own walk (forEachPosting): the count, then the copy.
    const next = new Uint32Array(names + 1);
    let count = 0;
    let maxLine = 0;
    const counted = (_f: number, l: number): void => {
      count++;
      if (l > maxLine) maxLine = l;
    };
    for (let id = 0; id < names; id++) {
      this.forEachPosting(id, counted);
      next[id + 1] = count;
    }
    const { postFile: file, postLine: line, postCtx: ctx } = postingArrays(count, this.files.length, maxLine);
    let to = 0;
    const copied = (f: number, l: number, c: number): void => {
      file[to] = f;
      line[to] = l;
      ctx[to++] = c;
    };
    for (let id = 0; id < names; id++) this.forEachPosting(id, copied);
    this.offsets = next;
    this.postFile = file;
    this.postLine = line;
    this.postCtx = ctx;
    this.overlay = new Map();
  }

  /** Counts the files, bytes and skipped files from the records: after a full build, and again after a warm start's refresh. */
  recountStats(): void {
    let files = 0;
    let bytes = 0;
    const skipped: Skipped[] = [];
    for (const f of this.files) {
      if (!f.alive) continue;
      files++;
      bytes += f.size;
      if (f.skipped) skipped.push(f.skipped);
    }
    skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    this.stats = { ...this.stats, files, bytes, skipped };
  }

  private addOverlay(id: number, file: number, line: number, ctx: number): void {
    let list = this.overlay.get(id);
    if (!list) this.overlay.set(id, (list = []));
    list.push(file, line, ctx);
  }

  private pushFile(f: ScannedFile, fileIdx: number): void {
    const scan = f.scan;
    const proxyStart = this.proxyCount;
    if (scan && scan.proxies.length) {
      this.ensureProxies(this.proxyCount + scan.proxies.length);
      for (let k = 0; k < scan.proxies.length; k++) {
        const p = scan.proxies[k]!;
        // The native scanner numbers the names for us (the pool mapped them): looking up a kernel
        // tree's proxy names here, one string at a time, was a large part of the warm-up.
        this.proxyName[this.proxyCount] = scan.proxyIds ? scan.proxyIds[k]! : this.table.idOf(p.name);
        this.proxyLine[this.proxyCount] = p.line;
        this.proxyKind[this.proxyCount] = p.kind === 'macro' ? 0 : 1;
        this.proxyCount++;
      }
    }
    const rec: IndexedFile = {
      path: f.path,
      size: f.size,
      stamp: f.stamp,
      alive: true,
      lines: scan?.lines ?? 0,
      exports: scan?.exports ?? [],
      defs: scan?.exports.length && scan.defs.length ? exportedDefs(scan) : [],
      imports: scan?.imports ?? [],
      wrappers: scan?.wrappers ?? [],
      proxyStart,
      proxyCount: this.proxyCount - proxyStart,
    };
    if (f.skipped) rec.skipped = f.skipped;
    if (scan && scan.localMacros.length) rec.localMacros = scan.localMacros;
    if (scan && scan.includes.length) rec.includes = scan.includes;
    const old = this.byPath.get(f.path);
    if (old !== undefined) this.files[old]!.alive = false;
    this.files[fileIdx] = rec;
    this.byPath.set(f.path, fileIdx);
  }

  private ensureProxies(size: number): void {
    if (size <= this.proxyName.length) return;
    this.proxyName = grown(this.proxyName, size, 1024);
    this.proxyLine = grown(this.proxyLine, size, 1024);
    this.proxyKind = grown(this.proxyKind, size, 1024);
  }

  /**
   * Parses wrapper definitions found anywhere in the tree (outside tools/ and scripts/). A wrapper its
   * file #undefs is scoped: it exports only through the files that file includes meanwhile. `from`:
   * the files that may define any, in index order (a warm start knows them).
   */
  collectWrappers(from: readonly IndexedFile[] = this.files): void {
    this.wrappers.clear();
    this.wrapperAlternatives.clear();
    this.scopedWrappers.clear();
    for (const f of from) {
      if (!f.alive || !f.wrappers.length || f.path.startsWith('tools/') || f.path.startsWith('scripts/')) continue;
      for (const c of f.wrappers) {
        const w = parseWrapper(c, f.path);
        if (!w) continue;
        if (c.undefLine !== undefined) {
          this.scopedWrappers.add(w.name);
          continue;
        }
        const first = this.wrappers.get(w.name);
        if (!first) this.wrappers.set(w.name, w);
        else if (first.file === w.file) {
          // Defined again in its own file without an #undef: another #if branch, another config.
          const alts = this.wrapperAlternatives.get(w.name);
          if (alts) alts.push(w);
          else this.wrapperAlternatives.set(w.name, [w]);
        }
      }
    }
  }

  /** Names a scan must take as export calls: tree-wide and scoped wrappers. */
  wrapperNames(): Set<string> | undefined {
    if (!this.wrappers.size && !this.scopedWrappers.size) return undefined;
    return new Set([...this.wrappers.keys(), ...this.scopedWrappers]);
  }

  /**
   * Files of `scanned` that call a wrapper, so that only they are read again: read off the scans' own
   * uses, as the postings (still being built, addScannedInBackground()) will have them.
   */
  wrapperCallers(scanned: readonly ScannedFile[]): string[] {
    const wanted = new Uint8Array(this.table.size);
    let any = false;
    for (const name of this.wrapperNames() ?? []) {
      const id = this.table.get(name);
      if (id !== undefined) wanted[id] = 1;
      any ||= id !== undefined;
    }
    const out = new Set<string>();
    if (any)
      for (const f of scanned) {
        const u = f.scan?.uses;
        if (u)
          for (let k = 0; k < u.length; k += 3)
            if (wanted[u[k]!] === 1 && u[k + 2] === 0) {
              out.add(f.path);
              break;
            }
      }
    return [...out].sort();
  }

  /** Replaces the exports and definitions of files re-scanned with the wrapper names known. */
  applyWrapperScans(scanned: readonly ScannedFile[]): void {
    for (const f of scanned) {
      const idx = this.byPath.get(f.path);
      if (idx === undefined || !f.scan) continue;
      const rec = this.files[idx]!;
      rec.exports = f.scan.exports;
      rec.defs = exportedDefs(f.scan);
      if (f.scan.localMacros.length) rec.localMacros = f.scan.localMacros;
      if (f.scan.includes.length) rec.includes = f.scan.includes;
    }
  }

  /** Goes up with every change to the index's files or exports: what was computed from it before may be stale. */
  get version(): number {
    return this.changes;
  }
  private changes = 0;

  /** Resolves every live file's raw exports into exports. */
  resolveAll(): void {
    this.changes++;
    this.exports = [];
    this.unresolved = [];
    this.exportsByName.clear();
    this.exportsByFile.clear();
    for (const f of this.files) if (f.alive && (f.exports.length || f.includes)) this.resolveFile(f);
  }

  /** Takes exports resolved before (a warm start's, from the cache) instead of resolving them again. */
  restoreExports(exports: Export[], unresolved: Unresolved[]): void {
    this.changes++;
    this.exports = exports;
    this.unresolved = unresolved;
    this.exportsByName.clear();
    this.exportsByFile.clear();
    this.fileExports(exports);
  }

  /** Files exports under the index's lists: all, by name, by file. */
  private addExports(list: readonly Export[]): void {
    for (const e of list) this.exports.push(e);
    this.fileExports(list);
  }

  /**
   * Files exports by name and by file (not in the list of all). A file's exports mostly come in a
   * row: one lookup by file a row. A list made as `[e]` holds one slot; made empty and pushed to, it
   * reserves 17, which for a kernel tree's exports is megabytes more for the garbage collector to copy.
   */
  private fileExports(list: readonly Export[]): void {
    let file: string | undefined;
    let byFile: Export[] | undefined;
    for (const e of list) {
      const byName = this.exportsByName.get(e.name);
      if (byName) byName.push(e);
      else this.exportsByName.set(e.name, [e]);
      if (e.file === file) byFile!.push(e);
      else {
        file = e.file;
        byFile = this.exportsByFile.get(file);
        if (byFile) byFile.push(e);
        else this.exportsByFile.set(file, (byFile = [e]));
      }
    }
  }

  private resolveFile(f: IndexedFile): void {
    const mine: Export[] = [];
    // A program under tools/ or scripts/ that prints export calls (modpost, checkpatch's tests) generates no kernel source.
    const printing = !f.path.startsWith('tools/') && !f.path.startsWith('scripts/');
    for (const raw of f.exports) {
      if (raw.printed && !printing) continue;
      let wrappers: WrapperLookup = this.wrappers;
      let variants: { by: Wrapper; calls: ExpandedExport[] }[] | undefined;
      if (!exportMacros.has(raw.macro)) {
        // The file's own definition in force decides, as in the preprocessor (sparc's atomic_64.S
        // defines ATOMIC64_OP_RETURN() for itself, lib/atomic64.c for itself). A scoped wrapper the file
        // does not define here exports through the files that include this one (resolveInclude).
        const own = f.wrappers.length ? this.ownWrapper(f, raw.macro, raw.line) : undefined;
        if (own) wrappers = withWrappers(this.wrappers, [own]);
        // A wrapper gone since the file was scanned (refreshWrappers()) is a call no scan would take now.
        else if (!this.wrappers.has(raw.macro)) continue;
        else if (this.wrapperAlternatives.size) variants = this.configVariants(raw.macro, raw.args);
      }
      const calls = exportMacros.has(raw.macro) ? [{ macro: raw.macro, args: raw.args }] : expandWrapperCall(wrappers, raw.macro, raw.args);
      if (calls.length === 0) {
        this.unresolved.push({ file: f.path, line: raw.line, macro: raw.macro, reason: `wrapper ${raw.macro}() exports nothing that could be resolved` });
        continue;
      }
      for (const call of calls) {
        const exp = this.exportOf(f, raw, call, expandLocal((call.args[0] ?? '').trim(), f.localMacros, raw.line));
        if (!exp) continue;
        if (variants) this.addConfigVariants(f, raw, exp, variants);
        mine.push(exp);
      }
    }
    for (const inc of f.includes ?? []) this.resolveInclude(f, inc, mine);
    this.addExports(mine);
  }

  /**
   * Exports an #include makes in the including file: the included file's export calls, expanded with
   * the includer's macros in force at the #include, where they name other symbols than the included
   * file exports itself (lib/lzo/lzo1x_compress_safe.c including lzo1x_compress.c), and calls of a
   * wrapper the includer defines around the #include (arch/x86/lib/retpoline.S). They are reported
   * at the #include line.
   */
  private resolveInclude(f: IndexedFile, inc: IncludeRef, mine: Export[]): void {
    const g = this.includedFile(f.path, inc);
    if (!g) return;
    const at = { line: inc.line, col: inc.col, endLine: inc.line, endCol: inc.endCol };
    const around: Wrapper[] = [];
    for (const c of f.wrappers) {
      if (c.undefLine === undefined || c.line >= inc.line || c.undefLine <= inc.line) continue;
      const w = this.ownWrapper(f, c.name, inc.line);
      if (w) around.push(w);
    }
    const scoped = withWrappers(this.wrappers, around);
    const secondCompile = g === f || g.path.endsWith('.c');
    for (const raw of g.exports) {
      if (raw.printed) continue;
      if (scoped.get(raw.macro)?.file === f.path && !exportMacros.has(raw.macro)) {
        for (const call of expandWrapperCall(scoped, raw.macro, raw.args)) {
          const exp = this.exportOf(f, raw, call, expandLocal((call.args[0] ?? '').trim(), f.localMacros, inc.line, 'last'), at);
          if (exp) mine.push({ ...exp, includedFrom: { file: g.path, line: raw.line } });
        }
        continue;
      }
      if (!secondCompile || !exportMacros.has(raw.macro)) continue;
      const arg = (raw.args[0] ?? '').trim();
      const own = expandLocal(arg, g.localMacros, raw.line);
      const here = expandLocal(expandLocal(arg, f.localMacros, inc.line, 'last'), g.localMacros, raw.line);
      if (here === own) continue;
      const exp = this.exportOf(f, raw, { macro: raw.macro, args: raw.args }, here, at);
      if (exp) mine.push({ ...exp, includedFrom: { file: g.path, line: raw.line } });
    }
  }

  /**
   * What one wrapper call exports under each other definition (see wrapperAlternatives) of the wrappers
   * it goes through, one definition swapped at a time.
   */
  private configVariants(name: string, args: readonly string[]): { by: Wrapper; calls: ExpandedExport[] }[] {
    const out: { by: Wrapper; calls: ExpandedExport[] }[] = [];
    const seen = new Set<string>();
    const visit = (n: string, depth: number): void => {
      const w = this.wrappers.get(n);
      if (!w || depth > 4 || seen.has(n)) return;
      seen.add(n);
      for (const alt of this.wrapperAlternatives.get(n) ?? []) out.push({ by: alt, calls: expandWrapperCall(withWrappers(this.wrappers, [alt]), name, args) });
      for (const c of w.calls) if (!exportMacros.has(c.macro)) visit(c.macro, depth + 1);
    };
    visit(name, 0);
    return out;
  }

  /** Sets exp.byConfig: the variants' exports of the same name that differ in license or namespace. */
  private addConfigVariants(f: IndexedFile, raw: RawExport, exp: Export, variants: readonly { by: Wrapper; calls: ExpandedExport[] }[]): void {
    for (const { by, calls } of variants) {
      for (const call of calls) {
        const name = expandLocal((call.args[0] ?? '').trim(), f.localMacros, raw.line);
        if (name !== exp.name) continue;
        const alt = this.exportOf(f, raw, call, name);
        if (!alt || (alt.type === exp.type && alt.namespace === exp.namespace)) continue;
        const v: ConfigVariant = { type: alt.type, file: by.file, line: by.line };
        if (alt.namespace !== undefined) v.namespace = alt.namespace;
        if (exp.byConfig?.some((x) => x.type === v.type && x.namespace === v.namespace)) continue;
        (exp.byConfig ??= []).push(v);
      }
    }
  }

  /** The file's own definition of a wrapper in force at `line`, if any. */
  private ownWrapper(f: IndexedFile, name: string, line: number): Wrapper | undefined {
    const c = f.wrappers.findLast((w) => w.name === name && w.line < line && (w.undefLine === undefined || line < w.undefLine));
    if (!c) return undefined;
    if (!parsedWrappers.has(c)) parsedWrappers.set(c, parseWrapper(c, f.path));
    return parsedWrappers.get(c);
  }

  /** The file an #include names, among the indexed files: beside the includer, or on the kernel's include paths. */
  private includedFile(from: string, inc: IncludeRef): IndexedFile | undefined {
    const arch = /^arch\/([^/]+)\//.exec(from)?.[1];
    const candidates = [
      ...(inc.system ? [] : [posix.normalize(posix.join(treeDir(from), inc.target))]),
      `include/${inc.target}`,
      ...(arch ? [`arch/${arch}/include/${inc.target}`] : []),
      `include/uapi/${inc.target}`,
    ];
    for (const c of candidates) {
      const k = this.byPath.get(c);
      if (k !== undefined && this.files[k]!.alive) return this.files[k];
    }
    return undefined;
  }

  /** One export of file f from one export macro call; `site` places it elsewhere than the call (an #include). */
  private exportOf(f: IndexedFile, raw: RawExport, call: { macro: string; args: string[] }, name: string, site?: { line: number; col: number; endLine: number; endCol: number }): Export | undefined {
    const m = exportMacros.get(call.macro)!;
    const line = site?.line ?? raw.line;
    if (!(m.flavour === 'tracepoint' ? TRACEPOINT_NAME : IDENTIFIER).test(name)) {
      this.unresolved.push({ file: f.path, line, macro: raw.macro, reason: `${call.macro}(${call.args.join(', ')}): "${name}" is not an identifier` });
      return undefined;
    }
    const license = m.licenseArg !== undefined ? unquote(call.args[m.licenseArg] ?? '') : undefined;
    const exp: Export = {
      name,
      symbols: linkerSymbols(m.flavour, name),
      type: license === undefined ? m.type : /gpl/i.test(license) ? 'EXPORT_SYMBOL_GPL' : 'EXPORT_SYMBOL',
      macro: m.name,
      flavour: m.flavour,
      file: f.path,
      line,
      col: site?.col ?? raw.col,
      endLine: site?.endLine ?? raw.endLine,
      endCol: site?.endCol ?? raw.endCol,
      cond: raw.cond,
    };
    if (raw.macro !== m.name) exp.wrapper = raw.macro;
    if (raw.printed) exp.generated = true;
    const ns = this.namespaceOf(m.nsArg !== undefined ? call.args[m.nsArg] : undefined, m.fixedNamespace, raw, f.path);
    if (m.flavour === 'modules') {
      const mods = unquote(call.args[1] ?? '');
      exp.modules = mods
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      exp.namespace = `module:${mods}`;
    } else if (ns) exp.namespace = ns;
    if (raw.fileNamespaceLate && raw.fileNamespace && exp.namespace === raw.fileNamespace && m.nsArg === undefined && !m.fixedNamespace) {
      // <linux/export.h> tests DEFAULT_SYMBOL_NAMESPACE when it is included: a later #define is ignored.
      exp.ignoredNamespace = { name: raw.fileNamespace, line: raw.fileNamespaceLine ?? raw.line };
      const fromKbuild = f.path.endsWith('.c') || f.path.endsWith('.S') ? kbuildNamespaceFor(this.kbuild, f.path) : undefined;
      if (fromKbuild) exp.namespace = fromKbuild;
      else delete exp.namespace;
    }
    if (!site && !raw.printed) {
      const def = pickDefinition(f.defs, name, raw.line);
      if (def) exp.definition = def;
    }
    return exp;
  }

  private namespaceOf(arg: string | undefined, fixed: string | undefined, raw: RawExport, path: string): string | undefined {
    // An explicit namespace argument decides, even when empty: pm.h passes "" to __EXPORT_SYMBOL,
    // and then DEFAULT_SYMBOL_NAMESPACE does not apply.
    if (arg !== undefined) return unquote(arg.trim()) || undefined;
    if (fixed) return fixed;
    if (raw.fileNamespace) return raw.fileNamespace;
    if (path.endsWith('.c') || path.endsWith('.S')) return kbuildNamespaceFor(this.kbuild, path);
    return undefined;
  }

  // ---- queries ----

  forEachPosting(id: number, fn: (file: number, line: number, ctx: number) => void): void {
    if (id + 1 < this.offsets.length) {
      const end = this.offsets[id + 1]!;
      for (let at = this.offsets[id]!; at < end; at++) {
        const file = this.postFile[at]!;
        if (this.files[file]!.alive) fn(file, this.postLine[at]!, this.postCtx[at]!);
      }
    }
    const extra = this.overlay.get(id);
    if (extra) {
      for (let k = 0; k < extra.length; k += 3) {
        const file = extra[k]!;
        if (this.files[file]!.alive) fn(file, extra[k + 1]!, extra[k + 2]!);
      }
    }
  }

  /** File indices in path order, and each file's place in it, for the `files` array they were made for. */
  private ranked: number[] = [];
  private rank = new Uint32Array(0);
  private rankedFor: IndexedFile[] | undefined;
  /** A consumer per rank, for ordering one list; empty again after each use. */
  private byRankScratch: (Consumer | undefined)[] = [];

  /**
   * Consumers of an export: uses outside the exporting file, and, transitively, uses of the header
   * inline functions and macros (proxies) whose bodies use it. `stop` ends the search early;
   * a whole list comes in path order (inPathOrder()).
   * Popular exports reach tens of thousands of files through proxies such as printk(), so the walk
   * runs on integers: file stamps instead of a map, cached per-file classes.
   */
  consumers(exp: Export, stop?: (c: Consumer) => boolean): Consumer[] {
    const out: Consumer[] = [];
    const nFiles = this.files.length;
    if (this.fileStamp.length < nFiles) this.fileStamp = grown(this.fileStamp, nFiles, 1024);
    if (this.nameStamp.length < this.table.size) this.nameStamp = grown(this.nameStamp, this.table.size, 1024);
    const stamp = ++this.queryStamp;
    const fileStamp = this.fileStamp;
    const nameStamp = this.nameStamp;
    const own = this.byPath.get(exp.file) ?? -1;
    const queue: number[] = [];
    const vias: (Via | undefined)[] = [];
    const outFile: number[] = [];
    for (const n of consumerNames(exp.flavour, exp.name)) {
      const id = this.table.get(n);
      if (id !== undefined && nameStamp[id] !== stamp) {
        nameStamp[id] = stamp;
        queue.push(id);
        vias.push(undefined);
      }
    }
    const { offsets, postFile, postLine, postCtx, files } = this;
    const visit = (fileIdx: number, line: number, ctx: number, via: Via | undefined): boolean => {
      if (ctx === DEF_CTX || fileIdx === own || !files[fileIdx]!.alive) return false;
      if (ctx === 0) {
        if (fileStamp[fileIdx] === stamp) return false;
        const path = files[fileIdx]!.path;
        // assembly cannot call a C inline: `wrmsr` in vmenter.S is the instruction, not msr.h's wrmsr()
        if (via?.kind === 'inline' && path.endsWith('.S')) return false;
        fileStamp[fileIdx] = stamp;
        const c: Consumer = { file: path, line, cls: this.classOf(fileIdx, exp.file) };
        if (via) c.via = via;
        out.push(c);
        outFile.push(fileIdx);
        return stop !== undefined && stop(c);
      }
      const p = ctx - 1;
      const nameId = this.proxyName[p]!;
      if (nameStamp[nameId] === stamp) return false;
      nameStamp[nameId] = stamp;
      queue.push(nameId);
      vias.push({ name: this.table.name(nameId), file: files[fileIdx]!.path, line: this.proxyLine[p]!, kind: this.proxyKind[p] === 0 ? 'macro' : 'inline' });
      return false;
    };
    let q = 0;
    const drain = (): boolean => {
      for (; q < queue.length; q++) {
        const id = queue[q]!;
        const via = vias[q];
        if (id + 1 < offsets.length) {
          const end = offsets[id + 1]!;
          for (let at = offsets[id]!; at < end; at++) if (visit(postFile[at]!, postLine[at]!, postCtx[at]!, via)) return true;
        }
        const extra = this.overlay.get(id);
        if (extra) for (let k = 0; k < extra.length; k += 3) if (visit(extra[k]!, extra[k + 1]!, extra[k + 2]!, via)) return true;
      }
      return false;
    };
    if (drain()) return out;
    // then the uses a macro pastes together (pasted.ts): the macro and its argument on one line
    for (const p of pastedUses(exp.name, exp.flavour)) {
      if (p.proxies) {
        // the macro defines inline functions around the export, whose names no other code makes: their
        // users are its consumers (the definitions themselves are macro calls the scanner reads as none)
        for (const name of p.proxies) {
          const id = this.table.get(name);
          if (id === undefined || nameStamp[id] === stamp) continue;
          nameStamp[id] = stamp;
          queue.push(id);
          vias.push({ name, file: p.header, line: 0, kind: 'inline' });
        }
        if (drain()) return out;
        continue;
      }
      const macroId = this.table.get(p.macro);
      const argId = this.table.get(p.arg);
      if (macroId === undefined || argId === undefined) continue;
      const lines = new Set<number>();
      this.forEachPosting(macroId, (file, line, ctx) => void (ctx !== DEF_CTX && lines.add(file * LINE_SPAN + line)));
      if (lines.size === 0) continue;
      const via: Via = { name: p.macro, file: p.header, line: 0, kind: 'macro' };
      let stopped = false;
      this.forEachPosting(argId, (file, line, ctx) => void (!stopped && lines.has(file * LINE_SPAN + line) && (stopped = visit(file, line, ctx, via))));
      if (stopped || drain()) return out;
    }
    return this.inPathOrder(out, outFile);
  }

  /**
   * Consumers in path order, however the index was made: a file edited since the build has its
   * postings at the end, so the traversal order alone would differ between a warm refresh and a cold
   * build. Each file comes once in a list, so its path's rank alone orders it, in a typed array's
   * numeric sort; most lists come in that order already.
   */
  private inPathOrder(out: Consumer[], outFile: number[]): Consumer[] {
    if (out.length < 2) return out;
    const rank = this.pathRanks();
    let inOrder = true;
    for (let k = 1; k < outFile.length && inOrder; k++) inOrder = rank[outFile[k]!]! > rank[outFile[k - 1]!]!;
    if (inOrder) return out;
    if (this.byRankScratch.length < this.files.length) this.byRankScratch = new Array<Consumer | undefined>(this.files.length).fill(undefined);
    const at = this.byRankScratch;
    const keys = new Uint32Array(out.length);
    for (let k = 0; k < out.length; k++) {
      keys[k] = rank[outFile[k]!]!;
      at[keys[k]!] = out[k]!;
    }
    keys.sort();
    for (let k = 0; k < keys.length; k++) {
      out[k] = at[keys[k]!]!;
      at[keys[k]!] = undefined;
    }
    return out;
  }

  /**
   * Each file's place in path order. A build's files, and a cache written from one, are in path order
   * already (checked, not sorted); files added since are put in their places one at a time.
   */
  private pathRanks(): Uint32Array {
    const files = this.files;
    if (this.rankedFor !== files) {
      this.rankedFor = files;
      this.ranked = [];
    }
    if (this.ranked.length === files.length) return this.rank;
    const path = (k: number): string => files[k]!.path;
    if (this.ranked.length === 0) {
      const order = Array.from(files.keys());
      let sorted = true;
      for (let k = 1; k < files.length && sorted; k++) sorted = path(k - 1) <= path(k);
      if (!sorted) order.sort((a, b) => (path(a) < path(b) ? -1 : path(a) > path(b) ? 1 : a - b));
      this.ranked = order;
    } else {
      for (let f = this.ranked.length; f < files.length; f++) {
        let lo = 0;
        let hi = this.ranked.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (path(this.ranked[mid]!) <= path(f)) lo = mid + 1;
          else hi = mid;
        }
        this.ranked.splice(lo, 0, f);
      }
    }
    if (this.rank.length < files.length) this.rank = new Uint32Array(files.length + 1024);
    for (let k = 0; k < this.ranked.length; k++) this.rank[this.ranked[k]!] = k;
    return this.rank;
  }

  /**
   * A Makefile or Kbuild file with other text (undefined: deleted): its directory's
   * DEFAULT_SYMBOL_NAMESPACE flags are read again, with its sibling's from disk, and the exports
   * those flags reach resolved again. A review applies a series' Makefile changes this way.
   */
  setMakefile(path: string, text: string | undefined): void {
    this.setMakefiles([[path, text]]);
  }

  /** setMakefile() for several at once (a warm start's changed Makefiles). */
  setMakefiles(list: readonly [path: string, text: string | undefined][]): void {
    // Only a directory whose namespace flags changed has exports to resolve again, and only below it:
    // most Makefile edits (an obj-y line) change none, and resolving every export took most of a
    // real series' review.
    const moved: string[] = [];
    for (const [path, text] of list) {
      const dir = treeDir(path);
      const before = this.namespaceFlagsOf(dir);
      this.applyMakefile(path, text);
      if (this.namespaceFlagsOf(dir) !== before) moved.push(dir);
    }
    if (moved.length === 0) return;
    if (moved.includes('')) return this.resolveAll();
    this.changes++;
    const under = (file: string): boolean => moved.some((d) => file.startsWith(`${d}/`));
    for (const f of this.files) {
      if (!f.alive || !under(f.path) || !(f.exports.length || f.includes)) continue;
      this.removeExportsOf(f.path);
      this.resolveFile(f);
    }
  }

  /** A directory's DEFAULT_SYMBOL_NAMESPACE flags from its Makefiles, as one string to compare. */
  private namespaceFlagsOf(dir: string): string {
    const kb = this.kbuild;
    const objects = [...kb.object].filter(([k]) => treeDir(k) === dir).sort(([a], [b]) => (a < b ? -1 : 1));
    return JSON.stringify([kb.dir.get(dir) ?? null, kb.subdir.get(dir) ?? null, objects]);
  }

  private applyMakefile(path: string, text: string | undefined): void {
    const dir = treeDir(path);
    const kb = this.kbuild;
    kb.dir.delete(dir);
    kb.subdir.delete(dir);
    for (const k of [...kb.object.keys()]) if (treeDir(k) === dir) kb.object.delete(k);
    const other = readMakefile(this.root, join(dir, path.endsWith('Kbuild') ? 'Makefile' : 'Kbuild'));
    for (const t of [other, text]) if (t?.includes('DEFAULT_SYMBOL_NAMESPACE')) parseMakefile(t, dir, kb);
  }

  /**
   * Files other than the exporter's that name the export in code today: direct uses, and header
   * inlines and macros whose bodies use it. Export history searches these for the first consumer.
   */
  literalUsers(exp: Export): string[] {
    const own = this.byPath.get(exp.file) ?? -1;
    const seen = new Set<number>();
    for (const n of consumerNames(exp.flavour, exp.name)) {
      const id = this.table.get(n);
      if (id === undefined) continue;
      this.forEachPosting(id, (file, _line, ctx) => {
        if (ctx !== DEF_CTX && file !== own) seen.add(file);
      });
    }
    return [...seen].map((f) => this.files[f]!.path).sort();
  }

  private fileStamp: Uint32Array = new Uint32Array(0);
  private nameStamp: Uint32Array = new Uint32Array(0);
  private queryStamp = 0;
  /** Per file, its base class, computed once: popular exports have tens of thousands of consumers. */
  private fileBase: (BaseClass | undefined)[] = [];

  private classOf(fileIdx: number, exporter: string): ConsumerClass {
    const path = this.files[fileIdx]!.path;
    let base = this.fileBase[fileIdx];
    if (base === undefined) this.fileBase[fileIdx] = base = baseClass(path);
    return classify(path, exporter, base);
  }

  /** A name's uses in code, first per file: no definitions, nothing inside a header macro or inline. */
  directUses(name: string): { file: string; line: number }[] {
    const id = this.table.get(name);
    const out: { file: string; line: number }[] = [];
    if (id !== undefined) this.forEachPosting(id, (file, line, ctx) => void (ctx === 0 && out.push({ file: this.files[file]!.path, line })));
    return out;
  }

  /** Whether the file uses the name in code on that line (not a definition, not in a comment or a string). */
  usesAt(name: string, path: string, line: number): boolean {
    const id = this.table.get(name);
    const file = this.byPath.get(path);
    if (id === undefined || file === undefined) return false;
    let found = false;
    this.forEachPosting(id, (f, l, ctx) => void (found ||= f === file && l === line && ctx !== DEF_CTX));
    return found;
  }

  /** The class of a consumer file of an export of `exporter`. */
  classify(path: string, exporter: string): ConsumerClass {
    const k = this.byPath.get(path);
    return k === undefined ? classify(path, exporter, baseClass(path)) : this.classOf(k, exporter);
  }

  /** Where a name has a non-static definition (a function, a variable, an asm symbol). */
  definitionsOf(name: string): { file: string; line: number }[] {
    const id = this.table.get(name);
    const out: { file: string; line: number }[] = [];
    if (id !== undefined) this.forEachPosting(id, (file, line, ctx) => void (ctx === DEF_CTX && out.push({ file: this.files[file]!.path, line })));
    return out;
  }

  exportsNamed(name: string): Export[] {
    return this.exportsByName.get(name) ?? [];
  }

  /** Exports under the paths (all when none), in file and line order whatever was updated since. */
  exportsUnder(paths: readonly string[]): Export[] {
    const under = underPaths(paths);
    return this.exports.filter((e) => under(e.file)).sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  }

  /** Export calls that could not be resolved, under the paths (all when none). */
  unresolvedUnder(paths: readonly string[]): Unresolved[] {
    const under = underPaths(paths);
    return this.unresolved.filter((u) => under(u.file));
  }

  // ---- incremental ----

  /** Re-scans one file from its bytes (an editor buffer or the disk) and replaces its contribution. */
  updateFile(path: string, buf: Uint8Array, stamp = BUFFER_STAMP): void {
    const nul = buf.indexOf(0);
    if (nul >= 0) this.replaceFile({ path, size: buf.length, stamp, skipped: { path, reason: 'binary', detail: `NUL byte at line ${countLines(buf, nul)}` } });
    else this.replaceFile({ path, size: buf.length, stamp, scan: scanBuffer(this.scanner, path, buf, this.wrapperNames()) });
  }

  /** Re-reads one file from the disk as a full build does: binary and too-large files are skipped, and counted; a file gone meanwhile is dropped. */
  rescanFile(path: string, maxBytes: number): void {
    const f = scanPath(this.scanner, this.root, path, maxBytes, this.wrapperNames());
    // gone, or now a link, a FIFO or a device: the walk would not index it either
    if (f.skipped?.reason === 'unreadable' && (f.skipped.detail === 'ENOENT' || f.skipped.detail === NOT_REGULAR)) this.deleteFile(path);
    else this.replaceFile(f);
  }

  private replaceFile(f: ScannedFile): void {
    this.changes++;
    const before = this.byPath.get(f.path);
    const wrappersMoved = (before !== undefined && this.files[before]!.wrappers.length > 0) || (f.scan?.wrappers.length ?? 0) > 0;
    this.removeExportsOf(f.path);
    const fileIdx = this.files.length;
    this.pushFile(f, fileIdx);
    const u = f.scan?.uses;
    const pStart = this.files[fileIdx]!.proxyStart;
    if (u) {
      for (let k = 0; k < u.length; k += 3) {
        const c = u[k + 2]!;
        this.addOverlay(u[k]!, fileIdx, u[k + 1]!, c === 0 || c === DEF_CTX ? c : pStart + c);
      }
    }
    this.resolveFile(this.files[fileIdx]!);
    // the wrappers first: an includer resolved again must see the header's wrappers as they are now
    if (wrappersMoved) this.refreshWrappers();
    this.resolveIncluders(f.path);
  }

  deleteFile(path: string): void {
    const idx = this.byPath.get(path);
    if (idx === undefined) return;
    this.changes++;
    this.files[idx]!.alive = false;
    this.byPath.delete(path);
    this.removeExportsOf(path);
    if (this.files[idx]!.wrappers.length) this.refreshWrappers();
    this.resolveIncluders(path);
  }

  /**
   * After a file that defines (or defined) wrapper macros changed: collects the wrappers again, in the
   * tree's order, and resolves again the files that call a wrapper whose definitions changed, or one
   * that calls such a wrapper. A file that calls a wrapper new to the tree was scanned without taking
   * the call as an export: it is read again.
   */
  private refreshWrappers(): void {
    const snapshot = (): Map<string, string> => {
      const m = new Map<string, string>();
      for (const [n, w] of this.wrappers) m.set(n, JSON.stringify([w, this.wrapperAlternatives.get(n) ?? null]));
      for (const n of this.scopedWrappers) m.set(n, `${m.get(n) ?? ''} scoped`);
      return m;
    };
    const before = snapshot();
    this.collectWrappers(this.files.filter((f) => f.alive && f.wrappers.length).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
    const after = snapshot();
    const changed = new Set<string>();
    for (const n of new Set([...before.keys(), ...after.keys()])) if (before.get(n) !== after.get(n)) changed.add(n);
    for (let grew = changed.size > 0; grew;) {
      grew = false;
      for (const [n, w] of this.wrappers)
        if (!changed.has(n) && w.calls.some((c) => changed.has(c.macro))) {
          changed.add(n);
          grew = true;
        }
    }
    const callers = new Map<number, boolean>();
    for (const n of changed) {
      const id = this.table.get(n);
      const isNew = !before.has(n);
      if (id !== undefined) this.forEachPosting(id, (file, _line, ctx) => void (ctx === 0 && this.files[file]!.alive && callers.set(file, (callers.get(file) ?? false) || isNew)));
    }
    // A file scanned while a wrapper was known holds its calls as export calls, not as uses.
    if (changed.size) {
      this.files.forEach((f, k) => {
        if (f.alive && !callers.has(k) && f.exports.some((raw) => changed.has(raw.macro))) callers.set(k, false);
      });
    }
    for (const [k, unseen] of callers) {
      const f = this.files[k]!;
      if (unseen) {
        this.changes++;
        const scanned = scanPath(this.scanner, this.root, f.path, this.maxFileBytes, this.wrapperNames());
        if (!scanned.scan) continue;
        this.applyWrapperScans([scanned]);
      }
      this.removeExportsOf(f.path);
      this.resolveFile(f);
    }
  }

  /** Resolves again the files whose exports come through an #include of `path` (see resolveInclude). */
  private resolveIncluders(path: string): void {
    for (const f of this.files) {
      if (!f.alive || !f.includes || f.path === path || !f.includes.some((inc) => this.includedFile(f.path, inc)?.path === path || inc.target.endsWith(path.slice(path.lastIndexOf('/') + 1))))
        continue;
      this.removeExportsOf(f.path);
      this.resolveFile(f);
    }
  }

  private removeExportsOf(path: string): void {
    const old = this.exportsByFile.get(path);
    if (!old) return;
    this.exportsByFile.delete(path);
    const gone = new Set(old);
    this.exports = this.exports.filter((e) => !gone.has(e));
    for (const e of old) {
      const list = this.exportsByName.get(e.name)?.filter((x) => !gone.has(x));
      if (list && list.length) this.exportsByName.set(e.name, list);
      else this.exportsByName.delete(e.name);
    }
    this.unresolved = this.unresolved.filter((u) => u.file !== path);
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const TRACEPOINT_NAME = /^\w+$/;

type WrapperLookup = Pick<ReadonlyMap<string, Wrapper>, 'get'>;

const NO_USES = new Uint32Array(0);

/** Wrappers parsed from a file's candidates, once each. */
const parsedWrappers = new WeakMap<WrapperCandidate, Wrapper | undefined>();

/** The tree-wide wrappers, with some replaced by a file's own definitions (no copy of the tree's map). */
function withWrappers(wrappers: WrapperLookup, own: readonly Wrapper[]): WrapperLookup {
  return { get: (name) => own.find((w) => w.name === name) ?? wrappers.get(name) };
}

/**
 * Expands an export argument built by the file's own small macros: `#define queued_spin_lock_slowpath
 * native_queued_spin_lock_slowpath`, `#define LZO_SAFE(name) name`. For an export call the first
 * definition before its line wins, as in the first branch of an #if; for an #include that compiles a
 * file again, the last one, which a second compile redefines for it.
 */
function expandLocal(arg: string, macros: readonly LocalMacro[] | undefined, line: number, pick: 'first' | 'last' = 'first'): string {
  if (!macros) return arg;
  let cur = arg;
  for (let round = 0; round < 4; round++) {
    const call = /^([A-Za-z_]\w*)\s*\((.*)\)$/.exec(cur);
    const name = call ? call[1]! : cur;
    const fits = (x: LocalMacro): boolean => x.name === name && x.line < line && (x.params === null) === !call;
    const same = named(macros, name);
    const m = pick === 'first' ? same.find(fits) : same.findLast(fits);
    if (!m) return cur;
    cur =
      m.params === null
        ? m.body
        : expand(
            m.body,
            m.params,
            call![2]!.split(',').map((a) => a.trim()),
          );
    cur = cur.replace(/\s+/g, '');
  }
  return cur;
}

/** Whether a tree path lies under one of the paths (any path when none are given). */
function underPaths(paths: readonly string[]): (file: string) => boolean {
  const prefixes = paths.map((p) => p.replace(/^\.\//, '').replace(/\/$/, ''));
  if (prefixes.length === 0 || prefixes.some((p) => p === '' || p === '.')) return () => true;
  return (file) => prefixes.some((p) => file === p || file.startsWith(`${p}/`));
}

function unquote(s: string): string {
  const t = s.trim();
  if (t.startsWith('"')) return t.replace(/"\s*"/g, '').replace(/^"|"$/g, '');
  return t;
}

/** Compact postings' arrays for `total` postings: 16 bits where files and lines fit, as they do for linux (half the memory of those two arrays). */
function postingArrays(total: number, files: number, maxLine: number): Pick<KernelIndex, 'postFile' | 'postLine' | 'postCtx'> {
  return {
    postFile: files <= 0x10000 ? new Uint16Array(total) : new Uint32Array(total),
    postLine: maxLine <= 0xffff ? new Uint16Array(total) : new Uint32Array(total),
    postCtx: new Uint32Array(total),
  };
}

/** The definitions of a file's names it exports: the only ones a file's record keeps. */
function exportedDefs(scan: FileScan): Definition[] {
  const exported = new Set<string>();
  for (const e of scan.exports) for (const a of e.args) exported.add(a);
  return scan.defs.filter((d) => exported.has(d.name));
}

/** A file's named records grouped by name, made once per list: a file can export 30,000 names. */
const byNameCache = new WeakMap<readonly { name: string }[], Map<string, { name: string }[]>>();
function named<T extends { name: string }>(list: readonly T[], name: string): readonly T[] {
  let m = byNameCache.get(list);
  if (!m) {
    m = new Map();
    for (const x of list) {
      const l = m.get(x.name);
      if (l) l.push(x);
      else m.set(x.name, [x]);
    }
    byNameCache.set(list, m);
  }
  return (m.get(name) ?? []) as T[];
}

/** The definition an export names: the last one before the export line, else the first after it. */
function pickDefinition(defs: readonly Definition[], name: string, line: number): Definition | undefined {
  let best: Definition | undefined;
  for (const d of named(defs, name)) {
    if (d.line <= line && (!best || d.line > best.line || best.line > line)) best = d;
    else if (!best) best = d;
  }
  return best;
}

/** Walks, scans and indexes a whole tree. */
export async function buildIndex(root: string, opts: IndexOptions = {}): Promise<KernelIndex> {
  const walk: WalkResult = walkTree(root, opts.exclude);
  return buildIndexFromWalk(root, walk, opts);
}

/** Names a tree has per source file, about (linux-6.1: 2.14 M for 56,731 files). */
const NAMES_PER_FILE = 40;

export async function buildIndexFromWalk(root: string, walk: WalkResult, opts: IndexOptions = {}): Promise<KernelIndex> {
  // A name table sized for the tree from the start: growing it to linux's size rehashed 1.9 M names.
  const log2 = Math.ceil(Math.log2((walk.sources.length * NAMES_PER_FILE) / 0.6));
  const index = new KernelIndex(root, new NameTable(new Interner(Math.max(16, Math.min(23, log2)))));
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  index.maxFileBytes = maxBytes;
  const pool = {
    root,
    maxBytes,
    workers: opts.workers,
    workerScript: opts.workerScript,
    onProgress: opts.onProgress,
    token: opts.token,
    chunkFiles: opts.chunkFiles,
    workerNameLimit: opts.workerNameLimit,
    native: opts.native,
  };
  let t = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    opts.onPhase?.(name, now - t);
    t = now;
  };
  const scanning = scanFiles(walk.sources, index.table, pool);
  // The Makefiles are read while the scan threads (or workers), which start before scanFiles() first waits, run.
  const kbuild = readKbuildNamespaces(root, walk.makefiles);
  const scanned = await scanning;
  phase('scan');
  // The postings are filled on another thread (where the addon is) while this one resolves the exports.
  const postings = index.addScannedInBackground(scanned, opts.native !== false);
  phase('postings (started)');
  index.kbuild = kbuild;
  index.collectWrappers();
  const wrapperNames = index.wrapperNames();
  if (wrapperNames) {
    const callers = index.wrapperCallers(scanned);
    const rescanned = await scanFiles(callers, index.table, { ...pool, workers: 0, onProgress: undefined, wrapperNames });
    index.applyWrapperScans(rescanned);
  }
  phase('wrappers');
  index.resolveAll();
  phase('resolve');
  await postings;
  // The per-file uses are in the postings now: let them go (tens of MB for a kernel tree).
  for (const f of scanned) if (f.scan) f.scan.uses = NO_USES;
  phase('postings (waited)');
  index.stats = { files: 0, bytes: 0, skipped: [], symlinks: walk.symlinks, excluded: walk.excluded, unreadableDirs: walk.unreadableDirs };
  index.recountStats();
  return index;
}

/**
 * The exports of a tree: export macro calls resolved through wrapper macros, the files' own small
 * macros, #includes that compile a file again, and the namespaces that Makefiles and #defines give
 * them; kept by name and by file, and resolved again for the files an edit reaches.
 */
import { join, posix } from 'node:path';
import { emptyKbuild, kbuildNamespaceFor, type KbuildNamespaces, parseMakefile, readMakefile, treeDir } from '../build/kbuild';
import { exportMacros, linkerSymbols } from '../exportMacros';
import type { ScannedFile } from '../scan/scanFile';
import type { IncludeRef, LocalMacro, RawExport } from '../scan/scanTypes';
import type { SearchedTree } from './consumers';
import { CONSTANT, expandLocal, IDENTIFIER, parsedWrappers, pickDefinition, TRACEPOINT_NAME, underPaths, unquote, withWrappers, type WrapperLookup } from './exportNames';
import type { ConfigVariant, Export, IndexedFile, Unresolved } from './types';
import { type ExpandedExport, expandWrapperCall, parseWrapper, type Wrapper } from './wrappers';

/** A relative path that joins as it is: no `.` or `..` part, no empty one, not absolute. */
const PLAIN_PATH = /^(?!\/)(?!.*(?:^|\/)\.{1,2}(?:\/|$))(?!.*\/\/).+$/;

/** A header's `#define name other`, in force for the file being resolved. */
interface Rename {
  to: string;
  file: string;
  line: number;
}

/** What resolving reads of the index, and asks of it. */
export interface ResolvedTree extends SearchedTree {
  readonly root: string;
  /** Counts a change to the exports (KernelIndex.version). */
  changed(): void;
  /** Reads a file again with the wrapper names known now. */
  rescan(path: string): ScannedFile;
}

export class ExportTable {
  exports: Export[] = [];
  readonly exportsByName = new Map<string, Export[]>();
  readonly exportsByFile = new Map<string, Export[]>();
  readonly wrappers = new Map<string, Wrapper>();
  /** A tree-wide wrapper's other definitions in the file of its first, under other #if branches. */
  readonly wrapperAlternatives = new Map<string, Wrapper[]>();
  /** Wrappers defined only around #includes (see collectWrappers). */
  readonly scopedWrappers = new Set<string>();
  unresolved: Unresolved[] = [];
  kbuild: KbuildNamespaces = emptyKbuild();

  /** File records by the last component of what they #include (resolveIncluders()), up to includersUpTo. */
  private readonly includers = new Map<string, number[]>();
  private includersUpTo = 0;
  /** The renames in force for the file being resolved (renamesOf()). */
  private renames: ReadonlyMap<string, Rename> = new Map();

  constructor(private readonly tree: ResolvedTree) {}

  /**
   * The object-like renames the file's own headers make, `#define ieee80211_rx ieee80211_rx_rsl` in
   * drivers/staging/rtl8192u/ieee80211/ieee80211.h: the file exports the linker symbol the name
   * becomes. Only headers it includes with quotes, found beside it: a kernel-wide header's
   * `#define` of a common name is more often a compiler builtin or an arch's alias, which the index
   * does not follow.
   */
  private renamesOf(f: IndexedFile): ReadonlyMap<string, Rename> {
    const out = new Map<string, Rename>();
    if (!f.includes || !f.exports.length) return out;
    for (const inc of f.includes) {
      if (inc.system) continue;
      const g = this.includedFile(f.path, inc);
      if (!g?.localMacros || g === f) continue;
      for (const [name, r] of this.renamesIn(g, g.localMacros)) if (!out.has(name)) out.set(name, r);
    }
    return out;
  }

  /** A header's object-like renames, found once for its macros (a rescan makes new ones): a header is included by many exporting files. */
  private renamesIn(g: IndexedFile, macros: readonly LocalMacro[]): readonly [string, Rename][] {
    const known = this.headerRenames.get(macros);
    if (known) return known;
    const found: [string, Rename][] = [];
    for (const m of macros) {
      const body = m.body.trim();
      // Not `#define rt2x00mac_set_key NULL` in an #else: a constant is no linker name.
      if (m.params === null && body !== m.name && IDENTIFIER.test(body) && !CONSTANT.test(body)) found.push([m.name, { to: body, file: g.path, line: m.line }]);
    }
    this.headerRenames.set(macros, found);
    return found;
  }
  private readonly headerRenames = new WeakMap<readonly LocalMacro[], readonly [string, Rename][]>();

  /**
   * Parses wrapper definitions found anywhere in the tree (outside tools/ and scripts/). A wrapper its
   * file #undefs is scoped: it exports only through the files that file includes meanwhile. `from`:
   * the files that may define any, in index order (a warm start knows them).
   */
  collectWrappers(from: readonly IndexedFile[] = this.tree.files): void {
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
    const wanted = new Uint8Array(this.tree.table.size);
    let any = false;
    for (const name of this.wrapperNames() ?? []) {
      const id = this.tree.table.get(name);
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
      const idx = this.tree.byPath.get(f.path);
      if (idx === undefined || !f.scan) continue;
      const rec = this.tree.files[idx]!;
      rec.exports = f.scan.exports;
      rec.defs = f.scan.defs;
      if (f.scan.localMacros.length) rec.localMacros = f.scan.localMacros;
      if (f.scan.includes.length) {
        rec.includes = f.scan.includes;
        // an existing record's includes changed: resolveIncluders() files them again
        this.includers.clear();
        this.includersUpTo = 0;
      }
    }
  }

  /** Resolves every live file's raw exports into exports. */
  resolveAll(): void {
    this.tree.changed();
    this.exports = [];
    this.unresolved = [];
    this.exportsByName.clear();
    this.exportsByFile.clear();
    for (const f of this.tree.files) if (f.alive && (f.exports.length || f.includes)) this.resolveFile(f);
  }

  /** Takes exports resolved before (a warm start's, from the cache) instead of resolving them again. */
  restoreExports(exports: Export[], unresolved: Unresolved[]): void {
    this.tree.changed();
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

  resolveFile(f: IndexedFile): void {
    this.renames = this.renamesOf(f);
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
  includedFile(from: string, inc: IncludeRef): IndexedFile | undefined {
    // In order, and each only when the one before is not there: nearly every quoted #include is found
    // beside the file, on the first try.
    if (!inc.system) {
      const dir = treeDir(from);
      const beside = this.aliveAt(PLAIN_PATH.test(inc.target) ? (dir ? `${dir}/${inc.target}` : inc.target) : posix.normalize(posix.join(dir, inc.target)));
      if (beside) return beside;
    }
    const found = this.aliveAt(`include/${inc.target}`);
    if (found) return found;
    const arch = from.startsWith('arch/') ? /^arch\/([^/]+)\//.exec(from)?.[1] : undefined;
    return (arch && this.aliveAt(`arch/${arch}/include/${inc.target}`)) || this.aliveAt(`include/uapi/${inc.target}`);
  }

  private aliveAt(path: string): IndexedFile | undefined {
    const k = this.tree.byPath.get(path);
    return k !== undefined && this.tree.files[k]!.alive ? this.tree.files[k] : undefined;
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
      symbols: linkerSymbols(m.flavour, this.renames.get(name)?.to ?? name),
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
    const renamed = this.renames.get(name);
    if (renamed !== undefined) {
      exp.linkerName = renamed.to;
      exp.renamedBy = { file: renamed.file, line: renamed.line };
    }
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
    this.tree.changed();
    const under = (file: string): boolean => moved.some((d) => file.startsWith(`${d}/`));
    for (const f of this.tree.files) {
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
    const other = readMakefile(this.tree.root, join(dir, path.endsWith('Kbuild') ? 'Makefile' : 'Kbuild'));
    for (const t of [other, text]) if (t?.includes('DEFAULT_SYMBOL_NAMESPACE')) parseMakefile(t, dir, kb);
  }

  exportsNamed(name: string): Export[] {
    return this.exportsByName.get(name) ?? [];
  }

  /** Exports under the paths (all when none), in file and line order whatever was updated since. */
  exportsUnder(paths: readonly string[]): Export[] {
    const under = underPaths(paths);
    const out: Export[] = [];
    // By file: a review asks for one directory at a time, a few dozen times a series.
    for (const [file, list] of this.exportsByFile) if (under(file)) for (const e of list) out.push(e);
    return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  }

  /** Export calls that could not be resolved, under the paths (all when none). */
  unresolvedUnder(paths: readonly string[]): Unresolved[] {
    const under = underPaths(paths);
    return this.unresolved.filter((u) => under(u.file));
  }

  /**
   * After a file that defines (or defined) wrapper macros changed: collects the wrappers again, in the
   * tree's order, and resolves again the files that call a wrapper whose definitions changed, or one
   * that calls such a wrapper. A file that calls a wrapper new to the tree was scanned without taking
   * the call as an export: it is read again.
   */
  refreshWrappers(): void {
    const snapshot = (): Map<string, string> => {
      const m = new Map<string, string>();
      for (const [n, w] of this.wrappers) m.set(n, JSON.stringify([w, this.wrapperAlternatives.get(n) ?? null]));
      for (const n of this.scopedWrappers) m.set(n, `${m.get(n) ?? ''} scoped`);
      return m;
    };
    const before = snapshot();
    this.collectWrappers(this.tree.files.filter((f) => f.alive && f.wrappers.length).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
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
      const id = this.tree.table.get(n);
      const isNew = !before.has(n);
      if (id !== undefined) this.tree.postings.forEach(id, (file, _line, ctx) => void (ctx === 0 && this.tree.files[file]!.alive && callers.set(file, (callers.get(file) ?? false) || isNew)));
    }
    // A file scanned while a wrapper was known holds its calls as export calls, not as uses.
    if (changed.size) {
      this.tree.files.forEach((f, k) => {
        if (f.alive && !callers.has(k) && f.exports.some((raw) => changed.has(raw.macro))) callers.set(k, false);
      });
    }
    for (const [k, unseen] of callers) {
      const f = this.tree.files[k]!;
      if (unseen) {
        this.tree.changed();
        const scanned = this.tree.rescan(f.path);
        if (!scanned.scan) continue;
        this.applyWrapperScans([scanned]);
      }
      this.removeExportsOf(f.path);
      this.resolveFile(f);
    }
  }

  /** Resolves again the files whose exports come through an #include of `path` (see resolveInclude). */
  resolveIncluders(path: string): void {
    const files = this.tree.files;
    // Files by the last component of what they #include, extended with the records added since.
    for (; this.includersUpTo < files.length; this.includersUpTo++) this.addIncluder(this.includersUpTo);
    for (const k of this.includers.get(path.slice(path.lastIndexOf('/') + 1)) ?? []) {
      const f = files[k]!;
      if (!f.alive || f.path === path) continue;
      this.removeExportsOf(f.path);
      this.resolveFile(f);
    }
  }

  /**
   * A warm start's includers: of its `upTo` files, only those with eager details (`eager`) have
   * includes, and reading each of 56,731 records of linux-6.1 to find them took 12 ms of a review.
   */
  seedIncluders(eager: readonly number[], upTo: number): void {
    this.includers.clear();
    for (const k of eager) this.addIncluder(k);
    this.includersUpTo = upTo;
  }

  private addIncluder(k: number): void {
    for (const inc of this.tree.files[k]!.includes ?? []) {
      const base = inc.target.slice(inc.target.lastIndexOf('/') + 1);
      const list = this.includers.get(base);
      if (!list) this.includers.set(base, [k]);
      else if (list[list.length - 1] !== k) list.push(k);
    }
  }

  removeExportsOf(path: string): void {
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

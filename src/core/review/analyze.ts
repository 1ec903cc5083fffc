/**
 * What a patch series does to exports, and whether it keeps the linux-mm rules:
 *   1. GPL-only exports where the policy says so;
 *   2. every new export has a user in the same series, or already in the tree;
 *   3. no new exports while existing ones in the same file or directory go unconsumed.
 * The series is applied in memory, patch by patch, over the index of the base tree.
 */
import type { BuildAnswers } from '../build/answers';
import { countsAsConsumer } from '../index/classify';
import { isGplOnly, licenseWords } from '../exportMacros';
import { policyMatcher, type Severity } from '../findings/findings';
import type { Consumer, Export, KernelIndex } from '../index/index';
// Makefiles can set DEFAULT_SYMBOL_NAMESPACE for a directory through ccflags; Kconfig files go to the build model
import { BUILD_FILE, MAKEFILE } from '../build/kbuild';
import { applyFileDiff } from './apply';
import type { FileDiff } from './diff';
import { isLinkerDefinition, type ModuleView, moduleView, NOT_KERNEL } from './modules';
import { type Whose, whoseWords } from './recipients';
import type { Patch, Series } from './series';

export const reviewCodes = [
  'NOT_GPL_ONLY',
  'LICENSE_RELAXED',
  'LICENSE_TIGHTENED',
  'NAMESPACE_CHANGED',
  'NEW_EXPORT_NO_CONSUMER',
  'CONSUMER_IN_LATER_PATCH',
  'UNCONSUMED_EXPORTS_NEARBY',
  'REMOVED_EXPORT_STILL_USED',
  'MISSING_NAMESPACE_IMPORT',
  'UNEXPORTED_SYMBOL_USE',
  'PATCH_DOES_NOT_APPLY',
] as const;
export type ReviewCode = (typeof reviewCodes)[number];

export const reviewSeverity: Record<ReviewCode, Exclude<Severity, 'off'>> = {
  NOT_GPL_ONLY: 'warning',
  LICENSE_RELAXED: 'warning',
  LICENSE_TIGHTENED: 'info',
  NAMESPACE_CHANGED: 'info',
  NEW_EXPORT_NO_CONSUMER: 'warning',
  CONSUMER_IN_LATER_PATCH: 'info',
  UNCONSUMED_EXPORTS_NEARBY: 'warning',
  REMOVED_EXPORT_STILL_USED: 'error',
  MISSING_NAMESPACE_IMPORT: 'error',
  UNEXPORTED_SYMBOL_USE: 'error',
  PATCH_DOES_NOT_APPLY: 'error',
};

export interface ReviewFinding {
  code: ReviewCode;
  severity: Exclude<Severity, 'off'>;
  /** The patch the finding is about (its index in the series). */
  patch: number;
  symbol: string;
  file: string;
  /** Line in the file after the patch. */
  line: number;
  message: string;
  /** Whose code it concerns, from MAINTAINERS: the consumers' for a removal or a relaxed license, the exporter's for a new export nobody uses. */
  whose?: Whose;
}

export interface ExportChange {
  name: string;
  macro: string;
  license: string;
  namespace: string | null;
  file: string;
  line: number;
  /** For a change: the macro and namespace before. */
  before?: { macro: string; license: string; namespace: string | null };
  /** For a new export: where its first consumer comes from. */
  firstConsumer?: { patch: number | 'tree'; file: string; line: number };
  /** For a new export: its consumers once the whole series is in (at most 20), and how many in all. */
  consumers?: { file: string; line: number; cls: string; via?: string }[];
  consumerCount?: number;
}

export interface PatchReport {
  index: number;
  total: number;
  /** "3/15" as the subject numbers it, or "#3" for a mail without a number in a numbered series. */
  label: string;
  subject: string;
  author: string;
  files: string[];
  added: ExportChange[];
  removed: ExportChange[];
  changed: ExportChange[];
}

export interface Review {
  patches: PatchReport[];
  findings: ReviewFinding[];
  problems: { patch: number; source: string; line: number; message: string }[];
  replies: number;
  cover?: { subject: string; author: string };
  /** The To and Cc a reply proposes, from MAINTAINERS. */
  recipients?: { to: string[]; cc: string[] };
}

export interface ReviewOptions {
  gplOnlyPaths: readonly string[];
  testsCountAsConsumers: boolean;
  /** The base tree's text of a path (undefined: the file does not exist there). */
  baseText: (path: string) => string | undefined;
  /** Who maintains files (MAINTAINERS), to name in the findings that concern other code. */
  whose?: (files: readonly string[]) => Whose;
  /** The tree's text of a file the series does not touch (a definition's line is read from it). */
  treeText?: (path: string) => string | undefined;
  /** The build model as the series leaves it, given the texts of the files it touched; undefined for a tree without one. */
  build?: (texts: ReadonlyMap<string, string | undefined>) => BuildAnswers | undefined;
}

const SOURCE = /\.(c|h|S)$/;

const KEYWORDS = new Set([
  'if',
  'for',
  'while',
  'switch',
  'return',
  'sizeof',
  'typeof',
  '__typeof__',
  'defined',
  'do',
  'else',
  'case',
  'goto',
  'alignof',
  '_Alignof',
  '__alignof__',
  'offsetof',
  'asm',
  '__asm__',
  'volatile',
  'void',
  'char',
  'short',
  'int',
  'long',
  'unsigned',
  'signed',
  'float',
  'double',
  'const',
  'struct',
  'union',
  'enum',
]);

/** Whether the file has a static function of the name: a call in it goes there, not to another file's. */
function definesStatic(text: string | undefined, name: string): boolean {
  if (!text?.includes(name)) return false;
  return new RegExp(`^[^\\n;{}]*\\bstatic\\b[^;{}=]*\\b${name}\\s*\\(`, 'm').test(text);
}

const key = (e: Export): string => `${e.name}\u0000${e.flavour}`;

function change(e: Export): ExportChange {
  return { name: e.name, macro: e.macro, license: licenseWords(e.type), namespace: e.namespace ?? null, file: e.file, line: e.line };
}

export function reviewSeries(index: KernelIndex, series: Series, opts: ReviewOptions): Review {
  const review: Review = { patches: [], findings: [], problems: series.problems.map((p) => ({ patch: 0, ...p })), replies: series.replies };
  if (series.cover) review.cover = series.cover;
  const inPolicy = policyMatcher(opts.gplOnlyPaths);
  const counts = (c: Consumer): boolean => countsAsConsumer(c.cls, opts.testsCountAsConsumers);
  const add = (f: Omit<ReviewFinding, 'severity'>): void => void review.findings.push({ severity: reviewSeverity[f.code], ...f });
  // a finding about other code says whose it is
  const told = (f: Omit<ReviewFinding, 'severity'>, files: readonly string[]): Omit<ReviewFinding, 'severity'> => {
    const w = opts.whose?.(files);
    const words = w && whoseWords(w);
    return w && words ? { ...f, message: `${f.message} (${words})`, whose: w } : f;
  };

  // The files the series touches, set to their base text.
  let text = new Map<string, string | undefined>();
  const touched = new Set<string>();
  for (const p of series.patches) for (const f of p.files) for (const path of [f.oldPath, f.newPath]) if (!f.error && path && (SOURCE.test(path) || BUILD_FILE.test(path))) touched.add(path);
  for (const path of touched) {
    const base = opts.baseText(path);
    text.set(path, base);
    if (MAKEFILE.test(path)) index.setMakefile(path, base);
    else if (!SOURCE.test(path))
      continue; // a Kconfig file: the build model reads it
    else if (base === undefined) index.deleteFile(path);
    else index.updateFile(path, Buffer.from(base, 'latin1'));
  }
  const baseExports = new Map<string, Export[]>();
  for (const path of touched) baseExports.set(path, [...(index.exportsByFile.get(path) ?? [])]);

  const newExports: { exp: ExportChange; live: Export; patch: number }[] = [];
  const removed: { exp: Export; patch: number }[] = [];
  const addedUses: { patch: number; file: string; line: number; name: string; call: boolean }[] = [];

  for (const patch of series.patches) {
    const report: PatchReport = { index: patch.index, total: patch.total, label: patch.label, subject: patch.subject, author: patch.author, files: [], added: [], removed: [], changed: [] };
    review.patches.push(report);
    for (const f of patch.files) report.files.push(pathOf(f));
    // A patch goes in whole or not at all, as with git apply: every file is tried before any is applied.
    const attempt = tryPatch(patch, text);
    if (attempt.failed.length) {
      for (const { f, error } of attempt.failed) {
        const path = pathOf(f);
        review.problems.push({ patch: patch.index, source: patch.source, line: patch.diffLine, message: `patch ${patch.label} "${patch.subject}": ${path}: ${error}` });
        add({
          code: 'PATCH_DOES_NOT_APPLY',
          patch: patch.index,
          symbol: '',
          file: path,
          line: 0,
          message: `${path}: ${error}; no file of this patch is applied, and what the rest of the series adds is still analysed`,
        });
      }
      continue;
    }
    text = attempt.text;
    // the texts are the patch's now; the index follows them file by file
    for (const f of patch.files) {
      const path = pathOf(f);
      const before = [...(index.exportsByFile.get(path) ?? [])];
      if (f.type === 'rename') index.deleteFile(f.oldPath);
      // sources hold exports and uses, Makefiles namespaces: blobs and documentation are not applied
      const makefile = MAKEFILE.test(path);
      if (!SOURCE.test(path) && !SOURCE.test(f.oldPath) && !makefile) continue;
      const now = text.get(path);
      if (makefile) {
        // The directory's exports (and below, for subdir-ccflags) may change namespace.
        const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.';
        const was = new Map(index.exportsUnder([dir]).map((e) => [`${e.file}\u0000${key(e)}`, e]));
        index.setMakefile(path, now);
        for (const e of index.exportsUnder([dir])) {
          const old = was.get(`${e.file}\u0000${key(e)}`);
          if (old && (old.namespace ?? null) !== (e.namespace ?? null)) {
            report.changed.push({ ...change(e), before: { macro: old.macro, license: licenseWords(old.type), namespace: old.namespace ?? null } });
          }
        }
        continue;
      }
      if (now === undefined) index.deleteFile(path);
      else index.updateFile(path, Buffer.from(now, 'latin1'));
      for (const h of f.hunks) {
        for (const c of h.changes) {
          if (c.type !== 'insert') continue;
          for (const m of c.content.matchAll(/(?<![.>\w])([A-Za-z_]\w*)(\s*\()?/g)) addedUses.push({ patch: patch.index, file: path, line: c.lineNumber, name: m[1]!, call: !!m[2] });
        }
      }
      diffExports(before, index.exportsByFile.get(path) ?? [], patch.index, report, newExports, removed);
    }
    // rule 2, as the series goes: does a pending new export have a consumer now?
    for (const n of newExports) {
      if (n.exp.firstConsumer) continue;
      // the whole list, in path order, so that the first named is the same however the index was made
      const c = index.consumers(n.live).find(counts);
      if (c) n.exp.firstConsumer = { patch: touchedBy(series.patches, c.file, patch.index) ?? 'tree', file: c.file, line: c.line };
    }
  }

  // Exports the series adds are never "existing" ones for rule 3, whichever object the index holds
  // for them now (a later file of the same patch can make the index resolve a file again).
  const added = new Set(newExports.map((n) => `${n.live.file}\u0000${key(n.live)}`));
  for (const n of newExports) {
    const e = n.live;
    const all = index.consumers(e).filter(counts);
    n.exp.consumerCount = all.length;
    n.exp.consumers = all.slice(0, 20).map((c) => ({ file: c.file, line: c.line, cls: c.cls, ...(c.via ? { via: c.via.name } : {}) }));
    if (inPolicy(e.file) && !isGplOnly(e.type) && e.flavour !== 'kunit') {
      add({
        code: 'NOT_GPL_ONLY',
        patch: n.patch,
        symbol: e.name,
        file: e.file,
        line: e.line,
        message: `${e.name} is newly exported with ${e.macro} (${licenseWords(e.type)}); the GPL-only policy for ${e.file} wants EXPORT_SYMBOL_GPL`,
      });
    }
    const fc = n.exp.firstConsumer;
    if (!fc) {
      add(
        told(
          {
            code: 'NEW_EXPORT_NO_CONSUMER',
            patch: n.patch,
            symbol: e.name,
            file: e.file,
            line: e.line,
            message: `${e.name} is newly exported but nothing in the series or the tree uses it (rule 2: a new export needs an in-tree user)`,
          },
          [e.file],
        ),
      );
    } else if (typeof fc.patch === 'number' && fc.patch > n.patch) {
      add({
        code: 'CONSUMER_IN_LATER_PATCH',
        patch: n.patch,
        symbol: e.name,
        file: e.file,
        line: e.line,
        message: `${e.name} gets its first consumer in patch ${series.patches[fc.patch - 1]?.label ?? fc.patch}: ${fc.file}:${fc.line}`,
      });
    }
    // rule 3: base exports of the same file or directory without a consumer
    const dir = e.file.slice(0, e.file.lastIndexOf('/') + 1);
    const idle = index
      .exportsUnder([dir.replace(/\/$/, '') || '.'])
      .filter((x) => x.file.slice(0, x.file.lastIndexOf('/') + 1) === dir && !added.has(`${x.file}\u0000${key(x)}`))
      .filter((x) => !index.consumers(x, counts).some(counts));
    if (idle.length) {
      const list = idle
        .slice(0, 5)
        .map((x) => `${x.name} (${x.file}:${x.line})`)
        .join(', ');
      add({
        code: 'UNCONSUMED_EXPORTS_NEARBY',
        patch: n.patch,
        symbol: e.name,
        file: e.file,
        line: e.line,
        message: `${e.name} is a new export in ${dir || './'}, where ${idle.length} export${idle.length === 1 ? ' has' : 's have'} no consumer (rule 3): ${list}${idle.length > 5 ? ', …' : ''}`,
      });
    }
  }

  for (const report of review.patches) {
    for (const c of report.changed) {
      if (!c.before) continue;
      const wasGpl = c.before.license === 'GPL-only';
      const isGpl = c.license === 'GPL-only';
      if (wasGpl && !isGpl) {
        const live = index.exportsNamed(c.name).find((x) => x.file === c.file);
        const users = live
          ? index
              .consumers(live)
              .filter((u) => u.cls !== 'tools')
              .map((u) => u.file)
          : [];
        const base = {
          code: 'LICENSE_RELAXED' as const,
          patch: report.index,
          symbol: c.name,
          file: c.file,
          line: c.line,
          message: `${c.name} goes from ${c.before.macro} (GPL-only) to ${c.macro} (any license): modules under any license can now use it`,
        };
        add(users.length ? told(base, users) : base);
      }
      if (!wasGpl && isGpl)
        add({
          code: 'LICENSE_TIGHTENED',
          patch: report.index,
          symbol: c.name,
          file: c.file,
          line: c.line,
          message: `${c.name} goes from ${c.before.macro} to ${c.macro}: modules that are not GPL lose it`,
        });
      if (c.before.namespace !== c.namespace)
        add({
          code: 'NAMESPACE_CHANGED',
          patch: report.index,
          symbol: c.name,
          file: c.file,
          line: c.line,
          message: `${c.name} moves from namespace ${c.before.namespace ?? '(none)'} to ${c.namespace ?? '(none)'}`,
        });
    }
  }

  // What modpost says of the modules the series leaves: the build model after its Makefiles and
  // Kconfig files, else a file for a module. Made when first asked: most series never ask.
  let view: ModuleView | undefined;
  const mods = (): ModuleView => (view ??= moduleView(index, opts.build?.(text)));
  for (const r of removed) {
    if (index.exportsNamed(r.exp.name).some((x) => x.flavour === r.exp.flavour)) continue; // exported again elsewhere
    const users = index.consumers(r.exp).filter((c) => c.cls !== 'tools');
    if (users.length === 0) continue;
    const names = users
      .slice(0, 5)
      .map((c) => `${c.file}:${c.line}`)
      .join(', ');
    const first = users.flatMap((u) => mods().modulesOf(u.file))[0];
    const modpost = first ? `; modpost: "${r.exp.name}" [${first}.ko] undefined!` : '';
    add(
      told(
        {
          code: 'REMOVED_EXPORT_STILL_USED',
          patch: r.patch,
          symbol: r.exp.name,
          file: r.exp.file,
          line: r.exp.line,
          message: `${r.exp.name} is no longer exported but ${users.length} file${users.length === 1 ? ' uses' : 's use'} it: ${names}${users.length > 5 ? ', …' : ''}${modpost}`,
        },
        users.map((u) => u.file),
      ),
    );
  }

  // a name the scanner saw as code on that line: not a word in a comment or a string
  const usedThere = (u: { file: string; line: number; name: string }): boolean => index.usesAt(u.name, u.file, u.line);
  const textOf = (path: string): string | undefined => (text.has(path) ? text.get(path) : opts.treeText?.(path));

  // namespaced symbols the series starts using from a module that does not import them
  const seen = new Set<string>();
  for (const u of addedUses) {
    const exps = index.exportsNamed(u.name).filter((e) => e.namespace && !e.namespace.startsWith('module:') && e.file !== u.file);
    if (exps.length === 0) continue;
    for (const mod of mods().modulesOf(u.file)) {
      const imports = mods().imports(mod, u.file);
      for (const e of exps) {
        const k = `${mod}\u0000${e.name}`;
        if (seen.has(k) || imports.has(e.namespace!) || mods().linkedInto(e.file, mod) || !usedThere(u)) continue;
        seen.add(k);
        add({
          code: 'MISSING_NAMESPACE_IMPORT',
          patch: u.patch,
          symbol: e.name,
          file: u.file,
          line: u.line,
          message: `modpost: module ${mod} uses symbol ${e.name} from namespace ${e.namespace}, but does not import it.`,
        });
      }
    }
  }

  // existing modular users of an export the series moves into a namespace they do not import
  for (const report of review.patches) {
    for (const c of report.changed) {
      if (!c.before || !c.namespace || c.namespace === c.before.namespace || c.namespace.startsWith('module:')) continue;
      const live = index.exportsNamed(c.name).find((e) => e.file === c.file);
      if (!live) continue;
      for (const u of index.consumers(live)) {
        if (u.cls === 'tools') continue;
        for (const mod of mods().modulesOf(u.file)) {
          const k = `${mod}\u0000${c.name}`;
          if (seen.has(k) || mods().imports(mod, u.file).has(c.namespace) || mods().linkedInto(live.file, mod)) continue;
          seen.add(k);
          add({
            code: 'MISSING_NAMESPACE_IMPORT',
            patch: report.index,
            symbol: c.name,
            file: u.file,
            line: u.line,
            message: `modpost: module ${mod} uses symbol ${c.name} from namespace ${c.namespace}, but does not import it (patch ${report.label} moves ${c.name} from ${c.before.namespace ?? 'no namespace'} into ${c.namespace})`,
          });
        }
      }
    }
  }

  // calls the series adds, from code that can be a module, of symbols defined outside it but not exported
  const called = new Set<string>();
  const realDefs = new Map<string, { file: string; line: number }[]>();
  for (const u of addedUses) {
    if (!u.call || KEYWORDS.has(u.name) || index.exportsNamed(u.name).length) continue;
    // the text first, then the call's line; the build model is read only when all of that holds
    let defs = realDefs.get(u.name);
    if (!defs) {
      defs = index
        .definitionsOf(u.name)
        .slice(0, 50)
        .filter((d) => !NOT_KERNEL.test(d.file) && isLinkerDefinition(d.file, textOf(d.file) ?? '', u.name, d.line));
      realDefs.set(u.name, defs);
    }
    if (defs.length === 0 || definesStatic(textOf(u.file), u.name) || !usedThere(u)) continue;
    defs = defs.filter((d) => mods().built(d.file));
    if (defs.length === 0) continue;
    for (const mod of mods().modulesOf(u.file)) {
      const k = `${mod}\u0000${u.name}`;
      if (called.has(k) || defs.some((d) => mods().linkedInto(d.file, mod))) continue;
      called.add(k);
      const d = defs[0]!;
      add({
        code: 'UNEXPORTED_SYMBOL_USE',
        patch: u.patch,
        symbol: u.name,
        file: u.file,
        line: u.line,
        message: `modpost: "${u.name}" [${mod}.ko] undefined!: ${u.name} is defined in ${d.file}:${d.line} (${mods().where(d.file)}) but not exported`,
      });
    }
  }

  review.findings.sort((a, b) => a.patch - b.patch || (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  return review;
}

function diffExports(
  before: readonly Export[],
  after: readonly Export[],
  patch: number,
  report: PatchReport,
  newExports: { exp: ExportChange; live: Export; patch: number }[],
  removed: { exp: Export; patch: number }[],
): void {
  const b = new Map(before.map((e) => [key(e), e]));
  const a = new Map(after.map((e) => [key(e), e]));
  for (const [k, e] of a) {
    const old = b.get(k);
    if (!old) {
      // an export that an earlier patch of the series added and this one rewrites is no new export
      const earlier = newExports.find((n) => key(n.live) === k && n.live.file === e.file);
      if (earlier) {
        earlier.live = e;
        Object.assign(earlier.exp, change(e), { firstConsumer: earlier.exp.firstConsumer });
        continue;
      }
      const c = change(e);
      report.added.push(c);
      newExports.push({ exp: c, live: e, patch });
    } else if (old.type !== e.type || (old.namespace ?? null) !== (e.namespace ?? null)) {
      report.changed.push({ ...change(e), before: { macro: old.macro, license: licenseWords(old.type), namespace: old.namespace ?? null } });
    }
  }
  for (const [k, e] of b) {
    if (a.has(k)) continue;
    report.removed.push(change(e));
    removed.push({ exp: e, patch });
  }
}

/** The file a diff leaves behind: its new path, or the old one for a deletion. */
const pathOf = (f: FileDiff): string => (f.type === 'delete' ? f.oldPath : f.newPath);

/**
 * A patch tried on a copy of the texts, as git apply --check does: the files that fail, and the
 * texts once every one is in.
 */
function tryPatch(patch: Patch, text: ReadonlyMap<string, string | undefined>): { failed: { f: FileDiff; error: string }[]; text: Map<string, string | undefined> } {
  const draft = new Map(text);
  const failed: { f: FileDiff; error: string }[] = [];
  for (const f of patch.files) {
    const path = pathOf(f);
    if (f.error) {
      failed.push({ f, error: f.error });
      continue;
    }
    if (f.type === 'rename' || f.type === 'copy') {
      draft.set(path, draft.get(f.oldPath));
      if (f.type === 'rename') draft.set(f.oldPath, undefined);
    }
    if (!SOURCE.test(path) && !SOURCE.test(f.oldPath) && !BUILD_FILE.test(path)) continue;
    const r = applyFileDiff(draft.get(path), f);
    if ('error' in r) failed.push({ f, error: r.error });
    else draft.set(path, r.text);
  }
  return { failed, text: draft };
}

function touchedBy(patches: readonly Patch[], file: string, upTo: number): number | undefined {
  let first: number | undefined;
  for (const p of patches) {
    if (p.index > upTo) break;
    if (p.files.some((f) => f.newPath === file)) first = p.index;
  }
  return first;
}

/** The sources and Makefiles a series touches: the files whose base text the review needs. */
export function touchedPaths(series: Series): string[] {
  return [...new Set(series.patches.flatMap((p) => p.files.flatMap((f) => (f.error ? [] : [f.oldPath, f.newPath]))).filter((p) => p && (SOURCE.test(p) || BUILD_FILE.test(p))))];
}

/**
 * The build model: which module every source file is linked into, and under which config, read from
 * the tree's Kbuild files and Kconfig without running make.
 *
 * The walk starts where Kbuild starts, at the top-level Kbuild (obj-y += kernel/ mm/ … $(ARCH_CORE)),
 * with each architecture's head (arch/NAME/Makefile's core-y, libs-y and drivers-y) read first, and
 * descends into every `foo/` in obj-y, obj-m and lib-y. A directory reached through obj-m only links
 * its obj-m objects (its built-in.a is never linked), so each directory keeps two conditions: under
 * which it is linked into vmlinux, and under which it is built at all.
 *
 * Modules are named as modpost names them in Module.symvers and modules.order: the .ko's path
 * without .ko (drivers/gpu/drm/nouveau/nouveau), and vmlinux for the core kernel.
 */
import { and, type Cond, condText, N, NEVER, or, type Term, TRUE, archTerm, Y } from './cond';
import { KCONFIG, treeDir } from './kbuild';
import { impliedBy, type Kconfig, readKconfig, type ReadKconfig, type ReadText, type SymbolType } from './kconfig';
import { type Item, type Lookup, MakeEval, type Word } from './makefile';
import { type DirConds, type DirEval, dirPart, feasible, type Linked, modulesOf, NOT_LINKED, type ObjEntry, Placements, type PlaceSource, type Placement } from './derive';
import type { Unknown } from './unknown';

export type { DirEval, ObjEntry, Placement } from './derive';
export { feasible, isModular, modulesOf } from './derive';

export interface BuildModel {
  /** object stem (drivers/gpu/drm/nouveau/nouveau_svm) -> where that object is linked */
  placements: Placements;
  kconfig: Kconfig;
  /** every directory's Makefile as the walk read it: an edit re-reads only the Makefiles it touches */
  evals: Map<string, DirEval>;
  /** the architectures' heads (arch/NAME/Makefile), read before the walk, and what they hold that the model does not understand */
  heads: string[];
  headsUnknown: Unknown[];
  /** Makefiles and Kbuild files read, tree-relative */
  makefiles: string[];
  unknown: Unknown[];
}

export interface ModelInput {
  read: ReadText;
  /** Kconfig files as bytes, when the reader has them so (Kconfig is read as bytes; `read`'s text otherwise) */
  readBytes?: ReadKconfig;
  exists: (path: string) => boolean;
  /** the architectures: arch/NAME with a Kconfig */
  arches: readonly string[];
}

const ARCH_OF = /^arch\/([^/]+)\//;

interface Heads {
  common: Map<string, Item[]>;
  archVars: Map<string, Lookup>;
  files: string[];
  unknown: Unknown[];
}

export function buildModel(input: ModelInput): BuildModel {
  const arches = input.arches.filter((a) => input.exists(`arch/${a}/Kconfig`));
  const kconfig = readKconfig(input.readBytes ?? input.read, arches);
  const heads = readHeads(input.read, arches);
  const evals = new Map<string, DirEval>();
  walk(evals, [''], input, heads);
  if (!evals.has('') || evals.get('')!.edges.length === 0) fallbackRoots(evals, heads, input);
  return derive(kconfig, evals, heads.files, heads.unknown);
}

/**
 * The model after edits: Makefiles and Kbuild files that changed are evaluated again (and the
 * directories a new line reaches, for the first time); a changed Kconfig file reads Kconfig again.
 * The rest of the walk is kept. A changed architecture head is read with everything else, as new.
 * `changed` holds tree-relative paths; `input` reads their new texts.
 */
export function updateModel(model: BuildModel, input: ModelInput, changed: Iterable<string>): BuildModel {
  const paths = new Set(changed);
  if (paths.size === 0) return model;
  if ([...paths].some((p) => model.heads.includes(p) || /^arch\/[^/]+\/Makefile$/.test(p))) return buildModel(input);
  const arches = model.kconfig.arches;
  const kconfig = [...paths].some((p) => KCONFIG.test(p)) ? readKconfig(input.readBytes ?? input.read, arches) : model.kconfig;
  const build = [...paths].filter((p) => !KCONFIG.test(p));
  if (build.length === 0) return derive(kconfig, model.evals, model.heads, model.headsUnknown);
  const heads = readHeads(input.read, arches);
  const evals = new Map(model.evals);
  const again: string[] = [];
  for (const ev of model.evals.values()) if (ev.read.some((f) => paths.has(f))) again.push(ev.dir);
  // a Makefile or Kbuild new in a directory the walk reached but found nothing in
  for (const p of build) {
    const dir = treeDir(p);
    if (!evals.has(dir) && [...model.evals.values()].some((ev) => ev.edges.some((e) => e.dir === dir))) again.push(dir);
  }
  for (const dir of again) evals.delete(dir);
  walk(evals, again, input, heads, (dir) => model.evals.get(dir)?.arch ?? parentArch(model.evals, dir));
  return derive(kconfig, evals, heads.files, heads.unknown);
}

/** The architecture an edge into `dir` gives it. */
function parentArch(evals: ReadonlyMap<string, DirEval>, dir: string): string | undefined {
  for (const ev of evals.values()) for (const e of ev.edges) if (e.dir === dir) return e.term.arch ?? ev.arch ?? ARCH_OF.exec(`${ev.dir}/`)?.[1];
  return undefined;
}

/** The architectures' heads: arch/NAME/Makefile's core-y, libs-y and drivers-y, and the variables the walk sees. */
function readHeads(read: ReadText, arches: readonly string[]): Heads {
  const common = new Map<string, Item[]>();
  const unknown: Unknown[] = [];
  const files: string[] = [];
  const archItem = (text: string, arch: string): Item => ({ text, term: archTerm(arch), raw: false, line: 0 });
  common.set(
    'SRCARCH',
    arches.map((a) => archItem(a, a)),
  );
  common.set(
    'ARCH',
    arches.map((a) => archItem(a, a)),
  );
  common.set('srctree', [{ text: '.', term: TRUE, raw: false, line: 0 }]);
  const archCore: Item[] = [];
  const archLib: Item[] = [{ text: 'lib/', term: TRUE, raw: false, line: 0 }];
  const archDrivers: Item[] = [];
  const archVars = new Map<string, Lookup>();
  for (const a of arches) {
    const path = `arch/${a}/Makefile`;
    const text = read(path);
    if (text === undefined) continue;
    files.push(path);
    const g = new Map(common);
    g.set('SRCARCH', [archItem(a, a)]);
    g.set('ARCH', [archItem(a, a)]);
    const ev = new MakeEval(path, (name) => g.get(name), archTerm(a), read).run(text);
    unknown.push(...ev.unknown);
    // what the head sets, then what it was given (ARCH_CORE and the rest are not given to heads)
    archVars.set(a, (name) => ev.itemsOf(name));
    const items = (name: string): Item[] => ev.expandList(`$(${name})`, archTerm(a)).map(wordItem);
    archCore.push(...items('core-y'));
    archLib.push(...items('libs-y').filter((i) => i.text.endsWith('/')));
    archDrivers.push(...items('drivers-y'), ...items('drivers-m'));
  }
  common.set('ARCH_CORE', archCore);
  common.set('ARCH_LIB', archLib);
  common.set('ARCH_DRIVERS', archDrivers);
  return { common, archVars, files, unknown };
}

/**
 * The walk, from `from` down through every subdirectory not yet in `evals`. The architecture a
 * directory is built for is the one of the edge that reaches it, which is not always its path's
 * (arch/um's Makefile descends into arch/x86/um).
 */
function walk(evals: Map<string, DirEval>, from: readonly string[], input: ModelInput, heads: Heads, archOf?: (dir: string) => string | undefined): void {
  const queue = [...from];
  const queued = new Set(queue);
  const archHint = new Map<string, string | undefined>();
  for (const dir of from) if (archOf) archHint.set(dir, archOf(dir));
  while (queue.length) {
    const dir = queue.shift()!;
    const ev = evalDir(dir, input, heads, archHint.get(dir));
    if (!ev) continue;
    evals.set(dir, ev);
    const mine = ev.arch ?? ARCH_OF.exec(`${dir}/`)?.[1];
    for (const e of ev.edges) {
      if (queued.has(e.dir) || evals.has(e.dir)) continue;
      queued.add(e.dir);
      queue.push(e.dir);
      archHint.set(e.dir, e.term.arch ?? mine);
    }
  }
}

/** Placements from the walk: each directory's conditions (linked into vmlinux, built at all), then each object's. */
export function derive(kconfig: Kconfig, evals: Map<string, DirEval>, heads: string[], headsUnknown: readonly Unknown[]): BuildModel {
  const parents = new Map<string, { from: string; term: Term; linked: boolean }[]>();
  for (const ev of evals.values())
    for (const e of ev.edges) {
      let list = parents.get(e.dir);
      if (!list) parents.set(e.dir, (list = []));
      list.push({ from: ev.dir, term: e.term, linked: e.linked });
    }
  const linkedCond = new Map<string, Cond>();
  const builtCond = new Map<string, Cond>();
  const condOf = (dir: string, linked: boolean, visiting: Set<string>): Cond => {
    const memo = linked ? linkedCond : builtCond;
    const known = memo.get(dir);
    if (known) return known;
    if (dir === '') return [TRUE];
    if (visiting.has(dir)) return NEVER;
    visiting.add(dir);
    let c: Cond = NEVER;
    for (const p of parents.get(dir) ?? []) {
      if (linked && !p.linked) continue;
      c = or(c, and(condOf(p.from, linked, visiting), [p.term]));
    }
    visiting.delete(dir);
    c = feasible(c, kconfig);
    memo.set(dir, c);
    return c;
  };

  const makefiles = [...heads];
  const unknown: Unknown[] = [...kconfig.unknown, ...headsUnknown];
  const byDir = new Map<string, DirEval[]>();
  for (const ev of evals.values()) {
    makefiles.push(ev.makefile);
    unknown.push(...ev.unknown);
    for (const o of ev.objects) {
      const d = dirPart(o.object);
      const list = byDir.get(d);
      if (!list) byDir.set(d, [ev]);
      else if (list[list.length - 1] !== ev) list.push(ev);
    }
  }
  const conds = new Map<DirEval, DirConds | undefined>();
  const source: PlaceSource = {
    objectDirs: () => [...byDir.keys()],
    evalsFor: (dir) => byDir.get(dir) ?? [],
    condsOf: (ev) => {
      if (conds.has(ev)) return conds.get(ev);
      const built = condOf(ev.dir, false, new Set());
      // a directory no edge reaches any more (an edit took its line out) places nothing
      const c = built.length === 0 && ev.dir !== '' && !parents.has(ev.dir) ? undefined : { built, linked: condOf(ev.dir, true, new Set()) };
      conds.set(ev, c);
      return c;
    },
  };
  return { placements: new Placements(source, kconfig), kconfig, evals, heads, headsUnknown: [...headsUnknown], makefiles, unknown };
}

/** Whether a source #includes a file of its directory in quotes (`#include "ehci-hub.c"`). */
export type Includes = (src: string, name: string) => boolean;

/**
 * Where a file is built: the placements of its object; for a .c or .S file that no Makefile names,
 * those of the files in its directory that #include it (drivers/usb/host/ehci-hcd.c includes
 * ehci-hub.c); for an export a host program prints (`generated`), those of its directory's objects
 * that have no source (lib/raid6/tables.o, which mktables prints). Headers get none: a use in a
 * header belongs to each file that includes it.
 */
export function placementsOf(model: BuildModel, path: string, includes: Includes, exists: (p: string) => boolean, generated = false): Placement[] {
  const dir = treeDir(path);
  const stems = model.placements.stemsIn(dir);
  if (generated) return stems.filter((stem) => !sourceOf(stem, exists)?.endsWith('.c')).flatMap((stem) => model.placements.get(stem)!);
  const m = /\.(c|S|c_shipped)$/.exec(path);
  if (!m) return [];
  const own = model.placements.get(path.slice(0, m.index));
  if (own) return own;
  const base = path.slice(dir ? dir.length + 1 : 0);
  const out: Placement[] = [];
  for (const stem of stems) {
    const src = sourceOf(stem, exists);
    if (!src || src === path) continue;
    if (includes(src, base)) out.push(...model.placements.get(stem)!);
  }
  return out;
}

/**
 * placementsOf() as Linked, for a source (.c, .S): from the directory's Linked answers, without its
 * placements kept (derive.ts, Placements.linkedIn()).
 */
export function linkedOf(model: BuildModel, path: string, includes: Includes, exists: (p: string) => boolean): Linked {
  const m = /\.(c|S|c_shipped)$/.exec(path);
  if (!m) return NOT_LINKED;
  const dir = treeDir(path);
  const linked = model.placements.linkedIn(dir);
  const own = linked.get(path.slice(0, m.index));
  if (own) return own;
  const base = path.slice(dir ? dir.length + 1 : 0);
  const parts: Linked[] = [];
  for (const [stem, l] of linked) {
    const src = sourceOf(stem, exists);
    if (src && src !== path && includes(src, base)) parts.push(l);
  }
  if (parts.length <= 1) return parts[0] ?? NOT_LINKED;
  // modulesOf() of the parts together: each of their modules a .ko but vmlinux
  const modules = modulesOf(parts.flatMap((l) => l.modules.map((module) => ({ module, modular: module !== 'vmlinux' }))));
  return { modules, modular: parts.some((l) => l.modular) };
}

const QUOTED_INCLUDE = /^\s*#\s*include\s+"([^"]*)"/gm;

/** The names a text #includes in quotes (`#include "ehci-hub.c"`): what placementsOf() asks of a source. */
export function quotedIncludes(text: string): Set<string> {
  const out = new Set<string>();
  // each name copied out: a match is a slice that keeps the whole file's text alive (the includes of
  // 3,000 files kept so were 24 MB of a summary of every export)
  for (const m of text.matchAll(QUOTED_INCLUDE)) out.add(m[1]!.split('').join(''));
  return out;
}

function wordItem(w: Word): Item {
  const it: Item = { text: w.word, term: w.term, raw: false, line: w.line };
  if (w.gate) it.gate = w.gate;
  return it;
}

function evalDir(dir: string, input: ModelInput, heads: Heads, archHint?: string): DirEval | undefined {
  const read: string[] = [];
  const reading = (path: string): string | undefined => {
    const text = input.read(path);
    if (text !== undefined) read.push(path);
    return text;
  };
  // the Makefile Kbuild reads in a directory: Kbuild when there is one (read, not stat'ed first)
  const pre = dir ? `${dir}/` : '';
  let makefile = `${pre}Kbuild`;
  let text = reading(makefile);
  if (text === undefined) text = reading((makefile = `${pre}Makefile`));
  if (text === undefined) return undefined;
  const arch = archHint ?? ARCH_OF.exec(`${dir}/`)?.[1];
  const outer = (arch && heads.archVars.get(arch)) || ((name: string): Item[] | undefined => heads.common.get(name));
  const here: Item[] = [{ text: dir || '.', term: TRUE, raw: false, line: 0 }];
  const globals = (name: string): Item[] | undefined => (name === 'obj' || name === 'src' ? here : outer(name));
  const base = arch ? archTerm(arch) : TRUE;
  const ev = new MakeEval(makefile, globals, base, reading).run(text);
  const out: DirEval = { dir, makefile, edges: [], objects: [], read, unknown: ev.unknown };
  if (arch && arch !== ARCH_OF.exec(`${dir}/`)?.[1]) out.arch = arch;
  const lists: [string, boolean][] = [
    ['obj-y', true],
    ['lib-y', true],
    ['obj-m', false],
  ];
  for (const [name, linked] of lists) {
    for (const w of ev.expandList(`$(${name})`, base)) {
      let word = w.word;
      if (word.startsWith('$(obj)/')) word = word.slice(7);
      if (word.endsWith('/')) {
        const sub = joinPath(dir, word.slice(0, -1));
        if (sub !== undefined && sub !== dir) out.edges.push({ dir: sub, term: w.term, linked });
        continue;
      }
      if (!word.endsWith('.o')) continue;
      const baseName = word.slice(0, -2);
      const object = joinPath(dir, word);
      if (object === undefined) continue;
      const module = linked ? 'vmlinux' : object.slice(0, -2);
      const suffixes = linked ? ['-objs', '-y'] : ['-objs', '-y', '-m'];
      const members: Word[] = [];
      for (const s of suffixes) if (ev.has(baseName + s)) members.push(...ev.expandList(`$(${baseName}${s})`, w.term));
      const gate = w.gate;
      if (members.length === 0) {
        out.objects.push(entry({ object, module, modular: !linked, term: w.term, line: w.line }, gate, w.file, makefile));
        continue;
      }
      for (const m of members) {
        if (!m.word.endsWith('.o')) continue;
        const member = joinPath(dir, m.word);
        if (member === undefined) continue;
        out.objects.push(entry({ object: member, module, modular: !linked, term: m.term, line: m.line, composite: object }, gate, m.file, makefile));
      }
    }
  }
  return out;
}

function entry(o: ObjEntry, gate: string | undefined, file: string | undefined, makefile: string): ObjEntry {
  if (gate) o.gate = gate;
  if (file && file !== makefile) o.file = file;
  return o;
}

/** Trees whose top Kbuild lists no directories (before 5.x's move): the top Makefile's core-y and friends. */
function fallbackRoots(evals: Map<string, DirEval>, heads: Heads, input: ModelInput): void {
  const text = input.read('Makefile');
  if (text === undefined) return;
  const ev = new MakeEval('Makefile', (name) => heads.common.get(name)).run(text);
  const root: DirEval = evals.get('') ?? { dir: '', makefile: 'Makefile', edges: [], objects: [], read: ['Makefile'], unknown: [] };
  for (const name of ['core-y', 'drivers-y', 'libs-y', 'init-y', 'net-y', 'virt-y', 'ARCH_CORE', 'ARCH_LIB', 'ARCH_DRIVERS']) {
    for (const w of ev.expandList(`$(${name})`, TRUE)) if (w.word.endsWith('/')) root.edges.push({ dir: w.word.slice(0, -1), term: w.term, linked: true });
  }
  if (!root.read.includes('Makefile')) root.read.push('Makefile');
  evals.set('', root);
  walk(
    evals,
    root.edges.map((e) => e.dir),
    input,
    heads,
  );
}

/** dir + rel, with ./ and ../ taken out; undefined when it leaves the tree. */
export function joinPath(dir: string, rel: string): string | undefined {
  if (!rel.startsWith('/') && !rel.includes('./') && !rel.includes('//') && rel !== '.' && rel !== '..') return dir ? `${dir}/${rel}` : rel;
  const parts = dir ? dir.split('/') : [];
  for (const p of rel.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(p);
  }
  return parts.join('/');
}

const SOURCE_EXTS = ['.c', '.S', '.c_shipped'];

/** The source an object stem is compiled from, if the tree has one (none: it is generated). */
export function sourceOf(stem: string, exists: (p: string) => boolean): string | undefined {
  for (const e of SOURCE_EXTS) if (exists(stem + e)) return stem + e;
  return undefined;
}

// ---- Kconfig's word on conditions ----

/** Whether some config of one architecture builds both: Kconfig's dependencies, defaults and choices followed. */
export function canCoexist(a: Cond, b: Cond, kconfig: Kconfig): boolean {
  let c = feasible(and(a, b), kconfig);
  for (let round = 0; round < 3 && c.length; round++) {
    let next: Cond = NEVER;
    for (const t of c) {
      let x: Cond = [t];
      for (const [s, m] of t.lits) {
        if (m & N) continue;
        x = feasible(and(x, impliedBy(kconfig.symbols.get(s))), kconfig);
        if (x.length === 0) break;
      }
      next = or(next, x);
    }
    c = next.filter((t) => !choiceClash(t, kconfig));
  }
  return c.length > 0;
}

function choiceClash(t: Term, kconfig: Kconfig): boolean {
  const chosen = new Set<number>();
  for (const [s, m] of t.lits) {
    if (m & N) continue;
    const sym = kconfig.symbols.get(s);
    if (!sym?.choices || sym.type === 'tristate') continue;
    for (const c of sym.choices) if (chosen.has(c)) return true;
    for (const c of sym.choices) chosen.add(c);
  }
  return false;
}

// ---- answers ----

export function symbolType(model: BuildModel, sym: string): SymbolType | undefined {
  return model.kconfig.symbols.get(sym)?.type;
}

/** "drivers/gpu/drm/nouveau/nouveau (CONFIG_DRM_NOUVEAU, tristate)", "built in only (CONFIG_NVMEM, bool)". */
export function placementLabel(model: BuildModel, list: readonly Placement[]): string {
  const mods = list.filter((p) => p.modular);
  const gateOf = (p: Placement): string => (p.gate ? `CONFIG_${p.gate}, ${symbolType(model, p.gate) ?? 'undefined'}` : condText(p.cond));
  if (mods.length) {
    const names = [...new Map(mods.map((p) => [p.module, p])).values()];
    return names.map((p) => `${p.module} (${gateOf(p)})`).join(', ');
  }
  const p = list[0];
  if (!p) return 'not built by any Makefile';
  // no obj-$(CONFIG_X) of its own: the symbol of the directory that gates it, if one does
  const sym = p.gate ?? p.cond[0]?.lits.keys().next().value;
  if (sym && list.length === 1 && p.cond.length === 1 && p.cond[0]!.lits.size === 1 && p.cond[0]!.lits.get(sym) === Y) return `built in only (CONFIG_${sym}, ${symbolType(model, sym) ?? 'undefined'})`;
  const when = condText(p.cond);
  return `built in only (${p.gate ? gateOf(p) : when === 'always' ? 'always built' : when})`;
}

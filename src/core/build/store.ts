/**
 * The build model, kept beside the index's cache: one JSON file per tree, written to a temporary file
 * and renamed into place, and used only while every Makefile, Kbuild and Kconfig file it was read
 * from has the size, mtime and inode it had then. A damaged or stale file is rebuilt (and said so).
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_FILE, readMakefile } from './kbuild';
import { type Cond, type Term, type TermData, termData, termFromData } from './cond';
import type { Kconfig, KSymbol, SymbolType } from './kconfig';
import { type BuildModel, buildModel, derive, type DirEval, type ModelInput, type ObjEntry, updateModel } from './model';
import type { Unknown } from './unknown';

const FORMAT = 4;

type FileStat = [path: string, size: number, mtimeMs: number, ino: number];

/**
 * The cache file. Terms are stored once, in `terms`, and named by their place there (a Kconfig symbol's
 * `depends on` is often every object's term in its directory); objects are named relative to their
 * directory when they are in it, and their module is not stored: it follows from the object.
 */
interface Stored {
  format: number;
  root: string;
  files: FileStat[];
  arches: string[];
  kconfigFiles: string[];
  terms: TermData[];
  symbols: [
    name: string,
    type: SymbolType | null,
    archs: string[] | null,
    defs: [string, number][],
    prompt: boolean,
    choices: number[] | null,
    deps: number[],
    defaults: number[],
    selects: number[][],
  ][];
  evals: [
    dir: string,
    makefile: string,
    arch: string | null,
    edges: [dir: string, term: number, linked: boolean][],
    objects: [object: string, file: string | null, modular: boolean, term: number, gate: string | null, line: number, composite: string | null][],
    read: string[],
    unknown: Unknown[],
  ][];
  heads: string[];
  headsUnknown: Unknown[];
  kconfigUnknown: Unknown[];
}

/** A regular file of the tree, not followed through a link. */
function isTreeFile(root: string, path: string): boolean {
  try {
    return lstatSync(join(root, path)).isFile();
  } catch {
    return false;
  }
}

/** Whether the folder is a Kbuild tree at all: a top Kbuild or Makefile, and a top Kconfig. */
export function isKbuildTree(root: string): boolean {
  return isTreeFile(root, 'Kconfig') && (isTreeFile(root, 'Kbuild') || isTreeFile(root, 'Makefile'));
}

export interface OpenBuildOptions {
  cacheDir?: string;
  log?: (msg: string) => void;
  onPhase?: (phase: string, ms: number) => void;
}

/** The tree's build model, from its cache when that is still true; undefined for a folder that is no Kbuild tree. */
export function openBuildModel(root: string, opts: OpenBuildOptions = {}): BuildModel | undefined {
  if (!isKbuildTree(root)) return undefined;
  const file = opts.cacheDir ? join(opts.cacheDir, `build-${createHash('sha256').update(root).digest('hex').slice(0, 16)}.json`) : undefined;
  const t = performance.now();
  if (file) {
    const cached = readStored(file, root, opts.log);
    if (cached) {
      opts.onPhase?.('build model from cache', performance.now() - t);
      return cached;
    }
  }
  const files = new Map<string, FileStat>();
  // stat'ed before it is read: an edit after this is seen by the next run
  const read = (path: string): string | undefined => {
    let st;
    try {
      st = lstatSync(join(root, path));
    } catch {
      return undefined;
    }
    const text = st.isFile() ? readMakefile(root, path) : undefined;
    if (text !== undefined) files.set(path, [path, st.size, st.mtimeMs, st.ino]);
    return text;
  };
  const model = buildModel({ read, exists: (path) => isTreeFile(root, path), arches: archesOf(root) });
  opts.onPhase?.('build model', performance.now() - t);
  if (file) writeStored(file, root, [...files.values()], model, opts.log);
  return model;
}

function archesOf(root: string): string[] {
  try {
    return readdirSync(join(root, 'arch')).sort();
  } catch {
    return []; // a tree without arch/: no architecture heads
  }
}

/**
 * The model as a set of edits leaves it: the Makefiles, Kbuild and Kconfig files in `texts` read
 * from there (undefined: the edit deletes it), the rest from the tree. Only the files edited are
 * read again (see updateModel).
 */
export function modelAfter(model: BuildModel, root: string, texts: ReadonlyMap<string, string | undefined>): BuildModel {
  const changed = [...texts.keys()].filter((p) => BUILD_FILE.test(p));
  if (changed.length === 0) return model;
  const input: ModelInput = {
    read: (path) => (texts.has(path) ? texts.get(path) : readMakefile(root, path)),
    exists: (path) => (texts.has(path) ? texts.get(path) !== undefined : isTreeFile(root, path)),
    arches: model.kconfig.arches.length ? model.kconfig.arches : archesOf(root),
  };
  return updateModel(model, input, changed);
}

function readStored(file: string, root: string, log?: (msg: string) => void): BuildModel | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let s: Stored;
  try {
    s = JSON.parse(text) as Stored;
    if (s.format !== FORMAT || s.root !== root || !Array.isArray(s.files)) {
      log?.(`build model cache ${file} is of another format or tree; rebuilding it`);
      return undefined;
    }
  } catch (e) {
    log?.(`build model cache ${file} is damaged (${(e as Error).message}); rebuilding it`);
    return undefined;
  }
  for (const [path, size, mtimeMs, ino] of s.files) {
    try {
      const st = lstatSync(join(root, path));
      if (st.size !== size || st.mtimeMs !== mtimeMs || st.ino !== ino) return undefined;
    } catch {
      return undefined;
    }
  }
  try {
    return decode(s);
  } catch (e) {
    log?.(`build model cache ${file} is damaged (${(e as Error).message}); rebuilding it`);
    return undefined;
  }
}

function writeStored(file: string, root: string, files: FileStat[], model: BuildModel, log?: (msg: string) => void): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(tmp, JSON.stringify(encode(root, files, model)));
    renameSync(tmp, file);
  } catch (e) {
    log?.(`could not write the build model cache ${file}: ${(e as Error).message}`);
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was left
    }
  }
}

/** Terms by their place in the cache's table: each distinct term written once, and read once into one object. */
class TermTable {
  readonly list: TermData[] = [];
  private readonly places = new Map<string, number>();

  place(t: Term): number {
    const d = termData(t);
    const key = JSON.stringify(d);
    let k = this.places.get(key);
    if (k === undefined) {
      k = this.list.length;
      this.list.push(d);
      this.places.set(key, k);
    }
    return k;
  }

  cond(c: Cond): number[] {
    return c.map((t) => this.place(t));
  }
}

/** A path in `dir` by its name there; any other by its whole path after a slash, which no tree path starts with. */
const inDir = (dir: string, path: string): string => (dir && path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : `/${path}`);
const fromDir = (dir: string, name: string): string => (name.startsWith('/') ? name.slice(1) : `${dir}/${name}`);

function encode(root: string, files: FileStat[], m: BuildModel): Stored {
  const terms = new TermTable();
  return {
    format: FORMAT,
    root,
    files,
    arches: m.kconfig.arches,
    kconfigFiles: m.kconfig.files,
    symbols: [...m.kconfig.symbols.values()].map((s) => [
      s.name,
      s.type ?? null,
      s.archs ? [...s.archs] : null,
      s.defs.slice(0, 4).map((d) => [d.file, d.line]),
      s.prompt,
      s.choices ?? null,
      terms.cond(s.deps),
      terms.cond(s.defaults),
      s.selects.map((c) => terms.cond(c)),
    ]),
    evals: [...m.evals.values()].map((ev) => [
      ev.dir,
      ev.makefile,
      ev.arch ?? null,
      ev.edges.map((e) => [e.dir, terms.place(e.term), e.linked]),
      ev.objects.map((o) => [inDir(ev.dir, o.object), o.file ?? null, o.modular, terms.place(o.term), o.gate ?? null, o.line, o.composite ? inDir(ev.dir, o.composite) : null]),
      ev.read,
      ev.unknown,
    ]),
    terms: terms.list,
    heads: m.heads,
    headsUnknown: m.headsUnknown,
    kconfigUnknown: m.kconfig.unknown,
  };
}

function decode(s: Stored): BuildModel {
  const terms = s.terms.map(termFromData);
  const term = (k: number): Term => {
    const t = terms[k];
    if (!t) throw new Error(`term ${k} is not in the table`);
    return t;
  };
  const cond = (list: number[]): Cond => list.map(term);
  const symbols = new Map<string, KSymbol>();
  for (const [name, type, archs, defs, prompt, choices, deps, defaults, selects] of s.symbols) {
    const sym: KSymbol = { name, defs: defs.map(([file, line]) => ({ file, line })), prompt, deps: cond(deps), defaults: cond(defaults), selects: selects.map(cond) };
    if (type) sym.type = type;
    if (archs) sym.archs = new Set(archs);
    if (choices) sym.choices = choices;
    symbols.set(name, sym);
  }
  const kconfig: Kconfig = { symbols, files: s.kconfigFiles, arches: s.arches, unknown: s.kconfigUnknown };
  const evals = new Map<string, DirEval>();
  for (const [dir, makefile, arch, edges, objects, read, unknown] of s.evals) {
    const ev: DirEval = {
      dir,
      makefile,
      edges: edges.map(([d, t, linked]) => ({ dir: d, term: term(t), linked })),
      objects: objects.map(([name, file, modular, t, gate, line, comp]) => {
        const object = fromDir(dir, name);
        const composite = comp === null ? undefined : fromDir(dir, comp);
        const o: ObjEntry = { object, module: modular ? (composite ?? object).slice(0, -2) : 'vmlinux', modular, term: term(t), line };
        if (file) o.file = file;
        if (gate) o.gate = gate;
        if (composite) o.composite = composite;
        return o;
      }),
      read,
      unknown,
    };
    if (arch) ev.arch = arch;
    evals.set(dir, ev);
  }
  return derive(kconfig, evals, s.heads, s.headsUnknown);
}

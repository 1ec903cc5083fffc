/**
 * The build model, kept beside the index's cache: one JSON file per tree, written to a temporary file
 * and renamed into place, and used only while every Makefile, Kbuild and Kconfig file it was read
 * from has the size, mtime and inode it had then. A damaged or stale file is rebuilt (and said so).
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMakefile } from '../kbuild';
import { type Cond, type TermData, termData, termFromData } from './cond';
import type { Kconfig, KSymbol, SymbolType } from './kconfig';
import { type BuildModel, buildModel, type Placement } from './model';
import type { Unknown } from './unknown';

const FORMAT = 2;

type FileStat = [path: string, size: number, mtimeMs: number, ino: number];

interface Stored {
  format: number;
  root: string;
  files: FileStat[];
  arches: string[];
  makefiles: string[];
  kconfigFiles: string[];
  symbols: [name: string, type: SymbolType | null, archs: string[] | null, defs: [string, number][], prompt: boolean, choices: number[] | null, deps: TermData[], defaults: TermData[], selects: TermData[][]][];
  placements: [stem: string, list: [object: string, module: string, modular: boolean, cond: TermData[], gate: string | null, makefile: string, line: number, composite: string | null][]][];
  dirs: [string, TermData[]][];
  unknown: Unknown[];
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
  let arches: string[] = [];
  try {
    arches = readdirSync(join(root, 'arch')).sort();
  } catch {
    // a tree without arch/: no architecture heads
  }
  const model = buildModel({ read, exists: (path) => isTreeFile(root, path), arches });
  opts.onPhase?.('build model', performance.now() - t);
  if (file) writeStored(file, root, [...files.values()], model, opts.log);
  return model;
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

const cond = (c: Cond): TermData[] => c.map(termData);
const uncond = (d: TermData[]): Cond => d.map(termFromData);

function encode(root: string, files: FileStat[], m: BuildModel): Stored {
  return {
    format: FORMAT,
    root,
    files,
    arches: m.kconfig.arches,
    makefiles: m.makefiles,
    kconfigFiles: m.kconfig.files,
    symbols: [...m.kconfig.symbols.values()].map((s) => [s.name, s.type ?? null, s.archs ? [...s.archs] : null, s.defs.slice(0, 4).map((d) => [d.file, d.line]), s.prompt, s.choices ?? null, cond(s.deps), cond(s.defaults), s.selects.map(cond)]),
    placements: [...m.placements].map(([stem, list]) => [stem, list.map((p) => [p.object, p.module, p.modular, cond(p.cond), p.gate ?? null, p.makefile, p.line, p.composite ?? null])]),
    dirs: [...m.dirs].map(([d, c]) => [d, cond(c)]),
    unknown: m.unknown,
  };
}

function decode(s: Stored): BuildModel {
  const symbols = new Map<string, KSymbol>();
  for (const [name, type, archs, defs, prompt, choices, deps, defaults, selects] of s.symbols) {
    const sym: KSymbol = { name, defs: defs.map(([file, line]) => ({ file, line })), prompt, deps: uncond(deps), defaults: uncond(defaults), selects: selects.map(uncond) };
    if (type) sym.type = type;
    if (archs) sym.archs = new Set(archs);
    if (choices) sym.choices = choices;
    symbols.set(name, sym);
  }
  const kconfig: Kconfig = { symbols, files: s.kconfigFiles, arches: s.arches, unknown: [] };
  const placements = new Map<string, Placement[]>();
  for (const [stem, list] of s.placements) {
    placements.set(
      stem,
      list.map(([object, module, modular, c, gate, makefile, line, composite]) => {
        const p: Placement = { object, module, modular, cond: uncond(c), makefile, line };
        if (gate) p.gate = gate;
        if (composite) p.composite = composite;
        return p;
      }),
    );
  }
  return { placements, kconfig, makefiles: s.makefiles, dirs: new Map(s.dirs.map(([d, c]) => [d, uncond(c)])), unknown: s.unknown, includedBy: new Map() };
}

/**
 * Placements, derived from the walk's evaluated Makefiles when first asked, a directory at a time: a
 * question about one file derives only its directory's, and a whole-tree check derives them all.
 * Each object is placed under its directory's conditions (built at all, linked into vmlinux) and its
 * Makefile line's term, checked against Kconfig.
 */
import { and, ANY, type Cond, N, or, type Term, Y } from './cond';
import type { Kconfig, KSymbol } from './kconfig';
import type { Unknown } from './unknown';

export interface Placement {
  /** the object file, tree-relative (drivers/gpu/drm/nouveau/nouveau_svm.o) */
  object: string;
  /** modpost's module name, or vmlinux */
  module: string;
  /** linked into a .ko (module is its name) rather than vmlinux */
  modular: boolean;
  /** when it is built so, checked against Kconfig */
  cond: Cond;
  /** the config symbol of the Makefile line that lists it (obj-$(CONFIG_FOO)) */
  gate?: string;
  /** the Makefile line that lists the object (or the composite's member); a file it includes, if there */
  makefile: string;
  line: number;
  /** the composite object it is linked into (nouveau.o), when it is a member of one */
  composite?: string;
}

export interface ObjEntry {
  object: string;
  /** the file that lists it, when it is not the directory's Makefile (a file that Makefile includes) */
  file?: string;
  module: string;
  modular: boolean;
  term: Term;
  gate?: string;
  line: number;
  composite?: string;
}

/** One directory's Makefile, evaluated for every config: what the walk keeps, and placements are made from. */
export interface DirEval {
  dir: string;
  makefile: string;
  /** the architecture it is built for, when its path does not say (arch/x86/um for ARCH=um) */
  arch?: string;
  /** subdirectories from obj-y and lib-y (linked into vmlinux), and from obj-m (modules only) */
  edges: { dir: string; term: Term; linked: boolean }[];
  objects: ObjEntry[];
  /** the files it read: the Makefile and the files it includes */
  read: string[];
  unknown: Unknown[];
}

/** When a directory is built at all (its obj-m objects), and when it is linked into vmlinux (its obj-y ones). */
export interface DirConds {
  built: Cond;
  linked: Cond;
}

/** What placing needs: which evaluated Makefiles list objects in a directory, and each one's conditions. */
export interface PlaceSource {
  /** directories with objects, in the walk's order of their first Makefile */
  objectDirs(): string[];
  /** the evaluated Makefiles that list objects in the directory, in the walk's order */
  evalsFor(objectDir: string): readonly DirEval[];
  /** undefined for a directory no edge reaches any more (an edit took its line out): it places nothing */
  condsOf(ev: DirEval): DirConds | undefined;
}

/** The directory part of a tree path ('' at the top); the same as kbuild's treeDir, without path.dirname. */
export function dirPart(path: string): string {
  const k = path.lastIndexOf('/');
  return k < 0 ? '' : path.slice(0, k);
}

/** A stem's placements as bulk answers ask about them: its modules (modulesOf()), and whether one is a .ko. */
export interface Linked {
  readonly modules: readonly string[];
  readonly modular: boolean;
}

/** What no Makefile builds. */
export const NOT_LINKED: Linked = { modules: [], modular: false };

/** Module names a file is linked into: its .ko names, sorted, then vmlinux when it can be built in. */
export function modulesOf(list: readonly Pick<Placement, 'module' | 'modular'>[]): string[] {
  const kos = [...new Set(list.filter((p) => p.modular).map((p) => p.module))].sort();
  if (list.some((p) => !p.modular)) kos.push('vmlinux');
  return kos;
}

export function isModular(list: readonly Placement[]): boolean {
  return list.some((p) => p.modular);
}

export class Placements {
  private readonly byDir = new Map<string, Map<string, Placement[]>>();
  /**
   * Each directory's stems reduced to Linked, one object per distinct answer. A bulk answer asks only
   * this, of every directory: the placements themselves, with their conditions, were 28 MB of a
   * `consumers --format json` of every export of linux-6.1, kept to the end.
   */
  private readonly linkedByDir = new Map<string, Map<string, Linked>>();
  private readonly distinct = new Map<string, Linked>();

  constructor(
    readonly source: PlaceSource,
    private readonly kconfig: Kconfig,
  ) {}

  /** Where the object of a stem (drivers/gpu/drm/nouveau/nouveau_svm) is linked. */
  get(stem: string): Placement[] | undefined {
    return this.dir(dirPart(stem)).get(stem);
  }

  /** The object stems placed in a directory. */
  stemsIn(dir: string): string[] {
    return [...this.dir(dir).keys()];
  }

  /** Every stem with its placements, all derived. */
  *[Symbol.iterator](): IterableIterator<[string, Placement[]]> {
    for (const dir of this.source.objectDirs()) yield* this.dir(dir);
  }

  /** How many object stems are placed (all derived to count them). */
  count(): number {
    let n = 0;
    for (const dir of this.source.objectDirs()) n += this.dir(dir).size;
    return n;
  }

  /** A directory's stems as Linked; its placements are derived for this, and kept only if they were before. */
  linkedIn(dir: string): ReadonlyMap<string, Linked> {
    let out = this.linkedByDir.get(dir);
    if (out) return out;
    out = new Map();
    for (const [stem, list] of this.byDir.get(dir) ?? this.derive(dir)) {
      const modules = modulesOf(list);
      const modular = isModular(list);
      const key = `${modular}\n${modules.join('\n')}`;
      let linked = this.distinct.get(key);
      if (!linked) this.distinct.set(key, (linked = { modules, modular }));
      out.set(stem, linked);
    }
    this.linkedByDir.set(dir, out);
    return out;
  }

  private dir(dir: string): Map<string, Placement[]> {
    let out = this.byDir.get(dir);
    if (!out) this.byDir.set(dir, (out = this.derive(dir)));
    return out;
  }

  private derive(dir: string): Map<string, Placement[]> {
    const out = new Map<string, Placement[]>();
    for (const ev of this.source.evalsFor(dir)) {
      const conds = this.source.condsOf(ev);
      if (!conds) continue;
      // objects of a Makefile often hold under one term
      const memo = new Map<Term, [Cond | undefined, Cond | undefined]>();
      for (const o of ev.objects) {
        if (dirPart(o.object) !== dir) continue;
        let pair = memo.get(o.term);
        if (!pair) memo.set(o.term, (pair = [undefined, undefined]));
        const k = o.modular ? 1 : 0;
        const cond = (pair[k] ??= feasible(and(o.modular ? conds.built : conds.linked, [o.term]), this.kconfig));
        if (cond.length === 0) continue;
        const p: Placement = { object: o.object, module: o.module, modular: o.modular, cond, makefile: o.file ?? ev.makefile, line: o.line };
        if (o.gate) p.gate = o.gate;
        if (o.composite) p.composite = o.composite;
        // keyed by the object's stem: which source builds it (.c, .S, .c_shipped, or none: generated) is
        // asked when answering, so the model depends on the Makefiles and Kconfig files alone
        const stem = o.object.slice(0, -2);
        let list = out.get(stem);
        if (!list) out.set(stem, (list = []));
        const same = list.find((q) => q.module === p.module && q.object === p.object);
        if (same) same.cond = or(same.cond, p.cond);
        else list.push(p);
      }
    }
    return out;
  }
}

/** The values a symbol can take in a build of `arch` (undefined: any architecture). */
function allowed(sym: KSymbol | undefined, arch: string | undefined): number {
  if (!sym || sym.defs.length === 0) return N;
  if (arch && sym.archs && !sym.archs.has(arch)) return N;
  return sym.type === 'tristate' ? ANY : N | Y;
}

/**
 * The terms Kconfig allows: a bool is never m, a symbol no Kconfig defines (or none of the
 * architecture's) is never set. A term that needs a symbol only one architecture defines is limited
 * to that architecture.
 */
export function feasible(c: Cond, kconfig: Kconfig): Cond {
  const out: Term[] = [];
  let changed = false;
  next: for (const t of c) {
    let arch = t.arch;
    let lits: Map<string, number> | undefined;
    for (const [s, m] of t.lits) {
      const sym = kconfig.symbols.get(s);
      const v = m & allowed(sym, arch);
      if (v === 0) {
        changed = true;
        continue next;
      }
      if ((v & N) === 0 && !arch && sym?.archs?.size === 1) arch = sym.archs.values().next().value;
      if (arch && sym?.archs && !sym.archs.has(arch) && (v & N) === 0) {
        changed = true;
        continue next;
      }
      if (v !== m) (lits ??= new Map(t.lits)).set(s, v);
    }
    if (lits || arch !== t.arch) {
      changed = true;
      out.push({ lits: lits ?? t.lits, arch });
    } else out.push(t);
  }
  return changed ? out : c;
}

/**
 * The build model's answers for the rest of the engine: where a file is built, under which modules,
 * and whether two exports can be linked into one build. Files are looked up in the index.
 */
import type { KernelIndex } from '../index/index';
import { readRegularFile } from '../util/regularFile';
import { DEFAULT_MAX_FILE_BYTES } from '../scan/scanFile';
import { join } from 'node:path';
import { type BuildModel, canCoexist, type Includes, isModular, linkedOf, modulesOf, type Placement, placementsOf, placementLabel, quotedIncludes, sourceOf } from './model';
import type { Linked } from './derive';

export class BuildAnswers {
  private readonly memo = new Map<string, Placement[]>();

  private byModule?: Map<string, string[]>;

  /** `texts`: files whose text is not the disk's (a series under review changes them). */
  constructor(
    readonly model: BuildModel,
    private readonly index: KernelIndex,
    private readonly texts?: ReadonlyMap<string, string | undefined>,
  ) {}

  private readonly exists = (path: string): boolean => this.index.byPath.has(path) && this.index.files[this.index.byPath.get(path)!]!.alive;

  private readonly read = (path: string): string | undefined => {
    if (this.texts?.has(path)) return this.texts.get(path);
    try {
      return readRegularFile(join(this.index.root, path), { maxBytes: DEFAULT_MAX_FILE_BYTES }).toString('latin1');
    } catch {
      return undefined;
    }
  };

  /**
   * Whether a source #includes `name` in quotes: a file that no Makefile names is placed by the
   * siblings that include it. The index keeps each file's #includes of .c files, as the scanner
   * reads them (not in comments); another name (.S, .c_shipped), or a source a series under review
   * changes, has the source read, once (reading them all was 0.7 s of every export's consumers as JSON).
   */
  private readonly quoted = new Map<string, ReadonlySet<string> | undefined>();
  private readonly includes: Includes = (src, name) => {
    const fileIdx = name.endsWith('.c') && !this.texts?.has(src) ? this.index.byPath.get(src) : undefined;
    if (fileIdx !== undefined) return this.index.files[fileIdx]!.includes?.some((inc) => !inc.system && inc.target === name) ?? false;
    if (!this.quoted.has(src)) {
      const text = this.read(src);
      this.quoted.set(src, text === undefined ? undefined : quotedIncludes(text));
    }
    return this.quoted.get(src)?.has(name) ?? false;
  };

  /**
   * Where the file is built ([] when no Makefile builds it: a header, userspace, a file of no config).
   * Kept here, not in the model: a file #included by another is placed by the texts this reads, which
   * a series under review changes.
   */
  of(path: string, generated = false): Placement[] {
    const key = generated ? `\0${path}` : path;
    let list = this.memo.get(key);
    if (!list) this.memo.set(key, (list = placementsOf(this.model, path, this.includes, this.exists, generated)));
    return list;
  }

  /** A file's modules and whether one is a .ko, without its placements kept: a bulk answer asks this of 56,000 files. */
  private linkedOf(path: string): Linked {
    return linkedOf(this.model, path, this.includes, this.exists);
  }

  /** The modules the file is linked into (vmlinux for built-in code), sorted; [] when no Makefile builds it. */
  modules(path: string, generated = false): readonly string[] {
    return generated ? modulesOf(this.of(path, true)) : this.linkedOf(path).modules;
  }

  modular(path: string, generated = false): boolean {
    return generated ? isModular(this.of(path, true)) : this.linkedOf(path).modular;
  }

  /** Whether some Makefile builds the file: of(path).length > 0, without keeping its placements. */
  built(path: string): boolean {
    return this.linkedOf(path).modules.length > 0;
  }

  /** "drivers/gpu/drm/nouveau/nouveau (CONFIG_DRM_NOUVEAU, tristate)", or "built in only (CONFIG_NVMEM, bool)". */
  label(path: string, generated = false): string {
    return placementLabel(this.model, this.of(path, generated));
  }

  /** The sources of the tree linked into a module (vmlinux: every built-in object), as its Makefiles place them. */
  sourcesOf(module: string): string[] {
    if (!this.byModule) {
      this.byModule = new Map();
      for (const [stem, list] of this.model.placements) {
        const src = sourceOf(stem, this.exists);
        if (!src) continue;
        for (const m of new Set(list.map((p) => p.module))) {
          const files = this.byModule.get(m);
          if (files) files.push(src);
          else this.byModule.set(m, [src]);
        }
      }
    }
    return this.byModule.get(module) ?? [];
  }

  /** Whether some config of one architecture builds both files' objects. */
  coexist(a: readonly Placement[], b: readonly Placement[]): boolean {
    for (const p of a) for (const q of b) if (canCoexist(p.cond, q.cond, this.model.kconfig)) return true;
    return false;
  }

  typeOf(sym: string): string {
    return this.model.kconfig.symbols.get(sym)?.type ?? 'undefined';
  }
}

/** Consumers by the modules they are linked into, modules first, then built-in code, then the rest. */
export function groupByModule<C extends { file: string }>(list: readonly C[], build: BuildAnswers): [string, C[]][] {
  const groups = new Map<string, { rank: number; list: C[] }>();
  for (const c of list) {
    const headers = c.file.endsWith('.h');
    const [rank, label] = build.of(c.file).length
      ? [build.modular(c.file) ? 0 : 1, build.label(c.file)]
      : headers
        ? [2, 'headers (built with each file that includes them)']
        : [3, 'not built by any Makefile'];
    let g = groups.get(label);
    if (!g) groups.set(label, (g = { rank, list: [] }));
    g.list.push(c);
  }
  return [...groups].sort(([a, ga], [b, gb]) => ga.rank - gb.rank || (a < b ? -1 : a > b ? 1 : 0)).map(([label, g]) => [label, g.list]);
}

/**
 * The build model's answers for the rest of the engine: where a file is built, under which modules,
 * and whether two exports can be linked into one build. Files are looked up in the index.
 */
import type { KernelIndex } from '../index/index';
import { readRegularFile } from '../util/regularFile';
import { DEFAULT_MAX_FILE_BYTES } from '../scan/scanFile';
import { join } from 'node:path';
import { type BuildModel, canCoexist, isModular, linkedOf, modulesOf, type Placement, placementsOf, placementLabel, quotedIncludes, sourceOf } from './model';
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
   * Each source's quoted #includes, read once: a file that no Makefile names is placed by the
   * siblings that include it, and each such file read its directory's sources again (a summary of
   * every export of linux-6.1 opened 14,500 files for this; 3,000 now).
   */
  private readonly includes = new Map<string, ReadonlySet<string> | undefined>();
  private readonly includesOf = (path: string): ReadonlySet<string> | undefined => {
    if (this.includes.has(path)) return this.includes.get(path);
    const text = this.read(path);
    const names = text === undefined ? undefined : quotedIncludes(text);
    this.includes.set(path, names);
    return names;
  };

  /**
   * Where the file is built ([] when no Makefile builds it: a header, userspace, a file of no config).
   * Kept here, not in the model: a file #included by another is placed by the texts this reads, which
   * a series under review changes.
   */
  of(path: string, generated = false): Placement[] {
    const key = generated ? `\0${path}` : path;
    let list = this.memo.get(key);
    if (!list) this.memo.set(key, (list = placementsOf(this.model, path, this.includesOf, this.exists, generated)));
    return list;
  }

  /** A file's modules and whether one is a .ko, without its placements kept: a bulk answer asks this of 56,000 files. */
  private linkedOf(path: string): Linked {
    return linkedOf(this.model, path, this.includesOf, this.exists);
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

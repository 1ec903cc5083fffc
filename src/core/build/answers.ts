/**
 * The build model's answers for the rest of the engine: where a file is built, under which modules,
 * and whether two exports can be linked into one build. Files are looked up in the index.
 */
import type { KernelIndex } from '../index';
import { readRegularFile } from '../regularFile';
import { join } from 'node:path';
import { type BuildModel, canCoexist, isModular, modulesOf, type Placement, placementsOf, placementLabel } from './model';

export class BuildAnswers {
  private readonly memo = new Map<string, Placement[]>();

  constructor(
    readonly model: BuildModel,
    private readonly index: KernelIndex,
  ) {}

  private readonly exists = (path: string): boolean => this.index.byPath.has(path) && this.index.files[this.index.byPath.get(path)!]!.alive;

  private readonly read = (path: string): string | undefined => {
    try {
      return readRegularFile(join(this.index.root, path), { maxBytes: 64 << 20 }).toString('latin1');
    } catch {
      return undefined;
    }
  };

  /** Where the file is built ([] when no Makefile builds it: a header, userspace, a file of no config). */
  of(path: string, generated = false): Placement[] {
    const key = generated ? `\0${path}` : path;
    let list = this.memo.get(key);
    if (!list) this.memo.set(key, (list = placementsOf(this.model, path, this.read, this.exists, generated)));
    return list;
  }

  modules(path: string, generated = false): string[] {
    return modulesOf(this.of(path, generated));
  }

  modular(path: string, generated = false): boolean {
    return isModular(this.of(path, generated));
  }

  /** "drivers/gpu/drm/nouveau/nouveau (CONFIG_DRM_NOUVEAU, tristate)", or "built in only (CONFIG_NVMEM, bool)". */
  label(path: string, generated = false): string {
    return placementLabel(this.model, this.of(path, generated));
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

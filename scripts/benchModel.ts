/**
 * The build model's timings in one process, one JSON line per measurement.
 *   benchModel TREE CACHE     (CACHE: an empty folder)
 * Each figure is taken three times in the same process, after one untimed run: what a long-lived
 * language server sees. The CLI's figures (a new process, JIT and all) are bench.mjs's own rows.
 *   fresh      every Makefile, Kbuild and Kconfig file read and evaluated (placements are derived when asked)
 *   freshAll   the same, its cache file's bytes made, and every placement derived (a whole-tree check)
 *   cached     the same model from its cache file (each file read checked by size, mtime and inode),
 *              and one directory's placements (what `kexports module FILE` asks)
 *   cachedAll  the same, every placement derived
 *   makefile   one Makefile edited in memory: that directory evaluated again, placements derived
 *   kconfig    one Kconfig file and one Makefile edited: Kconfig read again as well
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFresh, modelAfter, openBuildModel } from '../src/core/build/store';

const [tree, cacheDir] = process.argv.slice(2) as [string, string];

function time(what: string, fn: () => unknown): void {
  const runs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    fn();
    runs.push(Math.round(performance.now() - t));
  }
  console.log(JSON.stringify({ what, runs, rssMB: Math.round(process.memoryUsage().rss / 2 ** 20) }));
}

let model = openBuildModel(tree, {});
if (!model) throw new Error(`${tree}: no Kconfig and top Kbuild: no build model`);
time('fresh', () => (model = openBuildModel(tree, {})));
time('freshAll', () => buildFresh(tree, undefined).model.placements.count());
openBuildModel(tree, { cacheDir });
time('cached', () => openBuildModel(tree, { cacheDir })!.placements.get('mm/hmm'));
time('cachedAll', () => openBuildModel(tree, { cacheDir })!.placements.count());
const base = model!;
const makefile = 'drivers/nvmem/Makefile';
const kconfig = 'drivers/nvmem/Kconfig';
const mk = readFileSync(join(tree, makefile), 'latin1');
const kc = readFileSync(join(tree, kconfig), 'latin1');
time('makefile', () => modelAfter(base, tree, new Map([[makefile, `${mk}\nobj-$(CONFIG_NVMEM_BENCH) += bench.o\n`]])).placements.count());
time('kconfig', () =>
  modelAfter(
    base,
    tree,
    new Map([
      [makefile, `${mk}\nobj-$(CONFIG_NVMEM_BENCH) += bench.o\n`],
      [kconfig, `${kc}\nconfig NVMEM_BENCH\n\ttristate "bench"\n`],
    ]),
  ).placements.count(),
);
console.log(
  JSON.stringify({
    what: 'size',
    placements: base.placements.count(),
    directories: base.evals.size,
    makefiles: base.makefiles.length,
    kconfigFiles: base.kconfig.files.length,
    symbols: base.kconfig.symbols.size,
    unknown: base.unknown.length,
  }),
);

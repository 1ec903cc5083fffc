/** The build model's cache file: what it gives back equals the model read afresh, decoded only as far as asked. */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { condText } from '../../src/core/build/cond';
import type { BuildModel } from '../../src/core/build/model';
import { modelAfter, openBuildModel, startBuildModel } from '../../src/core/build/store';
import { repoRoot, tempDir } from '../helpers';

const fixture = join(repoRoot, 'test/fixtures/kbuild-tree');

/** Every placement, symbol and evaluated Makefile, as text: two models are the same when these are. */
function shown(m: BuildModel): string[] {
  const out: string[] = [];
  for (const [stem, list] of m.placements) for (const p of list) out.push(`${stem}: ${p.object} ${p.module} ${p.modular} [${condText(p.cond)}] ${p.gate} ${p.makefile}:${p.line} ${p.composite}`);
  for (const s of m.kconfig.symbols.values())
    out.push(
      `${s.name} ${s.type} ${[...(s.archs ?? [])].join()} ${s.defs.length} ${s.prompt} ${s.choices?.join()} [${condText(s.deps)}] [${condText(s.defaults)}] ${s.selects.map(condText).join(';')}`,
    );
  for (const ev of m.evals.values())
    out.push(
      `${ev.dir} ${ev.makefile} ${ev.arch} ${ev.edges.map((e) => `${e.dir}/${condText([e.term])}/${e.linked}`).join()} ${ev.objects.map((o) => `${o.object}/${o.module}/${condText([o.term])}/${o.line}/${o.gate}/${o.composite}/${o.file}`).join()}`,
    );
  out.push(JSON.stringify([m.heads, m.makefiles, m.unknown, m.kconfig.files, m.kconfig.arches]));
  return out.sort();
}

describe('the build model cache', () => {
  it('gives back the model read afresh, and the same model after an edit', () => {
    const cacheDir = tempDir('kexports-model-cache-');
    const fresh = openBuildModel(fixture, { cacheDir })!;
    assert.ok(
      readdirSync(cacheDir).some((f) => /^build-[0-9a-f]{16}\.model$/.test(f)),
      'written',
    );
    const cached = openBuildModel(fixture, { cacheDir })!;
    assert.deepEqual(
      cached.placements.get('drivers/gpu/nouveau/nouveau_svm')?.map((p) => p.module),
      fresh.placements.get('drivers/gpu/nouveau/nouveau_svm')?.map((p) => p.module),
    );
    assert.ok(cached.placements.get('drivers/gpu/nouveau/nouveau_svm')?.some((p) => p.module === 'drivers/gpu/nouveau/nouveau'));
    assert.deepEqual(shown(cached), shown(fresh));
    const edit = new Map([['drivers/nvmem/Makefile', 'obj-$(CONFIG_NVMEM) += nvmem_core.o\nnvmem_core-y := core.o\n']]);
    assert.deepEqual(shown(modelAfter(cached, fixture, edit)), shown(modelAfter(fresh, fixture, edit)));
    assert.equal(modelAfter(cached, fixture, edit).placements.get('drivers/nvmem/core')?.[0]?.module, 'vmlinux');
  });

  it('decodes a directory when it is asked for, not before', () => {
    const cacheDir = tempDir('kexports-model-cache-');
    openBuildModel(fixture, { cacheDir });
    const cached = openBuildModel(fixture, { cacheDir })!;
    const source = cached.placements.source;
    let asked = 0;
    const evalsFor = source.evalsFor.bind(source);
    source.evalsFor = (dir) => (asked++, evalsFor(dir));
    assert.deepEqual(cached.placements.stemsIn('drivers/nvmem').sort(), ['drivers/nvmem/core', 'drivers/nvmem/layouts']);
    cached.placements.get('drivers/nvmem/core');
    assert.equal(asked, 1, 'one directory, decoded once');
    assert.equal(cached.kconfig.symbols.get('NVMEM')?.type, 'bool');
    assert.equal(cached.kconfig.symbols.get('NO_SUCH_SYMBOL'), undefined);
  });

  it('is read in a worker thread when not cached, and the same', async () => {
    const root = tempDir('kexports-model-worker-');
    cpSync(fixture, root, { recursive: true });
    const cacheDir = tempDir('kexports-model-cache-');
    const logs: string[] = [];
    const fromWorker = await startBuildModel(root, { cacheDir, log: (m) => logs.push(m), workerScript: join(repoRoot, 'dist/modelWorker.js') });
    assert.equal(logs.join('\n'), '', 'nothing to say');
    assert.deepEqual(shown(fromWorker!), shown(openBuildModel(root)!));
    const file = readdirSync(cacheDir).find((f) => f.endsWith('.model'))!;
    assert.ok(readFileSync(join(cacheDir, file)).toString('latin1').startsWith('KEXPORTS-MODEL '), 'the worker wrote the cache');
    // a worker script that is no worker: said, and the model read on this thread
    const broken = join(root, 'not-a-worker.js');
    cpSync(join(root, 'Kconfig'), broken);
    const again = await startBuildModel(root, { log: (m) => logs.push(m), workerScript: broken });
    assert.deepEqual(shown(again!), shown(fromWorker!));
    assert.match(logs.join('\n'), /the build model's worker thread failed: .*; reading the model on the main thread/);
  });
});

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { crc32, crc32Portable } from '../../src/core/cache/crc32';
import { openIndex } from '../../src/core/engine';
import { checkExports, defaultGplOnlyPaths } from '../../src/core/findings/findings';
import { buildIndex, type IndexedFile, type KernelIndex } from '../../src/core/index/index';
import { nativeAddon } from '../../src/core/scan/nativeScanner';
import { copySampleTree, sampleTree, tempDir, workerPath, writeTree } from '../helpers';

const opts = { gplOnlyPaths: defaultGplOnlyPaths, severity: {}, testsCountAsConsumers: true };

/**
 * The three ways a warm start compares the cache with the disk and reads the large arrays: on the main
 * thread (a small cache), in a worker thread (without the addon), on the addon's threads.
 */
const allStatWays = [
  ['on the main thread', {}],
  // Two files per claim: the worker and the main thread both stat some of the sample tree's.
  ['in a worker thread', { workerScript: workerPath, statWorkerMinBytes: 0, statChunk: 2, native: false }],
  ["on the addon's threads", { statWorkerMinBytes: 0 }],
  // Where the runtime takes no mapped memory (Electron).
  ["on the addon's threads, the large arrays read", { statWorkerMinBytes: 0, mapCache: false }],
] as const satisfies readonly (readonly [string, object])[];
// KEXPORTS_SCANNER=wasm loads no addon: its ways would be the main thread's again.
const statWays = allStatWays.filter(([how]) => process.env.KEXPORTS_SCANNER !== 'wasm' || !how.includes('addon'));

const warmPhases: Record<(typeof allStatWays)[number][0], string[]> = {
  'on the main thread': ['files and exports', 'read large arrays', 'check postings and names', 'stat tree', 'refresh'],
  'in a worker thread': ['files and exports', 'stat files (with the worker)', 'large arrays, stat files (worker, waited)', 'names', 'refresh'],
  "on the addon's threads": ['files and exports', 'stat files, map large arrays (addon threads, waited)', 'check postings and names', 'refresh'],
  "on the addon's threads, the large arrays read": ['files and exports', 'stat files, read large arrays (addon threads, waited)', 'check postings and names', 'refresh'],
};

function findings(index: KernelIndex, path: string): string[] {
  return checkExports(index, [path], opts).map((f) => `${f.code} ${f.symbol}:${f.line}`);
}

describe('incremental updates', () => {
  it("replaces one file's exports and uses without a rebuild", async () => {
    const index = await buildIndex(sampleTree);
    assert.deepEqual(findings(index, 'mm/hmm.c'), [
      'NOT_GPL_ONLY hmm_range_fault:39',
      'TEST_ONLY_CONSUMERS hmm_dma_test_helper:45',
      'NO_CONSUMER hmm_range_snapshot_unused:51',
      'TEST_ONLY_CONSUMERS hmm_pfn_order_check:57',
    ]);
    const hmm = readFileSync(join(sampleTree, 'mm/hmm.c'), 'latin1').replace('EXPORT_SYMBOL(hmm_range_fault);', 'EXPORT_SYMBOL_GPL(hmm_range_fault);');
    index.updateFile('mm/hmm.c', Buffer.from(hmm, 'latin1'));
    index.updateFile('drivers/gpu/drm/vgpu/vgpu_snapshot.c', Buffer.from('int vgpu_snap(struct hmm_range *r)\n{\n\treturn hmm_range_snapshot_unused(r);\n}\n'));
    assert.deepEqual(findings(index, 'mm/hmm.c'), ['TEST_ONLY_CONSUMERS hmm_dma_test_helper:45', 'TEST_ONLY_CONSUMERS hmm_pfn_order_check:57']);
    assert.equal(index.exportsNamed('hmm_range_fault')[0]!.type, 'EXPORT_SYMBOL_GPL');

    index.deleteFile('drivers/gpu/drm/vgpu/vgpu_svm.c');
    assert.deepEqual(findings(index, 'mm/memremap.c'), [
      'NOT_GPL_ONLY devmap_managed_key:8',
      'NO_CONSUMER devmap_managed_key:8',
      'NO_CONSUMER memremap_pages:15',
      'NO_CONSUMER memunmap_pages:21',
      'NOT_GPL_ONLY put_devmap_managed_page:27',
      'NO_CONSUMER put_devmap_managed_page:27',
    ]);
  });

  it('keeps header proxies current when a header changes', async () => {
    const index = await buildIndex(sampleTree);
    const mm = readFileSync(join(sampleTree, 'include/linux/mm.h'), 'latin1').replace('if (page_is_devmap_managed(page)) {', 'if (0) {');
    index.updateFile('include/linux/mm.h', Buffer.from(mm, 'latin1'));
    const [key] = index.exportsNamed('devmap_managed_key');
    assert.deepEqual(index.consumers(key!), []);
  });
});

describe('the cache', () => {
  it('computes the same CRC-32 in the addon (carry-less multiplies), in zlib.crc32 and in the table loop, across any split and any alignment of the bytes', () => {
    const addon = nativeAddon();
    const zlibCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
    assert.equal(crc32Portable(Buffer.from('123456789')), 0xcbf43926);
    if (addon) assert.equal(addon.crc32(Buffer.from('123456789')), 0xcbf43926);
    fc.assert(
      // Past 64 bytes the addon folds 16 bytes at a time and ends with the table: lengths around both.
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(3000), fc.nat(15), (all, cut, skip) => {
        const bytes = all.subarray(Math.min(skip, all.length));
        const at = Math.min(cut, bytes.length);
        const whole = crc32Portable(bytes);
        if (zlibCrc) assert.equal(zlibCrc(bytes) >>> 0, whole);
        if (addon) {
          assert.equal(addon.crc32(bytes), whole);
          assert.equal(addon.crc32(bytes.subarray(at), addon.crc32(bytes.subarray(0, at))), whole);
        }
        assert.equal(crc32(bytes), whole);
        assert.equal(crc32Portable(bytes.subarray(at), crc32(bytes.subarray(0, at))), whole);
      }),
      { numRuns: 500 },
    );
    if (addon) {
      const big = new Uint8Array(1 << 20).map((_, k) => (k * 2654435761) >>> 24);
      assert.equal(addon.crc32(big), crc32Portable(big), 'a megabyte');
      assert.throws(() => addon.crc32(new Uint16Array(4) as unknown as Uint8Array), /crc32\(Uint8Array, value\?\)/);
    }
  });

  for (const [how, statOpts] of statWays) {
    it(`serves a warm start without scanning, and notices changed, added and deleted files (stat ${how})`, async () => {
      const root = copySampleTree();
      const cacheDir = tempDir();
      const phases: string[] = [];
      const first = await openIndex(root, { cacheDir, workers: 0, onPhase: (p) => phases.push(p) });
      assert.ok(phases.includes('scan') && phases.includes('save cache'));
      const before = findings(first, 'mm');

      phases.length = 0;
      const warm = await openIndex(root, { cacheDir, ...statOpts, onPhase: (p) => phases.push(p) });
      assert.ok(!phases.includes('scan'), `no scan on a warm start: ${phases.join(', ')}`);
      assert.deepEqual(phases, warmPhases[how]);
      assert.deepEqual(findings(warm, 'mm'), before);
      assert.deepEqual(warm.exports, first.exports, 'the exports come back from the cache as the build resolved them');
      assert.deepEqual(warm.unresolved, first.unresolved);
      assert.ok(
        ['definition', 'namespace', 'wrapper'].every((k) => first.exports.some((e) => k in e)),
        'the sample has exports with each optional field',
      );

      // changed: the export becomes GPL-only; added: a user of memunmap_pages; deleted: the test user
      const hmmPath = join(root, 'mm/hmm.c');
      writeFileSync(hmmPath, readFileSync(hmmPath, 'latin1').replace('EXPORT_SYMBOL(hmm_range_fault);', 'EXPORT_SYMBOL_GPL(hmm_range_fault);'), 'latin1');
      const later = new Date(statSync(hmmPath).mtimeMs + 5000);
      utimesSync(hmmPath, later, later);
      writeFileSync(join(root, 'mm/unmap_user.c'), 'void f(struct dev_pagemap *p)\n{\n\tmemunmap_pages(p);\n}\n');
      rmSync(join(root, 'lib/test_hmm.c'));
      const logs: string[] = [];
      const refreshed = await openIndex(root, { cacheDir, ...statOpts, log: (m) => logs.push(m) });
      assert.deepEqual(logs, ['cache refreshed: 2 changed or added, 1 deleted']);
      assert.deepEqual(findings(refreshed, 'mm/hmm.c'), ['NO_CONSUMER hmm_dma_test_helper:45', 'NO_CONSUMER hmm_range_snapshot_unused:51', 'TEST_ONLY_CONSUMERS hmm_pfn_order_check:57']);
      assert.deepEqual(findings(refreshed, 'mm/memremap.c'), ['NOT_GPL_ONLY devmap_managed_key:8', 'SAME_DIR_CONSUMERS memunmap_pages:21', 'NOT_GPL_ONLY put_devmap_managed_page:27']);
    });
  }

  for (const [how, statOpts] of statWays) {
    it(`keeps a file whose name holds a newline across a warm start (stat ${how})`, async () => {
      const root = writeTree({
        'mm/hmm.c': 'int hmm_range_fault(void) { return 0; }\nEXPORT_SYMBOL(hmm_range_fault);\n',
        'drivers/odd/new\nline.c': 'int f(void) { return hmm_range_fault(); }\n',
        'drivers/odd/after.c': 'int g(void) { return hmm_range_fault(); }\n',
      });
      const cacheDir = tempDir();
      const cold = await openIndex(root, { cacheDir, workers: 0 });
      const logs: string[] = [];
      const phases: string[] = [];
      const warm = await openIndex(root, { cacheDir, ...statOpts, log: (m) => logs.push(m), onPhase: (p) => phases.push(p) });
      assert.deepEqual(logs, [], 'the cache is used as it is');
      assert.deepEqual(phases, warmPhases[how]);
      const consumers = (index: KernelIndex): string[] => index.consumers(index.exportsNamed('hmm_range_fault')[0]!).map((c) => c.file);
      assert.deepEqual(consumers(warm), ['drivers/odd/after.c', 'drivers/odd/new\nline.c']);
      assert.deepEqual(consumers(warm), consumers(cold));
    });
  }

  it("gives back every file's record from the cache as the build made it: exports, definitions, imports, wrappers, local macros, includes, skips", async () => {
    const root = writeTree({
      'mm/hmm.c': readFileSync(join(sampleTree, 'mm/hmm.c'), 'latin1'),
      'include/linux/pm.h': '#define EXPORT_DEV_PM_OPS(name) const struct dev_pm_ops name; EXPORT_SYMBOL(name)\n',
      'drivers/base/power.c': '#include <linux/pm.h>\nEXPORT_DEV_PM_OPS(power_ops) = { };\n',
      'drivers/usb/user.c': 'MODULE_IMPORT_NS(USB_STORAGE);\nint f(void) { return usb_stor_probe(); }\n',
      'drivers/usb/storage.c': 'int usb_stor_probe(void) { return 0; }\nEXPORT_SYMBOL_NS_GPL(usb_stor_probe, USB_STORAGE);\n',
      'lib/lzo/compress.c': '#ifndef LZO_SAFE\n#define LZO_SAFE(name) name\n#endif\nint LZO_SAFE(lzo1x_1_compress)(void) { return 0; }\nEXPORT_SYMBOL_GPL(LZO_SAFE(lzo1x_1_compress));\n',
      'lib/lzo/compress_safe.c': '#define LZO_SAFE(name) name##_safe\n#include "compress.c"\n',
      'drivers/gpu/blob.h': Buffer.from([0x23, 0x64, 0x0a, 0x00, 0x01]),
    });
    const cacheDir = tempDir();
    const record = (f: IndexedFile) => ({
      path: f.path,
      size: f.size,
      stamp: f.stamp,
      alive: f.alive,
      lines: f.lines,
      exports: f.exports,
      defs: f.defs,
      imports: f.imports,
      wrappers: f.wrappers,
      localMacros: f.localMacros,
      includes: f.includes,
      skipped: f.skipped,
      proxyStart: f.proxyStart,
      proxyCount: f.proxyCount,
    });
    const cold = (await openIndex(root, { cacheDir, workers: 0 })).files.map(record);
    for (const k of ['exports', 'defs', 'imports', 'wrappers', 'localMacros', 'includes', 'skipped'] as const) {
      assert.ok(
        cold.some((f) => (Array.isArray(f[k]) ? f[k].length : f[k] !== undefined)),
        `the tree has a file with ${k}`,
      );
    }
    const phases: string[] = [];
    const warm = await openIndex(root, { cacheDir, workers: 0, onPhase: (p) => phases.push(p) });
    assert.ok(!phases.includes('scan'), phases.join(', '));
    assert.deepEqual(warm.files.map(record), cold);
  });

  it('hands out a cold index before its cache is written, and writes the index as it was handed out', async () => {
    const root = copySampleTree();
    const cacheDir = tempDir();
    let written: (e?: Error) => void;
    const done = new Promise<Error | undefined>((r) => (written = r));
    let settled = false;
    const phases: string[] = [];
    const cold = await openIndex(root, { cacheDir, workers: 0, cacheWrite: 'background', onCacheWritten: (e) => ((settled = true), written(e)), onPhase: (p) => phases.push(p) });
    assert.equal(settled, false, 'the file is written after openIndex returns');
    assert.ok(phases.includes('take cache bytes') && !phases.includes('save cache'), phases.join(', '));
    const before = findings(cold, 'mm');
    // An editor buffer applied meanwhile: the cache keeps the disk's hmm.c.
    cold.updateFile('mm/hmm.c', Buffer.from(readFileSync(join(root, 'mm/hmm.c'), 'latin1').replace('EXPORT_SYMBOL(hmm_range_fault);', 'EXPORT_SYMBOL_GPL(hmm_range_fault);'), 'latin1'));
    assert.notDeepEqual(findings(cold, 'mm'), before);
    assert.equal(await done, undefined);
    assert.deepEqual(
      readdirSync(cacheDir).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary file left',
    );
    const warmPhases: string[] = [];
    const warm = await openIndex(root, { cacheDir, workers: 0, onPhase: (p) => warmPhases.push(p) });
    assert.ok(!warmPhases.includes('scan'), warmPhases.join(', '));
    assert.deepEqual(findings(warm, 'mm'), before);
  });

  it("hands out a cold index before its cache's bytes are taken ('after'), and writes none if the index changed by then", async () => {
    for (const change of [false, true]) {
      const root = copySampleTree();
      const cacheDir = tempDir();
      const phases: string[] = [];
      const logs: string[] = [];
      let started: Promise<void> | undefined;
      let error: Error | undefined;
      const cold = await openIndex(root, {
        cacheDir,
        workers: 0,
        cacheWrite: 'after',
        onCacheWriteStarted: (p) => (started = p),
        onCacheWritten: (e) => (error = e),
        log: (m) => logs.push(m),
        onPhase: (p) => phases.push(p),
      });
      assert.ok(started, 'a write is under way');
      assert.ok(!phases.includes('take cache bytes'), `the bytes are taken after the return: ${phases.join(', ')}`);
      if (change) cold.updateFile('mm/hmm.c', Buffer.from('int x;\n'));
      await started;
      const warmPhases: string[] = [];
      await openIndex(root, { cacheDir, workers: 0, onPhase: (p) => warmPhases.push(p) });
      if (change) {
        assert.match(error?.message ?? '', /^the index changed before its bytes were taken/);
        assert.equal(logs.length, 1, logs.join('\n'));
        assert.ok(warmPhases.includes('scan'), `no cache was written: ${warmPhases.join(', ')}`);
      } else {
        assert.equal(error, undefined);
        assert.ok(phases.includes('take cache bytes'), phases.join(', '));
        assert.ok(!warmPhases.includes('scan'), `served from the cache: ${warmPhases.join(', ')}`);
      }
    }
  });

  it("removes the temporary files of cache writers that died mid-write, and keeps a live writer's", async () => {
    const cacheDir = tempDir();
    await openIndex(sampleTree, { cacheDir, workers: 0 });
    const idx = readdirSync(cacheDir)[0]!;
    const dead = spawnSync('true').pid!;
    const live = spawn('sleep', ['60']);
    try {
      const orphan = `${idx}.${dead}.1700000000000.ab12cd.tmp`;
      // as kexports before this one named them
      const olderOrphan = `${idx}.${dead}.1600000000000.tmp`;
      const writing = `${idx}.${live.pid}.1700000000000.ab12cd.tmp`;
      const other = `0123456789abcdef.idx.${dead}.1700000000000.ab12cd.tmp`;
      for (const f of [orphan, olderOrphan, writing, other]) writeFileSync(join(cacheDir, f), 'half a cache');
      rmSync(join(cacheDir, idx));
      let written!: () => void;
      const done = new Promise<void>((r) => (written = r));
      await openIndex(sampleTree, { cacheDir, workers: 0, cacheWrite: 'background', onCacheWritten: () => written() });
      await done;
      assert.deepEqual(readdirSync(cacheDir).sort(), [other, idx, writing].sort());
    } finally {
      live.kill();
    }
  });

  it('says why it could not write the cache, and still hands out the index', async () => {
    const blocker = join(tempDir(), 'a-file');
    writeFileSync(blocker, 'not a directory');
    for (const cacheWrite of ['wait', 'background'] as const) {
      const logs: string[] = [];
      const errors: (Error | undefined)[] = [];
      let written!: () => void;
      const done = new Promise<void>((r) => (written = r));
      const index = await openIndex(sampleTree, { cacheDir: join(blocker, 'cache'), workers: 0, cacheWrite, log: (m) => logs.push(m), onCacheWritten: (e) => (errors.push(e), written()) });
      await done;
      assert.ok(index.exportsNamed('hmm_range_fault').length, cacheWrite);
      assert.equal(errors.length, 1);
      assert.match(errors[0]?.message ?? '', /ENOTDIR/);
      assert.equal(logs.length, 2, logs.join('\n'));
      assert.match(logs[0]!, /^cache .*\/a-file\/cache\/[0-9a-f]{16}\.idx is unusable \(ENOTDIR.*\); rebuilding it$/);
      assert.match(logs[1]!, /^could not write the cache .*\/a-file\/cache\/[0-9a-f]{16}\.idx: ENOTDIR/);
    }
  });

  for (const [how, statOpts] of statWays) {
    it(`finds on a warm start the files of directories made since, with the tree's exclusions, and drops a removed directory's (stat ${how})`, async () => {
      const root = copySampleTree();
      const cacheDir = tempDir();
      const exclude = ['drivers/skipme'];
      await openIndex(root, { cacheDir, workers: 0, exclude });
      mkdirSync(join(root, 'drivers/newdrv/sub'), { recursive: true });
      writeFileSync(join(root, 'drivers/newdrv/sub/svm.c'), 'int newdrv_fault(void)\n{\n\treturn hmm_range_fault(0);\n}\nEXPORT_SYMBOL_GPL(newdrv_fault);\n');
      writeFileSync(join(root, 'drivers/newdrv/fw.c_shipped'), 'int newdrv_fw_load(void) { return 0; }\nEXPORT_SYMBOL(newdrv_fw_load);\n');
      mkdirSync(join(root, 'drivers/skipme'));
      writeFileSync(join(root, 'drivers/skipme/x.c'), 'int skipped_sym;\nEXPORT_SYMBOL(skipped_sym);\n');
      rmSync(join(root, 'lib'), { recursive: true });
      const logs: string[] = [];
      const phases: string[] = [];
      const warm = await openIndex(root, { cacheDir, exclude, ...statOpts, log: (m) => logs.push(m), onPhase: (p) => phases.push(p) });
      assert.ok(!phases.includes('scan'), `refreshed, not rebuilt: ${phases.join(', ')}`);
      assert.deepEqual(logs, ['cache refreshed: 2 changed or added, 1 deleted']);
      assert.deepEqual(
        ['newdrv_fault', 'newdrv_fw_load', 'skipped_sym'].map((n) => warm.exportsNamed(n).map((e) => `${e.file}:${e.line}`)),
        [['drivers/newdrv/sub/svm.c:5'], ['drivers/newdrv/fw.c_shipped:2'], []],
      );
      const users = (index: KernelIndex) => index.consumers(index.exportsNamed('hmm_range_fault')[0]!).map((c) => c.file);
      assert.ok(users(warm).includes('drivers/newdrv/sub/svm.c') && !users(warm).includes('lib/test_hmm.c'), users(warm).join(' '));
      const cold = await openIndex(root, { workers: 0, exclude });
      assert.deepEqual(findings(warm, ''), findings(cold, ''));
      assert.deepEqual(users(warm), users(cold));
    });
  }

  for (const [how, statOpts] of statWays) {
    it(`reads again on a warm start the Makefiles changed or made since, and their namespaces reach the exports (stat ${how})`, async () => {
      const root = copySampleTree();
      const cacheDir = tempDir();
      const first = await openIndex(root, { cacheDir, workers: 0 });
      const storage = first.exportsUnder(['drivers/usb/storage']);
      assert.ok(storage.length && storage.every((e) => e.namespace === 'USB_STORAGE'), storage.map((e) => `${e.name} ${e.namespace}`).join(', '));
      const mk = join(root, 'drivers/usb/storage/Makefile');
      writeFileSync(mk, readFileSync(mk, 'latin1').replace('NAMESPACE=USB_STORAGE', 'NAMESPACE=USB_STORAGE_V2'));
      mkdirSync(join(root, 'drivers/newns'));
      writeFileSync(join(root, 'drivers/newns/Makefile'), 'ccflags-y += -DDEFAULT_SYMBOL_NAMESPACE=NEWNS\nobj-y += ns.o\n');
      writeFileSync(join(root, 'drivers/newns/ns.c'), 'int newns_sym(void) { return 0; }\nEXPORT_SYMBOL_GPL(newns_sym);\n');
      const logs: string[] = [];
      const warm = await openIndex(root, { cacheDir, ...statOpts, log: (m) => logs.push(m) });
      assert.deepEqual(logs, ['cache refreshed: 1 changed or added, 0 deleted, 2 Makefiles read again']);
      const namespaces = (index: KernelIndex) => index.exports.map((e) => `${e.file} ${e.name} ${e.namespace ?? '-'}`).sort();
      assert.ok(namespaces(warm).includes('drivers/newns/ns.c newns_sym NEWNS'));
      assert.ok(warm.exportsUnder(['drivers/usb/storage']).every((e) => e.namespace === 'USB_STORAGE_V2'));
      assert.deepEqual(namespaces(warm), namespaces(await openIndex(root, { workers: 0 })));
    });
  }

  for (const [how, statOpts] of statWays) {
    it(`skips and counts on a warm start the files that became binary or too large, as a full build does (stat ${how})`, async () => {
      const root = copySampleTree();
      const cacheDir = tempDir();
      const maxFileBytes = 64 * 1024;
      await openIndex(root, { cacheDir, workers: 0, maxFileBytes });
      writeFileSync(join(root, 'mm/hmm.c'), Buffer.concat([readFileSync(join(root, 'mm/hmm.c')), Buffer.from([0, 1, 2])]));
      writeFileSync(join(root, 'mm/memremap.c'), `${readFileSync(join(root, 'mm/memremap.c'), 'latin1')}${'/* padding */\n'.repeat(6000)}`);
      writeFileSync(join(root, 'mm/page_walk.c'), '');
      const logs: string[] = [];
      const warm = await openIndex(root, { cacheDir, ...statOpts, maxFileBytes, log: (m) => logs.push(m) });
      assert.deepEqual(logs, ['cache refreshed: 3 changed or added, 0 deleted']);
      assert.deepEqual(
        warm.stats.skipped.map((k) => `${k.path} ${k.reason}`),
        ['mm/hmm.c binary', 'mm/memremap.c too-large'],
      );
      const cold = await openIndex(root, { workers: 0, maxFileBytes });
      assert.deepEqual(warm.stats, cold.stats);
      assert.deepEqual(findings(warm, ''), findings(cold, ''));
      assert.deepEqual(warm.exportsNamed('hmm_range_fault'), [], 'a binary file exports nothing');
    });

    it(`writes a warm start that refreshed many files as the cache again, so the next start refreshes nothing (stat ${how})`, async () => {
      const root = copySampleTree();
      const cacheDir = tempDir();
      await openIndex(root, { cacheDir, workers: 0 });
      const hmm = join(root, 'mm/hmm.c');
      writeFileSync(hmm, readFileSync(hmm, 'latin1').replace('EXPORT_SYMBOL(hmm_range_fault);', 'EXPORT_SYMBOL_GPL(hmm_range_fault);'), 'latin1');
      mkdirSync(join(root, 'drivers/newdrv'));
      writeFileSync(join(root, 'drivers/newdrv/svm.c'), 'int newdrv_fault(void)\n{\n\treturn hmm_range_fault(0) + memunmap_pages(0);\n}\nEXPORT_SYMBOL_GPL(newdrv_fault);\n');
      writeFileSync(join(root, 'drivers/newdrv/Makefile'), 'ccflags-y += -DDEFAULT_SYMBOL_NAMESPACE=NEWDRV\n');
      rmSync(join(root, 'lib/test_hmm.c'));
      const logs: string[] = [];
      const phases: string[] = [];
      let written!: (e?: Error) => void;
      const done = new Promise<Error | undefined>((r) => (written = r));
      const refreshed = await openIndex(root, {
        cacheDir,
        ...statOpts,
        cacheRewriteMin: 3,
        cacheWrite: 'background',
        onCacheWritten: (e) => written(e),
        log: (m) => logs.push(m),
        onPhase: (p) => phases.push(p),
      });
      assert.deepEqual(logs, ['cache refreshed: 2 changed or added, 1 deleted, 1 Makefile read again']);
      assert.ok(phases.includes('fold the refresh into the postings') && phases.includes('take cache bytes'), phases.join(', '));
      assert.equal(await done, undefined);
      const summary = (index: KernelIndex) => ({
        findings: findings(index, ''),
        exports: index.exports.map((e) => `${e.file}:${e.line} ${e.name} ${e.type} ${e.namespace ?? '-'}`).sort(),
        consumers: index.exports
          .map((e) =>
            index
              .consumers(e)
              .map((c) => `${c.file}:${c.line} ${c.cls} ${JSON.stringify(c.via ?? null)}`)
              .join(' '),
          )
          .sort(),
      });
      const cold = summary(await openIndex(root, { workers: 0 }));
      assert.deepEqual(summary(refreshed), cold, 'folding the refresh into the postings changes no answer');
      const again: string[] = [];
      const againPhases: string[] = [];
      const next = await openIndex(root, { cacheDir, ...statOpts, log: (m) => again.push(m), onPhase: (p) => againPhases.push(p) });
      assert.deepEqual(again, [], 'nothing left to refresh');
      assert.ok(!againPhases.includes('scan'), againPhases.join(', '));
      assert.deepEqual(summary(next), cold);
      assert.ok(cold.exports.includes('drivers/newdrv/svm.c:5 newdrv_fault EXPORT_SYMBOL_GPL NEWDRV'), cold.exports.join('\n'));
    });
  }

  for (const [name, damage] of [
    ['truncated', (f: string) => truncateSync(f, 100)],
    ['garbage', (f: string) => writeFileSync(f, 'not an index at all')],
    [
      'bit-flipped',
      (f: string) => {
        const b = readFileSync(f);
        b.writeUInt32LE(0xffffffff, b.length - 64);
        writeFileSync(f, b);
      },
    ],
    [
      'file-list-damaged',
      (f: string) => {
        // the first array after the header: the file paths
        const b = readFileSync(f);
        const at = 24 + b.readUInt32LE(20);
        b[at + 8 + 3]! ^= 0x20;
        writeFileSync(f, b);
      },
    ],
    [
      'out-of-range',
      (f: string) => {
        // A posting's file past the file list, under checksums that match: only the range checks see it.
        const b = readFileSync(f);
        const hlen = b.readUInt32LE(20);
        const header = JSON.parse(b.toString('utf8', 24, 24 + hlen)) as { arrays: { name: string; kind: string; length: number; crc: number }[] };
        const width: Record<string, number> = { u8: 1, u16: 2, u32: 4, i32: 4, f64: 8 };
        let at = 24 + hlen;
        for (const a of header.arrays) {
          at += (8 - (at % 8)) % 8;
          const bytes = a.length * width[a.kind]!;
          // A file number past the list whose CRC has as many digits as the old one: the header keeps its length, and the arrays their places.
          for (let v = 0xffff; a.name === 'postFile'; v--) {
            b.writeUInt16LE(v, at);
            const crc = crc32(b.subarray(at, at + bytes));
            if (String(crc).length !== String(a.crc).length) continue;
            a.crc = crc;
            break;
          }
          at += bytes;
        }
        const text = Buffer.from(JSON.stringify(header), 'utf8');
        assert.equal(text.length, hlen);
        b.writeUInt32LE(crc32(text), 16);
        text.copy(b, 24);
        writeFileSync(f, b);
      },
    ],
  ] as const) {
    for (const [how, checkOpts] of statWays) {
      it(`rebuilds a ${name} cache and says so (the stat pass ${how})`, async () => {
        const cacheDir = tempDir();
        const good = await openIndex(sampleTree, { cacheDir });
        const file = join(cacheDir, (await import('node:fs')).readdirSync(cacheDir)[0]!);
        damage(file);
        const logs: string[] = [];
        const index = await openIndex(sampleTree, { cacheDir, ...checkOpts, log: (m) => logs.push(m) });
        assert.equal(logs.length, 1);
        assert.match(logs[0]!, /^cache .*\.idx is unusable \(.+\); rebuilding it$/);
        if (name === 'bit-flipped') assert.match(logs[0]!, /\(checksum mismatch in internArena\)/);
        if (name === 'file-list-damaged') assert.match(logs[0]!, /\(checksum mismatch in filePaths\)/);
        if (name === 'out-of-range') assert.match(logs[0]!, /\(posting out of range\)/);
        assert.deepEqual(findings(index, ''), findings(good, ''));
        const again: string[] = [];
        await openIndex(sampleTree, { cacheDir, log: (m) => again.push(m) });
        assert.deepEqual(again, [], 'the rebuilt cache is valid');
      });
    }
  }

  it('goes on answering, and knows it, when another program cuts short the cache file it maps', { skip: nativeAddon() ? false : 'no addon' }, async () => {
    const cacheDir = tempDir();
    const good = await openIndex(sampleTree, { cacheDir });
    const index = await openIndex(sampleTree, { cacheDir, statWorkerMinBytes: 0 });
    const mapped = index.mappedCache;
    assert.ok(mapped, 'the warm start mapped the large arrays');
    assert.equal(mapped.file, join(cacheDir, readdirSync(cacheDir)[0]!));
    assert.equal(mapped.cutShort(), false);
    assert.deepEqual(findings(index, ''), findings(good, ''));
    const untouched = await openIndex(sampleTree, { cacheDir, statWorkerMinBytes: 0 });
    truncateSync(mapped.file, 0);
    // Zeros where the postings and names were: no SIGBUS, no endless probe of a table without a free slot.
    const after = findings(index, '');
    assert.ok(after.length > 0);
    assert.equal(index.consumers(index.exportsNamed('hmm_range_fault')[0]!).length, 0);
    assert.throws(() => index.updateFile('drivers/new.c', Buffer.from('int f(void) { return brand_new_name(); }\n')), /the name table is damaged/);
    assert.equal(mapped.cutShort(), true);
    // The small arrays are in the mapping too: details not decoded before read as none, and the index knows why.
    assert.deepEqual(untouched.files[untouched.byPath.get('mm/hmm.c')!]!.exports, []);
    assert.equal(untouched.mappedCache?.cutShort(), true);
    const unmapped = await openIndex(sampleTree, { cacheDir, statWorkerMinBytes: 0, mapCache: false, log: () => {} });
    assert.equal(unmapped.mappedCache, undefined);
  });

  it('rebuilds, and says why, a cache file cut short while the warm start maps it', { skip: nativeAddon() ? false : 'no addon' }, async () => {
    const cacheDir = tempDir();
    const good = await openIndex(sampleTree, { cacheDir });
    const file = join(cacheDir, readdirSync(cacheDir)[0]!);
    const logs: string[] = [];
    // After the main thread decoded the files and exports from the mapping, before the large arrays are taken.
    const onPhase = (p: string): void => void (p === 'files and exports' && truncateSync(file, 0));
    const index = await openIndex(sampleTree, { cacheDir, statWorkerMinBytes: 0, onPhase, log: (m) => logs.push(m) });
    assert.deepEqual(logs, [`cache ${file} is unusable (the file was cut short while it was read); rebuilding it`]);
    assert.equal(index.mappedCache, undefined, 'the rebuilt index maps nothing');
    assert.deepEqual(findings(index, ''), findings(good, ''));
  });
});

describe('edits of a header that defines an export wrapper', () => {
  it('gives back the exports of an includer, read again since the build, when the wrapper comes back', async () => {
    // Found by npm run fuzz: the includer was resolved again before the wrappers were collected again.
    const root = copySampleTree();
    const index = await openIndex(root, { workers: 0 });
    const acpi = (): string[] => index.exportsNamed('acpi_install_table_handler').map((e) => `${e.file}:${e.line} ${e.macro} via ${e.wrapper}`);
    assert.deepEqual(acpi(), ['drivers/acpi/acpica/utxface_sample.c:10 EXPORT_SYMBOL via ACPI_EXPORT_SYMBOL']);
    index.rescanFile('drivers/acpi/acpica/utxface_sample.c', 1 << 26);
    const header = 'include/acpi/platform/aclinux.h';
    const text = readFileSync(join(root, header), 'latin1');
    index.updateFile(header, Buffer.from(text.replace(/^#define ACPI_EXPORT_SYMBOL.*\n/m, ''), 'latin1'));
    assert.deepEqual(acpi(), []);
    index.rescanFile(header, 1 << 26);
    assert.deepEqual(acpi(), ['drivers/acpi/acpica/utxface_sample.c:10 EXPORT_SYMBOL via ACPI_EXPORT_SYMBOL']);
  });
});

import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot, runCli, sampleTree, tempDir } from '../helpers';

/** The build model's sample tree: Kbuild and Kconfig files of its own (see its Makefiles). */
const tree = join(repoRoot, 'test/fixtures/kbuild-tree');

interface JsonFinding {
  severity: string;
  code: string;
  symbol: string;
  file: string;
  line: number;
  message: string;
}

describe('the build model', () => {
  it('judges consumers by module: built-in only, same module, FOR_MODULES, and duplicates only where one build links both', () => {
    const r = runCli(['check', '--tree', tree, '--format', 'json']);
    assert.equal(r.code, 1, r.stderr);
    const findings = (JSON.parse(r.stdout) as { findings: JsonFinding[] }).findings;
    assert.deepEqual(
      findings.map((f) => [f.severity, f.code, f.symbol, `${f.file}:${f.line}`]),
      [
        // one per architecture, never both in one build: no DUPLICATE_EXPORT
        ['warning', 'NO_CONSUMER', 'arch_copy_page', 'arch/bar/lib/copy_page.c:9'],
        ['warning', 'NO_CONSUMER', 'arch_copy_page', 'arch/foo/lib/copy_page.c:9'],
        ['info', 'SAME_MODULE_CONSUMERS', 'nouveau_drm_sample', 'drivers/gpu/nouveau/nouveau_drm.c:9'],
        ['warning', 'BUILTIN_ONLY_CONSUMERS', 'nvmem_sample_read', 'drivers/nvmem/core.c:8'],
        ['warning', 'NO_CONSUMER', 'dup_sample', 'mm/dup_a.c:8'],
        // both always built: the one real duplicate
        ['error', 'DUPLICATE_EXPORT', 'dup_sample', 'mm/dup_b.c:8'],
        ['warning', 'NO_CONSUMER', 'dup_sample', 'mm/dup_b.c:8'],
        ['info', 'FOR_MODULES_CANDIDATE', 'hmm_range_fault', 'mm/hmm.c:9'],
        // MMU and !MMU: no DUPLICATE_EXPORT
        ['warning', 'BUILTIN_ONLY_CONSUMERS', 'vmalloc_sample', 'mm/nommu.c:8'],
        // two entries of one choice: no DUPLICATE_EXPORT
        ['warning', 'NO_CONSUMER', 'kmem_cache_alloc_sample', 'mm/slob.c:8'],
        ['warning', 'NO_CONSUMER', 'kmem_cache_alloc_sample', 'mm/slub.c:8'],
        ['warning', 'BUILTIN_ONLY_CONSUMERS', 'mm_util_helper', 'mm/util.c:9'],
        ['warning', 'BUILTIN_ONLY_CONSUMERS', 'vmalloc_sample', 'mm/vmalloc.c:8'],
        ['error', 'FOR_MODULES_REFUSED', 'kvm_sample_op', 'virt/kvm/kvm_core.c:9'],
      ],
    );
    const msg = (code: string, symbol: string): string => findings.find((f) => f.code === code && f.symbol === symbol)!.message;
    assert.equal(
      msg('BUILTIN_ONLY_CONSUMERS', 'nvmem_sample_read'),
      'nvmem_sample_read has no modular users: its only consumer is built into vmlinux (drivers/nvmem/core.c: built in only (CONFIG_NVMEM, bool)); the export can be dropped',
    );
    assert.equal(
      msg('SAME_MODULE_CONSUMERS', 'nouveau_drm_sample'),
      'nouveau_drm_sample is exported but every consumer is linked into drivers/gpu/nouveau/nouveau.ko, the module that exports it; the export is not needed',
    );
    assert.equal(
      msg('FOR_MODULES_REFUSED', 'kvm_sample_op'),
      'kvm_sample_op is exported only for "kvm-intel", but drivers/kvmx/kvm-amd.ko uses it (drivers/kvmx/kvm-amd.c:4): modpost and the module loader refuse it',
    );
    assert.equal(
      msg('FOR_MODULES_CANDIDATE', 'hmm_range_fault'),
      `hmm_range_fault's modular users are only drivers/gpu/nouveau/nouveau.ko: it could be EXPORT_SYMBOL_FOR_MODULES(hmm_range_fault, "nouveau")`,
    );
  });

  it('kexports module says where a file goes and why: the Makefile line, the Kconfig symbol and its type', () => {
    const r = runCli(['module', '--tree', tree, 'drivers/gpu/nouveau/nouveau_svm.c', 'mm/nommu.c', 'arch/foo/lib/copy_page.c', 'include/linux/hmm.h']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `drivers/gpu/nouveau/nouveau_svm.c: drivers/gpu/nouveau/nouveau (CONFIG_DRM_NOUVEAU, tristate)
  vmlinux (built in) as part of drivers/gpu/nouveau/nouveau.o: drivers/gpu/nouveau/Kbuild:4, CONFIG_DRM_NOUVEAU (tristate)
    when CONFIG_DRM_NOUVEAU=y
  module drivers/gpu/nouveau/nouveau.ko as part of drivers/gpu/nouveau/nouveau.o: drivers/gpu/nouveau/Kbuild:4, CONFIG_DRM_NOUVEAU (tristate)
    when CONFIG_DRM_NOUVEAU=m
mm/nommu.c: built in only (!CONFIG_MMU)
  vmlinux (built in): mm/Makefile:6
    when !CONFIG_MMU
arch/foo/lib/copy_page.c: built in only (ARCH=foo)
  vmlinux (built in): arch/foo/lib/Makefile:2
    when ARCH=foo
include/linux/hmm.h: not built (a header: it is built with each file that includes it)
`,
    );
    const j = runCli(['module', '--tree', tree, '--format', 'json', 'drivers/gpu/nouveau/nouveau_svm.c']);
    const [one] = JSON.parse(j.stdout) as { modules: string[]; modular: boolean; placements: { config: string; configType: string; makefile: string; line: number }[] }[];
    assert.deepEqual(one!.modules, ['drivers/gpu/nouveau/nouveau', 'vmlinux']);
    assert.equal(one!.modular, true);
    assert.deepEqual(
      one!.placements.map((p) => [p.config, p.configType, `${p.makefile}:${p.line}`]),
      [
        ['CONFIG_DRM_NOUVEAU', 'tristate', 'drivers/gpu/nouveau/Kbuild:4'],
        ['CONFIG_DRM_NOUVEAU', 'tristate', 'drivers/gpu/nouveau/Kbuild:4'],
      ],
    );
  });

  it('places a .c file that no Makefile names where the sibling that #includes it goes', () => {
    const root = tempDir('kexports-included-');
    cpSync(tree, root, { recursive: true });
    const dir = join(root, 'drivers/gpu/nouveau');
    writeFileSync(join(dir, 'nouveau_svm.c'), `${readFileSync(join(dir, 'nouveau_svm.c'), 'utf8')}\n  #  include "nouveau_inc.c"\n`);
    writeFileSync(join(dir, 'nouveau_inc.c'), 'int nouveau_inc(void)\n{\n\treturn 0;\n}\n');
    // named in the text, but not #included in quotes: not built
    writeFileSync(join(dir, 'nouveau_drm.c'), `${readFileSync(join(dir, 'nouveau_drm.c'), 'utf8')}\n/* nouveau_orphan.c is not used */\n#include <nouveau_orphan.c>\n`);
    writeFileSync(join(dir, 'nouveau_orphan.c'), 'int nouveau_orphan(void)\n{\n\treturn 0;\n}\n');
    const r = runCli(['module', '--tree', root, '--no-cache', 'drivers/gpu/nouveau/nouveau_inc.c', 'drivers/gpu/nouveau/nouveau_orphan.c']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout.split('\n').filter((l) => !l.startsWith(' ')),
      [
        'drivers/gpu/nouveau/nouveau_inc.c: drivers/gpu/nouveau/nouveau (CONFIG_DRM_NOUVEAU, tristate)',
        'drivers/gpu/nouveau/nouveau_orphan.c: not built (no Makefile the build reaches names its object)',
        '',
      ],
    );
  });

  it('gives a .c file #included by sources of two modules both modules, in every output form', () => {
    const root = tempDir('kexports-included-twice-');
    cpSync(tree, root, { recursive: true });
    const dir = join(root, 'drivers/kvmx');
    for (const f of ['kvm-amd.c', 'kvm-intel.c']) writeFileSync(join(dir, f), `${readFileSync(join(dir, f), 'utf8')}#include "kvm_common.c"\n`);
    writeFileSync(join(dir, 'kvm_common.c'), 'int kvm_common_run(void)\n{\n\treturn kvm_sample_op(2);\n}\n');
    const both = ['drivers/kvmx/kvm-amd', 'drivers/kvmx/kvm-intel', 'vmlinux'];
    const m = runCli(['module', '--tree', root, '--no-cache', '--format', 'json', 'drivers/kvmx/kvm_common.c']);
    assert.equal(m.code, 0, m.stderr);
    const [placed] = JSON.parse(m.stdout) as { modules: string[]; modular: boolean }[];
    assert.deepEqual([placed!.modules, placed!.modular], [both, true]);
    // a bulk answer (more than one symbol) asks for modules alone, without the placements kept
    const j = runCli(['consumers', '--tree', root, '--no-cache', '--format', 'json', 'kvm_sample_op', 'hmm_range_fault']);
    assert.equal(j.code, 0, j.stderr);
    const [answer] = JSON.parse(j.stdout) as { consumers: { file: string; modules: string[]; modular: boolean }[] }[];
    assert.deepEqual(
      answer!.consumers.map((c) => [c.file, c.modules, c.modular]),
      [
        ['drivers/kvmx/kvm-amd.c', ['drivers/kvmx/kvm-amd', 'vmlinux'], true],
        ['drivers/kvmx/kvm-intel.c', ['drivers/kvmx/kvm-intel', 'vmlinux'], true],
        ['drivers/kvmx/kvm_common.c', both, true],
      ],
    );
    const sum = runCli(['consumers', '--tree', root, '--no-cache', '--summary', '--format', 'jsonl', 'kvm_sample_op', 'hmm_range_fault']);
    assert.deepEqual(JSON.parse(sum.stdout.split('\n')[0]!).byModule, { 'drivers/kvmx/kvm-amd': 2, 'drivers/kvmx/kvm-intel': 2 });
  });

  it('consumers group by module in text, and carry modules and modular in JSON', () => {
    const r = runCli(['consumers', '--tree', tree, 'hmm_range_fault', 'vmalloc_sample']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `hmm_range_fault (EXPORT_SYMBOL_GPL, GPL-only) mm/hmm.c:9: 1 consumer  [built in only (CONFIG_HMM_MIRROR, bool)]
  drivers/gpu/nouveau/nouveau (CONFIG_DRM_NOUVEAU, tristate):
    driver    drivers/gpu/nouveau/nouveau_svm.c:6
vmalloc_sample (EXPORT_SYMBOL, any license) mm/nommu.c:8: 1 consumer  [built in only (!CONFIG_MMU)]
  built in only (always built):
    same-dir  mm/walk.c:6
vmalloc_sample (EXPORT_SYMBOL, any license) mm/vmalloc.c:8: 1 consumer  [built in only (CONFIG_MMU, bool)]
  built in only (always built):
    same-dir  mm/walk.c:6
`,
    );
    const j = runCli(['consumers', '--tree', tree, '--format', 'json', 'kvm_sample_op']);
    const [answer] = JSON.parse(j.stdout) as { export: { modules: string[]; forModules: string[] }; consumers: { file: string; modules: string[]; modular: boolean }[] }[];
    assert.deepEqual(answer!.export.modules, ['vmlinux']);
    assert.deepEqual(answer!.export.forModules, ['kvm-intel']);
    assert.deepEqual(
      answer!.consumers.map((c) => [c.file, c.modules, c.modular]),
      [
        ['drivers/kvmx/kvm-amd.c', ['drivers/kvmx/kvm-amd', 'vmlinux'], true],
        ['drivers/kvmx/kvm-intel.c', ['drivers/kvmx/kvm-intel', 'vmlinux'], true],
      ],
    );
  });

  it('writes consumers with modules, and counts by module, byte for byte as JSON.stringify lays them out', () => {
    // the bulk writers make these texts themselves (records.ts): the layout must still be JSON.stringify's
    const syms = ['kvm_sample_op', 'hmm_range_fault', 'arch_copy_page', 'no_such_symbol', 'vmalloc_sample'];
    const json = runCli(['consumers', '--tree', tree, '--format', 'json', ...syms]);
    assert.equal(json.code, 0, json.stderr);
    const list = JSON.parse(json.stdout) as { symbol: string; consumers?: { file: string; modules: string[]; modular: boolean }[] }[];
    assert.equal(json.stdout, `${JSON.stringify(list, null, 1)}\n`);
    assert.deepEqual(
      list.map((r) => [r.symbol, r.consumers?.map((c) => `${c.file} ${c.modules.join(',')} ${c.modular}`)]),
      [
        ['kvm_sample_op', ['drivers/kvmx/kvm-amd.c drivers/kvmx/kvm-amd,vmlinux true', 'drivers/kvmx/kvm-intel.c drivers/kvmx/kvm-intel,vmlinux true']],
        ['hmm_range_fault', ['drivers/gpu/nouveau/nouveau_svm.c drivers/gpu/nouveau/nouveau,vmlinux true']],
        ['arch_copy_page', []],
        ['arch_copy_page', []],
        ['no_such_symbol', undefined],
        ['vmalloc_sample', ['mm/walk.c vmlinux false']],
        ['vmalloc_sample', ['mm/walk.c vmlinux false']],
      ],
    );
    const sum = runCli(['consumers', '--tree', tree, '--summary', '--format', 'json', ...syms]);
    assert.equal(sum.code, 0, sum.stderr);
    const counts = JSON.parse(sum.stdout) as { symbol: string; byModule?: Record<string, number> }[];
    assert.equal(sum.stdout, `${JSON.stringify(counts, null, 1)}\n`);
    assert.deepEqual(
      counts.map((r) => [r.symbol, r.byModule]),
      [
        ['kvm_sample_op', { 'drivers/kvmx/kvm-amd': 1, 'drivers/kvmx/kvm-intel': 1 }],
        ['hmm_range_fault', { 'drivers/gpu/nouveau/nouveau': 1 }],
        ['arch_copy_page', {}],
        ['arch_copy_page', {}],
        ['no_such_symbol', undefined],
        ['vmalloc_sample', { vmlinux: 1 }],
        ['vmalloc_sample', { vmlinux: 1 }],
      ],
    );
    const lines = runCli(['consumers', '--tree', tree, '--summary', '--format', 'jsonl', ...syms])
      .stdout.trimEnd()
      .split('\n');
    assert.deepEqual(
      lines,
      counts.map((r) => JSON.stringify(r)),
    );
  });

  it('exports carry the exporting file’s modules in JSON', () => {
    const r = runCli(['exports', '--tree', tree, '--format', 'json', 'drivers/gpu', 'mm/hmm.c']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { exports: { name: string; modules: string[] }[] };
    assert.deepEqual(
      out.exports.map((e) => [e.name, e.modules]),
      [
        ['nouveau_drm_sample', ['drivers/gpu/nouveau/nouveau', 'vmlinux']],
        ['hmm_range_fault', ['vmlinux']],
      ],
    );
  });

  it('is cached, rebuilt when a Makefile or Kconfig file changes, and when its cache is damaged', () => {
    const root = tempDir('kexports-kbuild-');
    cpSync(tree, root, { recursive: true });
    const cache = tempDir('kexports-cache-');
    const module = (): ReturnType<typeof runCli> => runCli(['module', '--tree', root, '--cache-dir', cache, 'drivers/nvmem/core.c']);
    assert.equal(module().stdout.split('\n')[0], 'drivers/nvmem/core.c: built in only (CONFIG_NVMEM, bool)');
    const file = readdirSync(cache).find((f) => f.startsWith('build-'));
    assert.ok(file, 'the model is cached');
    // NVMEM becomes tristate and its core a module of its own
    const kconfig = join(root, 'drivers/Kconfig');
    writeFileSync(kconfig, readFileSync(kconfig, 'utf8').replace('bool "NVMEM Support"', 'tristate "NVMEM Support"'));
    writeFileSync(join(root, 'drivers/nvmem/Makefile'), 'obj-$(CONFIG_NVMEM) += nvmem_core.o\nnvmem_core-y := core.o\nobj-y += layouts.o\n');
    const after = module();
    assert.equal(after.code, 0, after.stderr);
    assert.equal(after.stdout.split('\n')[0], 'drivers/nvmem/core.c: drivers/nvmem/nvmem_core (CONFIG_NVMEM, tristate)');
    // cut short, then one byte of its body changed: each is said, and the model read again
    const bytes = readFileSync(join(cache, file));
    writeFileSync(join(cache, file), bytes.subarray(0, bytes.length - 100));
    const cut = module();
    assert.match(cut.stderr, /build model cache .* is damaged \(\d+ bytes where its header says \d+\); rebuilding it/);
    assert.equal(cut.stdout.split('\n')[0], 'drivers/nvmem/core.c: drivers/nvmem/nvmem_core (CONFIG_NVMEM, tristate)');
    const again = readFileSync(join(cache, file));
    again.writeUInt8(again.readUInt8(again.length - 10) ^ 0x20, again.length - 10);
    writeFileSync(join(cache, file), again);
    const flipped = module();
    assert.match(flipped.stderr, /build model cache .* is damaged \(its CRC-32 does not match\); rebuilding it/);
    assert.equal(flipped.stdout.split('\n')[0], 'drivers/nvmem/core.c: drivers/nvmem/nvmem_core (CONFIG_NVMEM, tristate)');
    // the JSON file of an older kexports: of another format, read again without a word of damage
    writeFileSync(join(cache, file), '{"format": 4, "root": "x"}');
    const old = module();
    assert.match(old.stderr, /build model cache .* is of another format; rebuilding it/);
    assert.doesNotMatch(module().stderr, /build model/, 'rewritten: the next run says nothing of it');
  });

  it('leaves a folder with no Kconfig as it was: no module answers, the path-based findings', () => {
    const r = runCli(['module', '--tree', sampleTree, 'mm/hmm.c']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /has no Kconfig and top Kbuild or Makefile: there is no build to say where files go/);
    const check = runCli(['check', '--tree', sampleTree, '--format', 'json', '--fail-on', 'none']);
    const codes = (JSON.parse(check.stdout) as { findings: JsonFinding[] }).findings.map((f) => f.code);
    assert.ok(codes.includes('SAME_DIR_CONSUMERS'));
    assert.ok(!codes.includes('SAME_MODULE_CONSUMERS') && !codes.includes('BUILTIN_ONLY_CONSUMERS'));
  });
});

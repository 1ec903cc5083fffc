/**
 * Review with the build model: modpost's checks per module, as the series leaves the Makefiles and
 * Kconfig files. The series is made with git over a copy of the build model's sample tree.
 */
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { repoRoot, runCli, tempDir } from '../helpers';
import { commit, edit, git } from '../seriesRepo';

interface JsonFinding {
  code: string;
  patch: number;
  symbol: string;
  file: string;
  line: number;
  message: string;
}

function moduleSeries(): string {
  const repo = tempDir('kexports-review-modules-');
  cpSync(join(repoRoot, 'test/fixtures/kbuild-tree'), repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  commit(repo, 'Linux sample');
  // 1: a module calls a built-in function that is not exported; built-in code calls it too
  edit(
    repo,
    'drivers/gpu/nouveau/nouveau_svm.c',
    '\treturn hmm_range_fault(range) + nouveau_drm_sample(1);\n}\n',
    '\treturn hmm_range_fault(range) + nouveau_drm_sample(1);\n}\n\n/* walk_sample(x) would do, in a comment, and "walk_sample(1)" in a string */\nint nouveau_svm_walk(int x)\n{\n\treturn walk_sample(x) + nouveau_drm_sample(x);\n}\n',
  );
  edit(repo, 'drivers/nvmem/layouts.c', '\treturn nvmem_sample_read(3);', '\treturn nvmem_sample_read(3) + walk_sample(3);');
  commit(repo, 'nouveau: walk from the svm code');
  // 2: a namespaced export
  edit(
    repo,
    'virt/kvm/kvm_core.c',
    'EXPORT_SYMBOL_FOR_MODULES(kvm_sample_op, "kvm-intel");',
    'EXPORT_SYMBOL_FOR_MODULES(kvm_sample_op, "kvm-intel");\n\nint kvm_ns_op(void)\n{\n\treturn 0;\n}\nEXPORT_SYMBOL_NS_GPL(kvm_ns_op, KVM);',
  );
  commit(repo, 'kvm: add kvm_ns_op()');
  // 3: used from nouveau, which imports KVM in another of its files, and from kvm-amd, which does not
  edit(repo, 'drivers/gpu/nouveau/nouveau_svm.c', '\treturn walk_sample(x) + nouveau_drm_sample(x);', '\treturn walk_sample(x) + nouveau_drm_sample(x) + kvm_ns_op();');
  edit(repo, 'drivers/gpu/nouveau/nouveau_drm.c', 'EXPORT_SYMBOL_GPL(nouveau_drm_sample);', 'EXPORT_SYMBOL_GPL(nouveau_drm_sample);\nMODULE_IMPORT_NS(KVM);');
  edit(repo, 'drivers/kvmx/kvm-amd.c', '\treturn kvm_sample_op(1);', '\treturn kvm_sample_op(1) + kvm_ns_op();');
  commit(repo, 'kvm: use kvm_ns_op() from nouveau and kvm-amd');
  // 4: a new module, from a new Kconfig symbol and Makefile line, calls the built-in function
  edit(repo, 'drivers/Kconfig', 'config NVMEM\n\tbool "NVMEM Support"\n', 'config NVMEM\n\tbool "NVMEM Support"\n\nconfig NVMEM_SL28_VPD\n\ttristate "Kontron sl28 VPD layout"\n\tdepends on NVMEM\n');
  edit(repo, 'drivers/nvmem/Makefile', 'obj-y += layouts.o\n', 'obj-y += layouts.o\nobj-$(CONFIG_NVMEM_SL28_VPD) += nvmem-sl28.o\nnvmem-sl28-y := sl28vpd.o\n');
  writeFileSync(join(repo, 'drivers/nvmem/sl28vpd.c'), '// SPDX-License-Identifier: GPL-2.0\nint sl28vpd_parse(int x)\n{\n\treturn walk_sample(x);\n}\n');
  commit(repo, 'nvmem: add the sl28 VPD layout');
  return repo;
}

describe('review with the build model', () => {
  let repo = '';
  before(() => {
    repo = moduleSeries();
  });

  it('names the module modpost would name, counts an import in any file of a module, and leaves built-in code alone', () => {
    const r = runCli(['review', '--tree', repo, '--no-cache', '--format', 'json', 'HEAD~4..HEAD']);
    assert.equal(r.code, 1, r.stderr);
    const findings = (JSON.parse(r.stdout) as { findings: JsonFinding[] }).findings.filter((f) => f.code === 'UNEXPORTED_SYMBOL_USE' || f.code === 'MISSING_NAMESPACE_IMPORT');
    assert.deepEqual(
      findings.map((f) => [f.patch, f.code, f.symbol, `${f.file}:${f.line}`, f.message]),
      [
        // the call, not the comment or the string above it; layouts.c is built in (CONFIG_NVMEM is a bool): no finding
        [
          1,
          'UNEXPORTED_SYMBOL_USE',
          'walk_sample',
          'drivers/gpu/nouveau/nouveau_svm.c:12',
          'modpost: "walk_sample" [drivers/gpu/nouveau/nouveau.ko] undefined!: walk_sample is defined in mm/walk.c:4 (vmlinux) but not exported',
        ],
        // nouveau imports KVM in nouveau_drm.c, which counts for the whole module; kvm-amd does not
        [3, 'MISSING_NAMESPACE_IMPORT', 'kvm_ns_op', 'drivers/kvmx/kvm-amd.c:4', 'modpost: module drivers/kvmx/kvm-amd uses symbol kvm_ns_op from namespace KVM, but does not import it.'],
        // a module the series makes: its Makefile line and Kconfig symbol are the series' own
        [
          4,
          'UNEXPORTED_SYMBOL_USE',
          'walk_sample',
          'drivers/nvmem/sl28vpd.c:4',
          'modpost: "walk_sample" [drivers/nvmem/nvmem-sl28.ko] undefined!: walk_sample is defined in mm/walk.c:4 (vmlinux) but not exported',
        ],
      ],
    );
  });

  it('finds no module for a new file whose Kconfig symbol the series does not add', () => {
    git(repo, 'checkout', '-q', '-b', 'no-kconfig', 'HEAD~1');
    edit(repo, 'drivers/nvmem/Makefile', 'obj-y += layouts.o\n', 'obj-y += layouts.o\nobj-$(CONFIG_NVMEM_NOWHERE) += nowhere.o\n');
    writeFileSync(join(repo, 'drivers/nvmem/nowhere.c'), '// SPDX-License-Identifier: GPL-2.0\nint nowhere_parse(int x)\n{\n\treturn walk_sample(x);\n}\n');
    commit(repo, 'nvmem: a layout no Kconfig offers');
    const r = runCli(['review', '--tree', repo, '--no-cache', '--format', 'json', 'HEAD~1..HEAD']);
    const findings = (JSON.parse(r.stdout) as { findings: JsonFinding[] }).findings;
    // no config can set CONFIG_NVMEM_NOWHERE: modpost never sees nowhere.o
    assert.deepEqual(
      findings.filter((f) => f.code === 'UNEXPORTED_SYMBOL_USE'),
      [],
    );
    git(repo, 'checkout', '-q', 'main');
  });
});

/** A git repository made from the sample tree, tagged v1, with a six-patch series on top. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleTree, tempDir } from './helpers';

export function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: repo,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'A Developer',
      GIT_AUTHOR_EMAIL: 'dev@example.invalid',
      GIT_COMMITTER_NAME: 'A Developer',
      GIT_COMMITTER_EMAIL: 'dev@example.invalid',
      GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
      GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
    },
  });
}

export function edit(repo: string, path: string, from: string, to: string): void {
  const p = join(repo, path);
  const text = readFileSync(p, 'latin1');
  assert.ok(text.includes(from), `${path} holds ${from}`);
  writeFileSync(p, text.replace(from, to), 'latin1');
}

export function commit(repo: string, subject: string): void {
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', subject);
}

/** The sample tree as a git repository, tagged v1, then a six-patch series on top. */
export function seriesRepo(): string {
  const repo = tempDir('kexports-review-');
  cpSync(sampleTree, repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  commit(repo, 'Linux sample');
  git(repo, 'tag', 'v1');
  // 1: a non-GPL export with no user
  edit(
    repo,
    'mm/hmm.c',
    'EXPORT_TRACEPOINT_SYMBOL_GPL(hmm_fault_done);',
    'EXPORT_TRACEPOINT_SYMBOL_GPL(hmm_fault_done);\n\nint hmm_range_dma_unused(struct hmm_range *range)\n{\n\treturn 0;\n}\nEXPORT_SYMBOL(hmm_range_dma_unused);',
  );
  commit(repo, 'mm/hmm: add hmm_range_dma_unused()');
  // 2: an export whose user comes three patches later
  edit(
    repo,
    'mm/migrate_device.c',
    'EXPORT_SYMBOL(migrate_vma_setup);',
    'EXPORT_SYMBOL(migrate_vma_setup);\n\nint migrate_vma_pages_sample(struct migrate_vma *args)\n{\n\treturn 0;\n}\nEXPORT_SYMBOL_GPL(migrate_vma_pages_sample);',
  );
  commit(repo, 'mm/migrate_device: add migrate_vma_pages_sample()');
  // 3: a namespaced export used without MODULE_IMPORT_NS
  writeFileSync(join(repo, 'drivers/cxl/mem_sample.c'), '// SPDX-License-Identifier: GPL-2.0-only\nstatic int cxl_mem_probe(int id)\n{\n\treturn devm_cxl_add_port_sample(id) ? 0 : -19;\n}\n');
  commit(repo, 'cxl/mem: probe ports');
  // 4: a license relaxation
  edit(repo, 'mm/memremap.c', 'EXPORT_SYMBOL_GPL(memunmap_pages);', 'EXPORT_SYMBOL(memunmap_pages);');
  commit(repo, 'mm/memremap: export memunmap_pages() to all modules');
  // 5: the user of patch 2's export
  edit(repo, 'drivers/gpu/drm/vgpu/vgpu_svm.c', 'return migrate_vma_setup(args);', 'return migrate_vma_setup(args) ?: migrate_vma_pages_sample(args);');
  commit(repo, 'drm/vgpu: migrate pages');
  // 6: an export removed while still used
  edit(repo, 'mm/memremap.c', 'EXPORT_SYMBOL(put_devmap_managed_page);\n', '');
  commit(repo, 'mm/memremap: stop exporting put_devmap_managed_page()');
  return repo;
}

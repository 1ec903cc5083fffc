/**
 * A small kernel-like repository with real commits and tags in kernel order, v5.0 … v5.10, whose
 * exports cover each rule 2 verdict. `commits` names every commit made, by a short label.
 *
 *   v5.0   mm/hmm_core.c defines hmm_range_dma_map() (not exported); mm/migrate.c calls it
 *   5.1    export hmm_range_fault (EXPORT_SYMBOL); nouveau uses it (same window)
 *          export hmm_mirror_register, hmm_vma_walk; amdgpu mentions hmm_vma_walk in a comment only
 *   5.2    export hmm_devmem_add, never used; after -rc1, umem_odp uses hmm_mirror_register (next window)
 *   5.3    rename mm/hmm_core.c → mm/hmm.c; hmm_range_fault becomes GPL-only; export hmm_range_dma_map
 *          (its user predates it)
 *   5.4    amdgpu uses hmm_vma_walk (3 windows late)
 *   5.5    mm/migrate.c exports migrate_vma_setup (EXPORT_SYMBOL); nouveau_dmem uses it
 *   5.7    migrate_vma_setup moves to a new mm/migrate_device.c as EXPORT_SYMBOL_GPL (a split, not a rename)
 *   5.9    export hmm_range_snapshot; 5.10: nouveau uses it (next window: v5.10 sorts after v5.9)
 *   after v5.10: export hmm_range_register, not in a release yet
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from './helpers';

export interface HistoryRepo {
  root: string;
  commits: Record<string, string>;
}

let clock = Date.parse('2019-01-07T12:00:00Z') / 1000;

function env(): NodeJS.ProcessEnv {
  const date = `${clock} +0000`;
  return {
    ...process.env,
    GIT_AUTHOR_NAME: 'A Developer',
    GIT_AUTHOR_EMAIL: 'dev@example.invalid',
    GIT_COMMITTER_NAME: 'A Developer',
    GIT_COMMITTER_EMAIL: 'dev@example.invalid',
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  };
}

export function gitIn(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: env() });
}

const HMM_HEAD = `// SPDX-License-Identifier: GPL-2.0-or-later
/* Heterogeneous memory management, a sample written for kexports' tests. */
#include <linux/hmm.h>

int hmm_range_dma_map(struct hmm_range *range)
{
\treturn range ? 0 : -22;
}
`;

export function makeHistoryRepo(): HistoryRepo {
  const root = tempDir('kexports-history-');
  const commits: Record<string, string> = {};
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const append = (path: string, text: string): void => write(path, readFileSync(join(root, path), 'utf8') + text);
  const replace = (path: string, from: string, to: string): void => {
    const t = readFileSync(join(root, path), 'utf8');
    if (!t.includes(from)) throw new Error(`${path} lacks ${from}`);
    write(path, t.replace(from, to));
  };
  const commit = (label: string, subject: string): void => {
    clock += 3 * 86400;
    gitIn(root, 'add', '-A');
    gitIn(root, 'commit', '-q', '-m', subject);
    commits[label] = gitIn(root, 'rev-parse', 'HEAD').trim();
  };
  const tag = (name: string): void => {
    // A release comes about nine weeks after the one before; an -rc a week or so after the last.
    clock += /-rc/.test(name) ? 86400 : 56 * 86400;
    gitIn(root, 'tag', '-a', '-m', `Linux ${name}`, name);
  };
  const fn = (name: string, macro: string): string => `\nint ${name}(struct hmm_range *range)\n{\n\treturn range ? 1 : 0;\n}\n${macro}(${name});\n`;
  const user = (name: string, calls: string[]): string =>
    `// SPDX-License-Identifier: GPL-2.0\n#include <linux/hmm.h>\n\nint ${name}(struct hmm_range *range)\n{\n${calls.map((c) => `\tif (${c}(range))\n\t\treturn 1;\n`).join('')}\treturn 0;\n}\n`;

  gitIn(root, 'init', '-q', '-b', 'master');
  write('Kbuild', 'obj-y += mm/ drivers/\n');
  write('MAINTAINERS', 'HMM - HETEROGENEOUS MEMORY MANAGEMENT\nF:\tmm/hmm*\n');
  write(
    'include/linux/hmm.h',
    '#ifndef _LINUX_HMM_H\n#define _LINUX_HMM_H\nstruct hmm_range;\nint hmm_range_fault(struct hmm_range *range);\nint hmm_range_dma_map(struct hmm_range *range);\n#endif\n',
  );
  write('mm/hmm_core.c', HMM_HEAD);
  write('mm/migrate.c', user('migrate_vma_collect', ['hmm_range_dma_map']));
  commit('initial', 'Linux 5.0 sample');
  tag('v5.0');

  append('mm/hmm_core.c', fn('hmm_range_fault', 'EXPORT_SYMBOL'));
  commit('exportFault', 'mm/hmm: export hmm_range_fault()');
  append('mm/hmm_core.c', fn('hmm_mirror_register', 'EXPORT_SYMBOL_GPL') + fn('hmm_vma_walk', 'EXPORT_SYMBOL_GPL'));
  commit('exportMirror', 'mm/hmm: add hmm_mirror_register() and hmm_vma_walk()');
  write('drivers/gpu/drm/nouveau/nouveau_svm.c', user('nouveau_svm_fault', ['hmm_range_fault']));
  commit('useFault', 'drm/nouveau: fault through hmm_range_fault()');
  write('drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c', '// SPDX-License-Identifier: MIT\n/* TODO: walk with hmm_vma_walk() once it settles. */\nint amdgpu_mn_register(void)\n{\n\treturn 0;\n}\n');
  commit('mentionWalk', 'drm/amdgpu: note a plan');
  tag('v5.1-rc1');
  write('mm/readme.txt', 'fix\n');
  commit('fix51', 'mm: a fix for 5.1-rc2');
  tag('v5.1');

  append('mm/hmm_core.c', fn('hmm_devmem_add', 'EXPORT_SYMBOL_GPL'));
  commit('exportDevmem', 'mm/hmm: add hmm_devmem_add(), for "device" memory <ZONE_DEVICE>');
  tag('v5.2-rc1');
  write('drivers/infiniband/core/umem_odp.c', user('ib_umem_odp_map', ['hmm_mirror_register']));
  commit('useMirror', 'RDMA/odp: register an hmm mirror');
  tag('v5.2-rc2');
  tag('v5.2');

  gitIn(root, 'mv', 'mm/hmm_core.c', 'mm/hmm.c');
  commit('rename', 'mm/hmm: rename hmm_core.c to hmm.c');
  replace('mm/hmm.c', 'EXPORT_SYMBOL(hmm_range_fault);', 'EXPORT_SYMBOL_GPL(hmm_range_fault);');
  commit('gplFault', 'mm/hmm: make hmm_range_fault() GPL-only');
  replace('mm/hmm.c', '\treturn range ? 0 : -22;\n}\n', '\treturn range ? 0 : -22;\n}\nEXPORT_SYMBOL_GPL(hmm_range_dma_map);\n');
  commit('exportDmaMap', 'mm/hmm: export hmm_range_dma_map()');
  tag('v5.3-rc1');
  tag('v5.3');

  write('drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c', user('amdgpu_mn_register', ['hmm_vma_walk']));
  commit('useWalk', 'drm/amdgpu: walk ranges with hmm_vma_walk()');
  tag('v5.4-rc1');
  tag('v5.4');
  const migrate = '\nint migrate_vma_setup(struct hmm_range *range)\n{\n\treturn range ? 0 : -22;\n}\n';
  const extra: Record<number, () => void> = {
    5: () => {
      append('mm/migrate.c', `${migrate}EXPORT_SYMBOL(migrate_vma_setup);\n`);
      commit('exportMigrate', 'mm/migrate: export migrate_vma_setup()');
      write('drivers/gpu/drm/nouveau/nouveau_dmem.c', user('nouveau_dmem_migrate', ['migrate_vma_setup']));
      commit('useMigrate', 'drm/nouveau: migrate device memory');
    },
    7: () => {
      replace('mm/migrate.c', `${migrate}EXPORT_SYMBOL(migrate_vma_setup);\n`, '');
      write('mm/migrate_device.c', `// SPDX-License-Identifier: GPL-2.0\n#include <linux/hmm.h>\n${migrate}EXPORT_SYMBOL_GPL(migrate_vma_setup);\n`);
      commit('moveMigrate', 'mm: split device migration out of migrate.c');
    },
  };
  for (const v of [5, 6, 7, 8]) {
    extra[v]?.();
    write('mm/readme.txt', `release 5.${v}\n`);
    commit(`release5${v}`, `mm: changes for 5.${v}`);
    tag(`v5.${v}-rc1`);
    tag(`v5.${v}`);
  }
  append('mm/hmm.c', fn('hmm_range_snapshot', 'EXPORT_SYMBOL_GPL'));
  commit('exportSnapshot', 'mm/hmm: add hmm_range_snapshot()');
  tag('v5.9-rc1');
  tag('v5.9');
  write('drivers/gpu/drm/nouveau/nouveau_svm.c', user('nouveau_svm_fault', ['hmm_range_fault', 'hmm_range_snapshot']));
  commit('useSnapshot', 'drm/nouveau: snapshot ranges');
  tag('v5.10-rc1');
  tag('v5.10');
  append('mm/hmm.c', fn('hmm_range_register', 'EXPORT_SYMBOL_GPL'));
  commit('exportRegister', 'mm/hmm: add hmm_range_register()');
  return { root, commits };
}

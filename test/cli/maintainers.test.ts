/**
 * `kexports maintainers` on the sample tree's MAINTAINERS, whose answers were checked against
 * linux-6.1's scripts/get_maintainer.pl run over a copy of the sample tree: directory and glob
 * patterns, an X: exclusion, an N: regex, a K: keyword, a reviewer, subscribers-only and moderated
 * lists, .mailmap, and Linus left out of THE REST.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli, sampleTree } from '../helpers';

interface Answer {
  paths: { path: string; people: { email: string; role: string; section: string }[]; lists: { address: string }[]; sections: string[] }[];
  symbols: { name: string; exporter: { people: { email: string }[] }; consumers: { subsystem: string; files: string[]; people: { email: string }[]; lists: { address: string }[] }[] }[];
}

const people = (a: Answer['paths'][number]): string[] => [...a.people.map((p) => p.email), ...a.lists.map((l) => l.address)];

describe('kexports maintainers', () => {
  it('names the people and lists get_maintainer.pl names for a file, most specific first', () => {
    const r = runCli([
      'maintainers',
      '--tree',
      sampleTree,
      '--no-cache',
      '--format',
      'json',
      '--keywords',
      'drivers/gpu/drm/vgpu/vgpu_svm.c',
      'mm/memremap.c',
      'mm/page_walk.c',
      'lib/test_hmm.c',
      'drivers/usb/storage/usb.c',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const a = JSON.parse(r.stdout) as Answer;
    assert.deepEqual(
      a.paths.map((p) => [p.path, ...people(p)]),
      [
        [
          'drivers/gpu/drm/vgpu/vgpu_svm.c',
          'Vgpu Person <vgpu@example.invalid>',
          'Dave Sample <airlied@example.invalid>',
          '"Reviewer Ñame" <review@example.invalid>',
          'Sample Maintainer <hmm@example.invalid>',
          'vgpu@lists.example.invalid',
          'dri-devel@lists.example.invalid',
          'linux-kernel@vger.kernel.org',
          'linux-mm@kvack.org',
        ],
        ['mm/memremap.c', 'Sample Maintainer <hmm@example.invalid>', 'New Name <mm@example.invalid>', 'linux-mm@kvack.org', 'linux-kernel@vger.kernel.org'],
        ['mm/page_walk.c', 'New Name <mm@example.invalid>', 'linux-mm@kvack.org', 'linux-kernel@vger.kernel.org'],
        ['lib/test_hmm.c', 'Sample Maintainer <hmm@example.invalid>', 'linux-kernel@vger.kernel.org', 'linux-mm@kvack.org'],
        ['drivers/usb/storage/usb.c', 'linux-kernel@vger.kernel.org'],
      ],
    );
    assert.deepEqual(a.paths[0]!.sections, ['DRM VGPU DRIVER', 'DRM DRIVERS', 'THE REST', 'HMM - HETEROGENEOUS MEMORY MANAGEMENT']);
    assert.deepEqual(a.paths[0]!.people[2], { email: '"Reviewer Ñame" <review@example.invalid>', role: 'reviewer', section: 'DRM DRIVERS' });
    // S: and T: of the sections that matched, most specific first
    const first = a.paths[0] as unknown as { status: string[]; trees: string[] };
    assert.deepEqual(first.status, ['Maintained', 'Buried alive in reporters']);
    assert.deepEqual(first.trees, ['git https://example.invalid/drm.git']);
  });

  it('leaves K: keywords out unless asked for, and says the roles in text', () => {
    const r = runCli(['maintainers', '--tree', sampleTree, '--no-cache', 'lib/test_hmm.c']);
    assert.equal(r.stdout, 'lib/test_hmm.c\n  linux-kernel@vger.kernel.org (list:THE REST)\n  status: Buried alive in reporters\n');
  });

  it('names an export’s maintainers and its consumers’, by subsystem, and refuses what is neither', () => {
    const r = runCli(['maintainers', '--tree', sampleTree, '--no-cache', '--format', 'json', 'hmm_range_fault', 'no_such_symbol']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'kexports: no_such_symbol: neither a file in the tree nor an exported symbol\n');
    const a = JSON.parse(r.stdout) as Answer & { unknown: string[] };
    assert.deepEqual(a.unknown, ['no_such_symbol']);
    const s = a.symbols[0]!;
    assert.deepEqual(
      s.exporter.people.map((p) => p.email),
      ['Sample Maintainer <hmm@example.invalid>', 'New Name <mm@example.invalid>'],
    );
    assert.deepEqual(
      s.consumers.map((g) => [g.subsystem, g.files.join(' '), g.people.map((p) => p.email).join(', ')]),
      [
        ['THE REST', 'drivers/infiniband/core/odp_umem.c lib/test_hmm.c', ''],
        ['DRM VGPU DRIVER', 'drivers/gpu/drm/vgpu/vgpu_svm.c', 'Vgpu Person <vgpu@example.invalid>, Dave Sample <airlied@example.invalid>, "Reviewer Ñame" <review@example.invalid>'],
      ],
    );
  });
});

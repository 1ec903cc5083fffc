/** Damaged Makefiles that made the build model's evaluation grow without end: it stops, and says where. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildModel } from '../../src/core/build/model';

/** A tree of in-memory files: a top Kbuild that descends into mm/, a Kconfig, and mm/Makefile as given. */
function modelOf(makefile: string) {
  const files = new Map<string, string>([
    ['Kconfig', 'config MMU\n\tbool "mmu"\n'],
    ['Kbuild', 'obj-y += mm/\n'],
    ['mm/Makefile', makefile],
  ]);
  return buildModel({ read: (p) => files.get(p), exists: (p) => files.has(p), arches: [] });
}

describe('Makefiles the model stops reading', () => {
  it('does not include a file in itself, and says so', () => {
    const m = modelOf(`obj-y += a.o\n${'include mm/Makefile\n'.repeat(1000)}`);
    assert.deepEqual(
      m.placements.get('mm/a')?.map((p) => p.module),
      ['vmlinux'],
    );
    const said = m.unknown.filter((u) => u.what.includes('which includes itself'));
    assert.equal(said.length, 1000);
    assert.deepEqual(said[0], { file: 'mm/Makefile', line: 2, what: 'include of mm/Makefile, which includes itself' });
  });

  it('stops expanding past its steps, says so once, and keeps what it read before', () => {
    const m = modelOf(`obj-y := a.o b.o c.o d.o\nmany := x${'$(patsubst %.o,%.c,$(obj-y))'.repeat(300)}\nobj-y += $(many:%=%.o)\n`);
    const said = m.unknown.filter((u) => u.what.startsWith('expansions of more than'));
    assert.equal(said.length, 1, JSON.stringify(m.unknown.slice(0, 3)));
    assert.equal(said[0]!.file, 'mm/Makefile');
    assert.deepEqual(
      m.placements.get('mm/a')?.map((p) => p.module),
      ['vmlinux'],
    );
  });
});

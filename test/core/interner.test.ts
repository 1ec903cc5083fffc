/**
 * The name table after a warm start: restored from a saved state (exactly full, as the mapped cache
 * is), it takes new names without growing the restored arrays, and gives the same ids as a table that
 * was never saved, through a rehash, a save again and a batch large enough for the addon's loop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Interner } from '../../src/core/scan/interner';

const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);

/** A saved state as the cache holds it: copies, exactly as long as the names. */
function saved(t: Interner): Interner {
  const st = t.state();
  return new Interner(0, { table: st.table.slice(), hashes: st.hashes.slice(), starts: st.starts.slice(), lens: st.lens.slice(), arena: st.arena.slice(), size: st.size });
}

function packed(names: string[]): { bytes: Buffer; lens: Uint16Array } {
  return { bytes: Buffer.from(names.join(''), 'latin1'), lens: Uint16Array.from(names, (n) => n.length) };
}

describe('the name table restored from a saved state', () => {
  it('interns new names to the ids a table never saved gives, and finds and names old and new alike', () => {
    fc.assert(
      fc.property(fc.array(name, { maxLength: 300 }), fc.array(name, { maxLength: 300 }), fc.array(name, { maxLength: 50 }), (before, after, last) => {
        const plain = new Interner(4);
        const t0 = new Interner(4);
        for (const n of before) assert.equal(t0.intern(n), plain.intern(n));
        const warm = saved(t0);
        // new names after the restore (the table of 16 slots rehashes on the way)
        for (const n of after) assert.equal(warm.intern(n), plain.intern(n));
        assert.equal(warm.size, plain.size);
        for (let id = 0; id < plain.size; id++) {
          assert.equal(warm.name(id), plain.name(id));
          assert.equal(warm.find(plain.name(id)), id);
        }
        assert.equal(warm.find('not_a_name_here!'), -1);
        // saved again, with the new names in it, and restored once more
        const again = saved(warm);
        for (const n of last) assert.equal(again.intern(n), plain.intern(n));
        for (let id = 0; id < plain.size; id++) assert.equal(again.name(id), plain.name(id));
        // the first table goes on working after its state was taken
        for (const n of last) assert.equal(warm.intern(n), plain.intern(n));
        assert.equal(warm.size, plain.size);
      }),
      { numRuns: 60 },
    );
  });

  it('takes a batch of 70,000 names after new ones went in, with every id as one at a time gives', () => {
    const t0 = new Interner(4);
    const plain = new Interner(4);
    for (let k = 0; k < 1000; k++) assert.equal(t0.intern(`old_${k}`), plain.intern(`old_${k}`));
    const warm = saved(t0);
    for (let k = 0; k < 100; k++) assert.equal(warm.intern(`new_${k}`), plain.intern(`new_${k}`));
    const batch = Array.from({ length: 70_000 }, (_, k) => (k % 7 === 0 ? `old_${k % 1000}` : k % 11 === 0 ? `new_${k % 100}` : `bulk_${k}`));
    const { bytes, lens } = packed(batch);
    assert.deepEqual(
      [...warm.internPacked(bytes, lens)],
      batch.map((n) => plain.intern(n)),
    );
    assert.equal(warm.size, plain.size);
    for (const n of ['old_3', 'new_99', 'bulk_69999', 'after_all']) assert.equal(warm.intern(n), plain.intern(n));
    for (let id = 0; id < plain.size; id += 97) assert.equal(warm.name(id), plain.name(id));
  });
});

/** The CLI's standard output in pieces: the same bytes in the same order, and nothing held back for long. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BufferedOut } from '../../src/cli/output';

describe('standard output in pieces', () => {
  it('writes what it was given, byte for byte and in order, in pieces of at most 1 MiB', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 40 }),
            fc.string({ unit: 'binary', minLength: 2000, maxLength: 12_000 }),
            fc.string({ minLength: 30_000, maxLength: 70_000 }),
            fc.string({ minLength: 300_000, maxLength: 400_000 }),
          ),
          { maxLength: 40 },
        ),
        (texts) => {
          // a sink done with each piece at once (a file: the buffer is filled again), and one that
          // keeps the pieces it was given (a pipe's queue: they must stay as they were)
          for (const done of [true, false]) {
            const pieces: Buffer[] = [];
            const out = new BufferedOut((b) => (pieces.push(done ? Buffer.from(b) : b), done));
            for (const t of texts) out.write(t);
            out.flush();
            assert.equal(Buffer.concat(pieces).toString('utf8'), texts.join(''));
            for (const p of pieces) assert.ok(p.length <= BufferedOut.SIZE || texts.some((t) => Buffer.byteLength(t) === p.length), 'a piece larger than 1 MiB is one large text');
          }
        },
      ),
      { numRuns: 200, endOnFailure: true, examples: [[['a'.repeat(60_000), 'é'.repeat(3000), '→'.repeat(100), '→'.repeat(350_000)]]] },
    );
  });

  it('sends what it holds at the next turn of the event loop, without a flush', async () => {
    const pieces: string[] = [];
    const out = new BufferedOut((b) => void pieces.push(b.toString()));
    out.write('hmm_range_fault: ');
    out.write('4 consumers\n');
    assert.deepEqual(pieces, [], 'held while the turn goes on');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(pieces, ['hmm_range_fault: 4 consumers\n']);
  });
});

/**
 * Every input `npm run fuzz` saved as failing, and the seeds beside them, run again: none may throw,
 * and none may give a wrong answer (scanners that disagree, a review that does not put the index back).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type FuzzTarget, fuzzTargets, runInput } from '../fuzzTargets';
import { repoRoot } from '../helpers';

const dir = join(repoRoot, 'test/fuzz-regressions');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.bin'))
  .sort();

describe('the fuzzer’s saved inputs', () => {
  it('holds cases for each target', () => {
    for (const t of fuzzTargets)
      assert.ok(
        cases.some((c) => c.startsWith(`${t.name}-`)),
        `no case for ${t.name}`,
      );
  });
  for (const name of cases) {
    it(name, async () => {
      const target = name.slice(0, name.indexOf('-')) as FuzzTarget;
      assert.ok(
        fuzzTargets.some((t) => t.name === target),
        `${name}: no target ${target}`,
      );
      assert.equal(await runInput(target, readFileSync(join(dir, name))), undefined);
    });
  }
});

/** `kexports consumers` for tens of thousands of symbols: written as it goes, in memory that does not grow with the answer. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliPath, tempDir } from '../helpers';

const EXPORTS = 20_000;

/** 200 files of 100 exports each, and 50 files that call 2,000 of them each: 100,000 uses. */
function bulkTree(): string {
  const root = tempDir('kexports-bulk-');
  mkdirSync(join(root, 'lib'));
  mkdirSync(join(root, 'drivers'));
  writeFileSync(join(root, 'Kbuild'), '');
  writeFileSync(join(root, 'MAINTAINERS'), '');
  for (let f = 0; f < EXPORTS / 100; f++) {
    let s = '';
    for (let k = 0; k < 100; k++) s += `int sym_${f * 100 + k}(int x)\n{\n\treturn x;\n}\nEXPORT_SYMBOL(sym_${f * 100 + k});\n\n`;
    writeFileSync(join(root, `lib/exp${f}.c`), s);
  }
  for (let d = 0; d < 50; d++) {
    let s = '';
    for (let k = 0; k < 2000; k++) s += `int use_${d}_${k}(void) { return sym_${(d * 2000 + k * 7) % EXPORTS}(${k}); }\n`;
    writeFileSync(join(root, `drivers/use${d}.c`), s);
  }
  return root;
}

/** Which file and line calls each symbol, from the generator's formula; each file once, at its first call, files in path order. */
function expectedUses(): Map<string, string[]> {
  const uses = new Map<string, Map<string, number>>();
  for (let d = 0; d < 50; d++) {
    for (let k = 0; k < 2000; k++) {
      const name = `sym_${(d * 2000 + k * 7) % EXPORTS}`;
      let files = uses.get(name);
      if (!files) uses.set(name, (files = new Map()));
      const file = `drivers/use${d}.c`;
      if (!files.has(file)) files.set(file, k + 1);
    }
  }
  return new Map([...uses].map(([name, files]) => [name, [...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([f, l]) => `${f}:${l}`)]));
}

/** The CLI with its JavaScript heap capped: an answer held whole, as before, does not fit in it. */
function capped(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=64', cliPath, ...args], { env: { ...process.env, XDG_CACHE_HOME: tempDir('kexports-cache-') } });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr }));
    child.stdin.end(input);
  });
}

describe('consumers for many symbols', () => {
  it('streams 20,000 answers, complete and parseable, in a 64 MB heap', { timeout: 300_000 }, async () => {
    const root = bulkTree();
    const names = Array.from({ length: EXPORTS }, (_, n) => `sym_${n}`);
    const json = await capped(['consumers', '--tree', root, '--no-cache', '--format', 'json', '-'], names.join('\n'));
    assert.equal(json.code, 0, json.stderr.slice(0, 500));
    const list = JSON.parse(json.stdout) as { symbol: string; exported: boolean; consumers: { file: string; line: number }[] }[];
    assert.equal(list.length, EXPORTS);
    // every symbol's users, as the generator wrote them, in path order
    const expected = expectedUses();
    for (const r of list)
      assert.deepEqual(
        r.consumers.map((c) => `${c.file}:${c.line}`),
        expected.get(r.symbol),
        r.symbol,
      );
    assert.equal(
      list.reduce((n, r) => n + r.consumers.length, 0),
      100_000,
    );

    const lines = await capped(['consumers', '--tree', root, '--no-cache', '--format', 'jsonl', '-'], names.join('\n'));
    assert.equal(lines.code, 0, lines.stderr.slice(0, 500));
    const records = lines.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { symbol: string; consumers: string[] });
    assert.deepEqual(
      records.map((r) => r.symbol),
      names,
    );
    for (const r of records) assert.deepEqual(r.consumers, expected.get(r.symbol), r.symbol);
  });

  it('gives in JSON Lines the consumers JSON gives, in path order, for one used by thousands of files', { timeout: 120_000 }, async () => {
    // 1,500 files reach wide_sym through a header macro, found in the macro's order (z/ first), and
    // some call it directly: the walk finds them out of path order, and a line of JSON Lines goes out
    // in pieces
    const root = tempDir('kexports-wide-');
    mkdirSync(join(root, 'lib'));
    mkdirSync(join(root, 'include'));
    writeFileSync(join(root, 'Kbuild'), '');
    writeFileSync(join(root, 'lib/wide.c'), 'int wide_sym(int x)\n{\n\treturn x;\n}\nEXPORT_SYMBOL(wide_sym);\n');
    writeFileSync(join(root, 'include/wide.h'), '#define WIDE(x) wide_sym(x)\n');
    for (const dir of ['z', 'a', 'm']) mkdirSync(join(root, dir));
    for (let k = 0; k < 1500; k++) {
      const dir = ['z', 'a', 'm'][k % 3]!;
      const body = k % 7 === 0 ? 'return wide_sym(1);' : 'return WIDE(1);';
      writeFileSync(join(root, `${dir}/f${k}.c`), `#include <wide.h>\nint f${k}(void)\n{\n\t${body}\n}\n`);
    }
    const json = await capped(['consumers', '--tree', root, '--no-cache', '--format', 'json', 'wide_sym'], '');
    const jsonl = await capped(['consumers', '--tree', root, '--no-cache', '--format', 'jsonl', 'wide_sym'], '');
    assert.equal(json.code, 0, json.stderr);
    assert.equal(jsonl.code, 0, jsonl.stderr);
    const full = (JSON.parse(json.stdout) as { consumers: { file: string; line: number }[] }[])[0]!.consumers.map((c) => `${c.file}:${c.line}`);
    const lines = jsonl.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1);
    const record = JSON.parse(lines[0]!) as { symbol: string; consumers: string[]; throughHelpers: string[] };
    assert.equal(full.length, 1500);
    assert.deepEqual(record.consumers, full);
    assert.deepEqual(record.consumers.slice(0, 2), ['a/f1.c:4', 'a/f10.c:4']);
    assert.deepEqual(record.throughHelpers, []);
    // the summary counts what the full answer lists, classes in the order their first file comes
    const sum = await capped(['consumers', '--tree', root, '--no-cache', '--summary', '--format', 'jsonl', 'wide_sym'], '');
    assert.equal(sum.code, 0, sum.stderr);
    const classes = new Map<string, number>();
    for (const c of (JSON.parse(json.stdout) as { consumers: { cls: string }[] }[])[0]!.consumers) classes.set(c.cls, (classes.get(c.cls) ?? 0) + 1);
    const counts = JSON.parse(sum.stdout) as { consumerCount: number; byClass: Record<string, number> };
    assert.equal(counts.consumerCount, 1500);
    assert.deepEqual(Object.entries(counts.byClass), [...classes]);
  });
});

import assert from 'node:assert/strict';
import { decodeName, encodeName, fsPath } from '../../src/core/util/fsName';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildIndex } from '../../src/core/index/index';
import { newScanner, scanBuffer } from '../../src/core/scan/scanFile';
import { sampleTree, writeTree } from '../helpers';

describe('bad input', () => {
  it('skips binary and oversized files with a reason, and never follows symlinks', async () => {
    const root = writeTree({
      'mm/good.c': 'int good(void) { return 0; }\nEXPORT_SYMBOL(good);\n',
      'mm/blob.c': Buffer.concat([Buffer.from('int a;\nint b;\n'), Buffer.from([0, 1, 2]), Buffer.from('EXPORT_SYMBOL(a);\n')]),
      'drivers/gpu/huge_regs.h': `${'#define regX 0x1\n'.repeat(2000)}`,
      'mm/latin1.c': Buffer.from('/* Copyright J\xf6rg */\nint j(void) { return 1; }\nEXPORT_SYMBOL_GPL(j);\n', 'latin1'),
      'mm/broken.c': 'int f(void) {\n/* never closed\nEXPORT_SYMBOL(f);\n',
    });
    mkdirSync(join(root, 'loop'));
    symlinkSync('..', join(root, 'loop/up'));
    symlinkSync(join(root, 'mm/good.c'), join(root, 'mm/alias.c'));
    const index = await buildIndex(root, { maxFileBytes: 20_000 });
    assert.deepEqual(
      index.stats.skipped.map((s) => `${s.path}: ${s.reason}: ${s.detail}`),
      ['drivers/gpu/huge_regs.h: too-large: 34000 bytes, over the 20000-byte limit', 'mm/blob.c: binary: NUL byte at line 3'],
    );
    assert.equal(index.stats.symlinks, 2);
    assert.deepEqual(
      index.exports.map((e) => `${e.file}:${e.line} ${e.name}`),
      ['mm/good.c:2 good', 'mm/latin1.c:3 j'],
    );
  });

  it('indexes a folder that is not a kernel tree', async () => {
    const root = writeTree({ 'a.c': 'int x(void) { return 0; }\nEXPORT_SYMBOL(x);\n', README: 'no C here\n' }, true);
    const index = await buildIndex(root);
    assert.deepEqual(
      index.exports.map((e) => e.name),
      ['x'],
    );
  });

  it('scans arbitrary bytes without throwing, and ends', () => {
    const scanner = newScanner();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom('x.c', 'x.h', 'x.S'), (bytes, path) => {
        const r = scanBuffer(scanner, path, bytes);
        for (const e of r.exports) assert.ok(e.line >= 1 && e.line <= r.lines);
      }),
      { numRuns: 400 },
    );
  });

  it('scans mutated real-looking C without throwing, and keeps line numbers in range', () => {
    const files = ['mm/hmm.c', 'include/linux/mm.h', 'mm/migrate_device.c', 'arch/x86/lib/memcpy_64.S', 'drivers/gpu/drm/vgpu/vgpu_svm.c'];
    const sources = files.map((f) => ({ path: f, bytes: readFileSync(join(sampleTree, f)) }));
    const scanner = newScanner();
    const mutation = fc.record({
      file: fc.nat(sources.length - 1),
      edits: fc.array(
        fc.record({
          at: fc.nat(),
          kind: fc.constantFrom('delete', 'insert', 'truncate'),
          text: fc.constantFrom('{', '}', '(', '"', "'", '/*', '*/', '#if 0\n', '#endif\n', '\\\n', '#define X(a) \\', 'EXPORT_SYMBOL(', '\x00', '\xff'),
        }),
        { maxLength: 8 },
      ),
    });
    fc.assert(
      fc.property(mutation, ({ file, edits }) => {
        const src = sources[file]!;
        let b = Buffer.from(src.bytes);
        for (const e of edits) {
          const at = e.at % (b.length + 1);
          if (e.kind === 'truncate') b = b.subarray(0, at);
          else if (e.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 7))]);
          else b = Buffer.concat([b.subarray(0, at), Buffer.from(e.text, 'latin1'), b.subarray(at)]);
        }
        const r = scanBuffer(scanner, src.path, b);
        const newlines = b.toString('latin1').split('\n').length;
        assert.ok(r.lines <= newlines, `lines ${r.lines} <= ${newlines}`);
        for (const e of r.exports) assert.ok(e.line >= 1 && e.line <= r.lines);
        for (let k = 1; k < r.uses.length; k += 3) assert.ok(r.uses[k]! >= 1 && r.uses[k]! <= r.lines);
      }),
      { numRuns: 300 },
    );
  });

  it('lists the sample tree files it read', () => {
    assert.ok(readdirSync(sampleTree).includes('MAINTAINERS'));
  });
});

describe('file names as bytes', () => {
  it('gives back the same bytes for any name, and plain strings for UTF-8 ones', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const name = decodeName(bytes);
        assert.deepEqual([...encodeName(name)], [...bytes]);
        if (Buffer.from(bytes).toString('utf8') === name) assert.equal(typeof fsPath(name), 'string');
      }),
      { numRuns: 2000 },
    );
    assert.equal(decodeName(Buffer.from([0x66, 0xff, 0x2e, 0x63])), 'f\udcff.c');
    assert.equal(decodeName(Buffer.from('Ärger/ä.c')), 'Ärger/ä.c');
    // a surrogate pair's low half is no escaped byte
    assert.equal(typeof fsPath('mm/\u{10080}.c'), 'string');
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Interner } from '../../src/core/scan/interner';
import { Scanner, scanBuffer } from '../../src/core/scan/scanFile';
import { DEF_CTX, type FileScan } from '../../src/core/scan/scanTypes';
import { WasmScanner } from '../../src/core/scan/wasmScanner';
// @ts-expect-error: a plain ES module of the build, without types
import { sourceHash, STAMP } from '../../scripts/wasm.mjs';
import { readFileSync } from 'node:fs';

const repo = join(__dirname, '..', '..');

describe('the WebAssembly build', () => {
  it('is committed from the sources as they are (its stamp names their hash)', () => {
    assert.equal(readFileSync(STAMP as string, 'utf8').trim(), sourceHash(), 'src/scanner changed: run node scripts/wasm.mjs (clang-14 and wasi-libc) and commit the .wasm with its stamp');
  });

  it('reads files as the addon does: sizes, a file too large, one that is gone, a binary one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kexports-wasm-'));
    try {
      writeFileSync(join(dir, 'a.c'), 'int f(void) { return g(); }\nEXPORT_SYMBOL(f);\n');
      writeFileSync(join(dir, 'big.c'), 'x'.repeat(100));
      writeFileSync(join(dir, 'bin.c'), 'a\nb\0c');
      const batch = new WasmScanner().scan(dir, ['a.c', 'big.c', 'gone.c', 'bin.c'], 50);
      const [a, big, gone, bin] = batch.files;
      assert.equal(a!.size, 46);
      assert.deepEqual(
        a!.scan!.exports.map((e) => [e.macro, e.args, e.line]),
        [['EXPORT_SYMBOL', ['f'], 2]],
      );
      assert.deepEqual(big!.skipped, { path: 'big.c', reason: 'too-large', detail: '100 bytes, over the 50-byte limit' });
      assert.deepEqual(gone!.skipped, { path: 'gone.c', reason: 'unreadable', detail: 'ENOENT' });
      assert.deepEqual(bin!.skipped, { path: 'bin.c', reason: 'binary', detail: 'NUL byte at line 2' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a file larger than its memory was, as the memory grows under the read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kexports-wasm-'));
    try {
      // 48 MB: more than the instance's memory holds before, so that it grows while the file is read
      writeFileSync(join(dir, 'big.c'), 'int x;\n'.repeat(6 << 20) + 'EXPORT_SYMBOL(x);\n');
      const [big] = new WasmScanner().scan(dir, ['big.c'], 64 << 20).files;
      assert.equal(big!.skipped, undefined);
      assert.deepEqual(
        big!.scan!.exports.map((e) => [e.args, e.line]),
        [[['x'], (6 << 20) + 1]],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives names in the caller’s table, across a name table started afresh', () => {
    // a wasm table of 200 names at most: the second scan passes it, the third starts afresh
    const scanner = new Scanner(new Interner(), 200);
    const calls = (s: FileScan) => {
      const out: string[] = [];
      for (let k = 0; k < s.uses.length; k += 3) if (s.uses[k + 2] !== DEF_CTX) out.push(scanner.interner.name(s.uses[k]!));
      return out;
    };
    const many = Array.from({ length: 300 }, (_, k) => `n${k}();`).join('\n');
    assert.deepEqual(calls(scanBuffer(scanner, 'x.c', Buffer.from('void a(void) { alpha(); }\n'))), ['alpha']);
    assert.equal(calls(scanBuffer(scanner, 'y.c', Buffer.from(`void b(void) {\n${many}\nalpha();\n}\n`))).length, 301);
    assert.deepEqual(calls(scanBuffer(scanner, 'z.c', Buffer.from('void c(void) { n299(); beta(); alpha(); }\n'))), ['n299', 'beta', 'alpha']);
    assert.equal(scanner.interner.find('beta') >= 0, true);
  });

  it('runs whole-tree scans when the addon is turned off, and says so', () => {
    const r = spawnSync(process.execPath, [join(repo, 'dist/cli.js'), 'exports', '--tree', join(repo, 'test/fixtures/hmm-tree'), '--no-cache', 'mm/hmm.c'], {
      encoding: 'utf8',
      env: { ...process.env, KEXPORTS_SCANNER: 'wasm' },
    });
    const native = spawnSync(process.execPath, [join(repo, 'dist/cli.js'), 'exports', '--tree', join(repo, 'test/fixtures/hmm-tree'), '--no-cache', 'mm/hmm.c'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /hmm_range_fault/);
    assert.equal(r.stdout, native.stdout);
  });

  it('says so, where single-file scans cannot run, when the build is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kexports-nowasm-'));
    try {
      copyFileSync(join(repo, 'dist/cli.js'), join(dir, 'cli.js'));
      const r = spawnSync(process.execPath, [join(dir, 'cli.js'), '--version'], { encoding: 'utf8', env: { ...process.env, KEXPORTS_SCANNER: 'wasm' } });
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stdout,
        /^whole-tree scans use the WebAssembly scanner, slower: KEXPORTS_SCANNER=wasm; single-file scans cannot run: the scanner's WebAssembly build did not load \(npm run build puts kexports-scanner.wasm in dist\/\): .*kexports-scanner.wasm: ENOENT/m,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

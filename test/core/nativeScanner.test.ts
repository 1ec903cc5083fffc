/**
 * The scanner's two builds, the addon and the wasm, from one source: the same FileScan for every
 * input, names compared as text. CI builds the addon; without it (KEXPORTS_SCANNER=wasm) there is
 * nothing to compare.
 */
import assert from 'node:assert/strict';
import { treeStat } from '../../src/core/util/stamp';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildIndex, KernelIndex } from '../../src/core/index/index';
import { Interner } from '../../src/core/scan/interner';
import { nativeAddon, nativeLoadError, NativeScanner, scanParallel } from '../../src/core/scan/nativeScanner';
import { proxyRecords } from '../../src/core/scan/wire';
import { NameTable, scanFiles } from '../../src/core/scan/scanPool';
import { IdMap } from '../../src/core/scan/idMap';
import { type ScannedFile, newScanner, scanBuffer, scanPath } from '../../src/core/scan/scanFile';
import { sampleTree, tempDir, workerPath } from '../helpers';

const addon = process.env.KEXPORTS_SCANNER === 'wasm' ? undefined : nativeAddon();

/** A native scanner whose wire numbers are read back as names. */
class Native {
  private readonly scanner: NativeScanner;
  private names: string[] = [];

  constructor(nameLimit?: number) {
    this.scanner = new NativeScanner(addon!, nameLimit);
  }

  scan(root: string, paths: string[], keepDefs = false, wrappers?: ReadonlySet<string>): ScannedFile[] {
    const batch = this.scanner.scan(root, paths, 1 << 20, wrappers, keepDefs);
    if (batch.fresh) this.names = [];
    let pos = 0;
    for (const len of batch.nameLens) {
      this.names.push(Buffer.from(batch.names.subarray(pos, pos + len)).toString('latin1'));
      pos += len;
    }
    return batch.files.map((f) => withNames(f, (id) => this.names[id]!));
  }
}

/** A scanned file with its uses as "name:line:ctx" strings, and its proxies as named records. */
function withNames(f: ScannedFile, name: (id: number) => string): ScannedFile & { named?: string[]; proxies?: ReturnType<typeof proxyRecords> } {
  if (!f.scan) return f;
  const named: string[] = [];
  for (let k = 0; k < f.scan.uses.length; k += 3) named.push(`${name(f.scan.uses[k]!)}:${f.scan.uses[k + 1]}:${f.scan.uses[k + 2]}`);
  return { ...f, scan: { ...f.scan, uses: new Uint32Array(0), proxies: new Uint32Array(0) }, named, proxies: proxyRecords(f.scan, name) };
}

function jsScan(root: string, paths: string[], keepDefs = false, wrappers?: ReadonlySet<string>): ScannedFile[] {
  const scanner = newScanner();
  return paths.map((p) => {
    const f = keepDefs ? scanKeepingDefs(scanner, root, p, wrappers) : scanPath(scanner, root, p, 1 << 20, wrappers);
    return withNames(f, (id) => scanner.interner.name(id));
  });
}

function scanKeepingDefs(scanner: ReturnType<typeof newScanner>, root: string, path: string, wrappers?: ReadonlySet<string>): ScannedFile {
  const f = scanPath(scanner, root, path, 1 << 20, wrappers);
  if (!f.scan) return f;
  // scanPath never keeps definitions; the editor's path does, through scanBuffer.
  return { ...f, scan: scanBuffer(scanner, path, readFileSync(join(root, path)), wrappers, true) };
}

function sameScans(root: string, paths: string[], keepDefs = false, wrappers?: ReadonlySet<string>): void {
  const native = new Native().scan(root, paths, keepDefs, wrappers);
  const js = jsScan(root, paths, keepDefs, wrappers);
  for (let k = 0; k < paths.length; k++) assert.deepEqual(native[k], js[k], `${paths[k]} (keepDefs ${keepDefs})`);
}

function filesUnder(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(root, abs));
    else if (/\.(c|h|S)$/.test(e.name)) out.push(relative(root, abs));
  }
  return out.sort();
}

function writeFiles(files: { path: string; bytes: Uint8Array }[]): string {
  const root = tempDir();
  for (const f of files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.bytes);
  }
  return root;
}

/** Pieces of C that reach every path of the scanner: directives, export and wrapper calls, proxies, bad bytes. */
const PIECES = [
  'EXPORT_SYMBOL',
  'EXPORT_SYMBOL_GPL',
  'EXPORT_SYMBOL_NS_GPL',
  'EXPORT_TRACEPOINT_SYMBOL',
  'MODULE_IMPORT_NS',
  'MY_EXPORT',
  'DEFAULT_SYMBOL_NAMESPACE',
  'static',
  'extern',
  'typedef',
  'inline',
  'const',
  'struct',
  'enum',
  'DEFINE_MUTEX',
  'DECLARE_BITMAP',
  'LIST_HEAD',
  'SYM_FUNC_START',
  'ENTRY',
  'GLOBAL',
  'foo',
  'bar',
  'hmm_range_fault',
  'x',
  'y',
  '_z9',
  'int',
  'void',
  '(',
  ')',
  '{',
  '}',
  ';',
  ',',
  '=',
  '==',
  '[',
  ']',
  '*',
  '.',
  '->',
  '-',
  ':',
  '##',
  '#',
  '"str\\"ing"',
  '"',
  "'a'",
  "'\\''",
  "'",
  '/* c */',
  '/*',
  '*/',
  '// line',
  '\\\n',
  '\\\r\n',
  '\r\n',
  '\n',
  '\n',
  '\n',
  ' ',
  ' ',
  '\t',
  '0x1f',
  '1e+5',
  '42UL',
  '\xe9',
  '\xa0',
  '\x85',
  '\xff',
  '\r',
  '\n#define ',
  '\n#define W(s) EXPORT_SYMBOL(s)\n',
  '\n#define DEFAULT_SYMBOL_NAMESPACE "NS" /* x */\n',
  '\n#define DEFAULT_SYMBOL_NAMESPACE CXL\n',
  '\n#define N 0x10 // n\n',
  '\n#define P(a, b) a ## b\n',
  '\n#define Q foo bar\n',
  '\n#if 0\n',
  '\n#if (0)\n',
  '\n#ifdef X\n',
  '\n#else\n',
  '\n#elif 0\n',
  '\n#endif\n',
  '\n#undef W\n',
  '\n#undef DEFAULT_SYMBOL_NAMESPACE\n',
  '\n#include "other.c"\n',
  '\n#include <asm/b.h>\n',
  '\n# 1 "x"\n',
  // export calls printed in string literals (lib/raid6/mktables.c)
  '"EXPORT_SYMBOL(foo);\\n"',
  '"EXPORT_SYMBOL_GPL( bar , x ) ;"',
  '"EXPORT_SYMBOL(',
  '"EXPORT_SYMBOL(x y);"',
  '"EXPORT_SYMBOL(%s);\\n"',
  '"MY_EXPORT(foo);"',
  '"E',
];
const PATHS = ['a.c', 'b.h', 'c.S', 'include/linux/d.h', 'tools/e.h', 'f.c_shipped'];

describe('the native scanner', { skip: process.env.KEXPORTS_SCANNER === 'wasm' ? 'KEXPORTS_SCANNER=wasm' : false }, () => {
  it('was built and loads', () => {
    assert.ok(addon, `the native scanner did not load: ${nativeLoadError()}`);
  });

  it('scans every file of the sample tree as the wasm build does, with and without definitions kept', () => {
    const paths = filesUnder(sampleTree);
    assert.ok(paths.length > 20);
    sameScans(sampleTree, paths);
    sameScans(sampleTree, paths, true);
    sameScans(sampleTree, paths, false, new Set(['HMM_EXPORT', 'EXPORT_SYMBOL']));
  });

  it('scans random C-like pieces as the wasm build does', () => {
    const file = fc.record({ path: fc.constantFrom(...PATHS), pieces: fc.array(fc.constantFrom(...PIECES), { maxLength: 120 }) });
    fc.assert(
      fc.property(fc.array(file, { minLength: 1, maxLength: 6 }), fc.boolean(), (files, keepDefs) => {
        const written = files.map((f, k) => ({ path: `${k}/${f.path}`, bytes: Buffer.from(f.pieces.join(''), 'latin1') }));
        sameScans(
          writeFiles(written),
          written.map((f) => f.path),
          keepDefs,
          new Set(['MY_EXPORT']),
        );
      }),
      { numRuns: 250 },
    );
  });

  it('scans arbitrary bytes as the wasm build does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.constantFrom(...PATHS), (bytes, path) => {
        sameScans(writeFiles([{ path, bytes }]), [path]);
      }),
      { numRuns: 250 },
    );
  });

  it('never takes a large header for define-only (skipped) where the wasm build indexes something in it', () => {
    const line = fc.constantFrom(
      '#define REG_A 0x1f\n',
      '#define REG_I 0xAB\n',
      '#define REG_B (0x20UL)\n',
      '#define REG_C 7 /* c */\n',
      '#define REG_D 7 // d\n',
      '#ifndef G\n',
      '#endif\n',
      '/* c\n',
      ' * x\n',
      '\n',
      '\r\n',
      '#define REG_E 0x\n',
      '#define REG_F foo\n',
      'int x;\n',
      '#define REG_G 1 /* a */ b\n',
      '#ifdefx\n',
      '\tfoo\r\n',
      '#define REG_H\t(12)\t\n',
      // around the plain `#define NAME number` line that the addon takes without searching for its end
      '#define  REG_J 1\n',
      '#define REG_K 1UL \n',
      '#define REG_L 1\r\n',
      '#define 9REG 0x1\n',
      '#define REG_M 0x1g\n',
      '#define REG_N\t42u\n',
      '#define REG_O 0x\n',
      '#define REG_P 12',
      '#define REG_Q 0x7fUL\n',
    );
    const big = (lines: string[]): Buffer => {
      const chunk = lines.join('');
      return Buffer.from(chunk.length ? chunk.repeat(Math.ceil((260 * 1024) / chunk.length)) : '', 'latin1');
    };
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), (lines) => {
        sameScans(writeFiles([{ path: 'include/asic_reg/r.h', bytes: big(lines) }]), ['include/asic_reg/r.h']);
      }),
      { numRuns: 120 },
    );
  });

  it('reports binary, too large and unreadable files as scanPath does, with the disk size and mtime', () => {
    const root = writeFiles([
      { path: 'ok.c', bytes: Buffer.from('int x;\nEXPORT_SYMBOL(x);\n') },
      { path: 'bin.c', bytes: Buffer.from('int a;\n\n\x00b', 'latin1') },
      { path: 'big.h', bytes: Buffer.alloc((1 << 20) + 1, 32) },
      // a path that is not ASCII: the addon opens it by its UTF-8 bytes, as fs does
      { path: 'Ärger/ä.c', bytes: Buffer.from('int y;\nEXPORT_SYMBOL(y);\n') },
    ]);
    mkdirSync(join(root, 'dir.c'));
    const paths = ['ok.c', 'bin.c', 'big.h', 'dir.c', 'gone.c', 'Ärger/ä.c'];
    const native = new Native().scan(root, paths);
    assert.deepEqual(native, jsScan(root, paths));
    assert.deepEqual(
      native.map((f) => f.skipped?.detail),
      [undefined, 'NUL byte at line 3', `${(1 << 20) + 1} bytes, over the ${1 << 20}-byte limit`, 'not a regular file', 'ENOENT', undefined],
    );
    assert.equal(native[0]!.stamp, treeStat(join(root, 'ok.c'), true)!.stamp);
    assert.deepEqual(
      native[5]!.scan?.exports.map((e) => e.args),
      [['y']],
    );
  });

  it('starts a new name table past its limit and says so, so the pool can map the names again', () => {
    const native = new Native(50);
    const paths = filesUnder(sampleTree);
    const first = native.scan(sampleTree, paths);
    const again = native.scan(sampleTree, paths);
    assert.deepEqual(again, first);
    assert.deepEqual(again, jsScan(sampleTree, paths));
  });

  it('interns a large batch of names natively to the same ids as one at a time, and the table goes on working', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);
    fc.assert(
      fc.property(fc.array(name, { minLength: 256, maxLength: 3000 }), fc.array(name, { maxLength: 50 }), (batch, later) => {
        const bytes = Buffer.from(batch.join(''), 'latin1');
        const lens = Uint16Array.from(batch, (n) => n.length);
        const bulk = new Interner(4);
        bulk.intern('already_there');
        const one = new Interner(4);
        one.intern('already_there');
        assert.deepEqual(
          [...bulk.internPacked(bytes, lens)],
          batch.map((n) => one.intern(n)),
        );
        assert.equal(bulk.size, one.size);
        for (const n of [...batch, ...later]) assert.equal(bulk.intern(n), one.intern(n));
        for (let id = 0; id < one.size; id++) {
          assert.equal(bulk.name(id), one.name(id));
          assert.equal(bulk.find(one.name(id)), id);
        }
        // A saved and restored table finds the natively interned names too.
        const restored = new Interner(0, bulk.state());
        for (const n of batch) assert.equal(restored.find(n), one.find(n));
      }),
      { numRuns: 40 },
    );
  });

  it("scans a list on its own threads: every file once, each scanner's batches in order, stopped early on request", async () => {
    const addon = nativeAddon()!;
    const paths = filesUnder(sampleTree);
    const expected = jsScan(sampleTree, paths);
    const seen: ScannedFile[][] = [];
    const firsts: number[][] = [[], [], []];
    const table = new NameTable();
    const maps = [0, 1, 2].map(() => new IdMap(table.interner));
    await scanParallel(addon, { root: sampleTree, paths, maxBytes: 1 << 20, threads: 3, chunkFiles: 2, nameLimit: 8 }, (scanner, first, batch) => {
      firsts[scanner]!.push(first);
      maps[scanner]!.add(batch.names, batch.nameLens, batch.fresh);
      for (const f of batch.files) if (f.scan) maps[scanner]!.translate(f.scan);
      seen[first] = batch.files;
      return true;
    });
    // Each scanner took its chunks in the list's order, and the three took every file once, in
    // chunks of at least two.
    for (const list of firsts)
      assert.deepEqual(
        list,
        [...list].sort((a, b) => a - b),
      );
    let at = 0;
    for (const first of firsts.flat().sort((a, b) => a - b)) {
      assert.equal(first, at);
      assert.ok(seen[first]!.length >= 2 || first + seen[first]!.length === paths.length);
      at += seen[first]!.length;
    }
    assert.equal(at, paths.length);
    // With each scanner's names, new tables past every eighth name included, mapped to one table:
    // the files the wasm build scans.
    assert.deepEqual(
      seen.flat().map((f) => withNames(f, (id) => table.name(id))),
      expected,
    );

    let batches = 0;
    await scanParallel(addon, { root: sampleTree, paths, maxBytes: 1 << 20, threads: 2, chunkFiles: 1 }, () => ++batches < 3);
    assert.ok(batches >= 3 && batches < paths.length, `${batches} batches of ${paths.length}`);

    await assert.rejects(
      scanParallel(addon, { root: sampleTree, paths, maxBytes: 1 << 20, threads: 2, chunkFiles: 1 }, () => {
        throw new Error('mapping failed');
      }),
      /mapping failed/,
    );
  });

  it('stops a scan on its threads when cancelled, with the files scanned so far, in order', async () => {
    const paths = filesUnder(sampleTree);
    const token = { isCancellationRequested: false };
    const progress: number[] = [];
    const out = await scanFiles(paths, new NameTable(), {
      root: sampleTree,
      maxBytes: 1 << 20,
      workers: 1,
      chunkFiles: 1,
      token,
      onProgress: (done) => {
        progress.push(done);
        token.isCancellationRequested = true;
      },
    });
    assert.ok(out.length > 0 && out.length < paths.length, `${out.length} of ${paths.length} files`);
    assert.equal(out.length, progress.at(-1));
    const at = out.map((f) => paths.indexOf(f.path));
    assert.deepEqual(
      at,
      [...at].sort((a, b) => a - b),
    );
    assert.ok(out.every((f) => f.scan || f.skipped));
  });

  it('builds the postings on its own thread as addScanned() does, and refuses uses it did not count', async () => {
    const table = new NameTable();
    const scanned = await scanFiles(filesUnder(sampleTree), table, { root: sampleTree, maxBytes: 1 << 20, workers: 0 });
    const here = new KernelIndex(sampleTree, table);
    here.addScanned(scanned);
    const there = new KernelIndex(sampleTree, table);
    const built = there.addScannedInBackground(scanned);
    // The records are filed at once; the postings come with the promise.
    assert.deepEqual(
      there.files.map((f) => [f.path, f.proxyStart, f.proxyCount]),
      here.files.map((f) => [f.path, f.proxyStart, f.proxyCount]),
    );
    await built;
    for (const key of ['offsets', 'postFile', 'postLine', 'postCtx'] as const) assert.deepEqual([...there.postings[key]], [...here.postings[key]], key);
    assert.ok(
      here.postings.postCtx.some((c) => c > 0 && c !== 0xffffffff),
      'uses inside proxies, numbered globally',
    );

    const fill = (uses: Uint32Array, names: number) =>
      new Promise<string>((resolve) =>
        addon!.fillPostings([uses], new Uint32Array(1), new Uint32Array(names + 1), new Uint16Array(1), new Uint16Array(1), new Uint32Array(1), (e) => resolve(e ? e.message : 'ok')),
      );
    assert.equal(await fill(Uint32Array.of(0, 1, 0), 1), 'ok');
    assert.equal(await fill(Uint32Array.of(5, 1, 0), 1), 'a use of a name past the table');
    assert.equal(await fill(Uint32Array.of(0, 70000, 0), 1), 'a line past 65,535 in 16-bit postings');
    assert.equal(await fill(Uint32Array.of(0, 1, 0, 0, 2, 0), 1), 'uses and postings of different counts');
  });

  it('builds the same index of the sample tree as the wasm build, in-process, on its threads, and in JS workers', async () => {
    const summary = (index: Awaited<ReturnType<typeof buildIndex>>) => ({
      exports: index.exports.map((e) => `${e.name} ${e.type} ${e.namespace ?? ''} ${e.file}:${e.line}`),
      consumers: index.exports.map((e) =>
        index
          .consumers(e)
          .map((c) => `${c.file}:${c.line} ${c.cls} ${JSON.stringify(c.via ?? null)}`)
          .join(' '),
      ),
    });
    const js = summary(await buildIndex(sampleTree, { native: false }));
    assert.deepEqual(summary(await buildIndex(sampleTree, { workers: 0 })), js);
    assert.deepEqual(summary(await buildIndex(sampleTree, { workers: 1, workerScript: workerPath, chunkFiles: 3 })), js);
    assert.deepEqual(summary(await buildIndex(sampleTree, { workers: 1, workerScript: workerPath, chunkFiles: 3, native: false })), js);
  });
});

/**
 * The scanner's two builds, the addon and the wasm, from one source: the same FileScan for every
 * input, names compared as text. CI builds the addon; without it (KEXPORTS_SCANNER=wasm) there is
 * nothing to compare.
 */
import assert from 'node:assert/strict';
import { treeStat } from '../../src/core/util/stamp';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { validateRanges } from '../../src/core/cache/cache';
import { crc32 } from '../../src/core/cache/crc32';
import { walkTree } from '../../src/core/scan/walk';
import { type FileShare, mergeStaleness, staleFiles, statShare } from '../../src/core/cache/freshness';
import { buildIndex, KernelIndex } from '../../src/core/index/index';
import { Interner } from '../../src/core/scan/interner';
import { nativeAddon, nativeLoadError, NativeScanner, scanParallel } from '../../src/core/scan/nativeScanner';
import { proxyRecords } from '../../src/core/scan/wire';
import { NameTable, scanFiles } from '../../src/core/scan/scanPool';
import { IdMap } from '../../src/core/scan/idMap';
import { type ScannedFile, newScanner, scanBuffer, scanPath } from '../../src/core/scan/scanFile';
import { copySampleTree, repoRoot, sampleTree, tempDir, workerPath, writeTree } from '../helpers';

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

  it('stats files and directories as treeStat does (size, change stamp to the nanosecond, links not followed), and -1 for what cannot be stat-ed, on the calling thread or on its own', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'mm'));
    mkdirSync(join(root, 'sealed'));
    writeFileSync(join(root, 'mm/hmm.c'), 'int x;\n');
    writeFileSync(join(root, 'top.h'), '');
    writeFileSync(join(root, 'sealed/inside.c'), 'x');
    mkdirSync(join(root, 'Ärger'));
    writeFileSync(join(root, 'Ärger/ä.c'), 'int x;\n');
    // an mtime with nanoseconds, which the stamp takes whole
    utimesSync(join(root, 'mm/hmm.c'), 1700000000.123456, 1700000000.987654);
    symlinkSync('hmm.c', join(root, 'mm/link.c'));
    symlinkSync('nowhere.c', join(root, 'mm/dangling.c'));
    const paths = ['', 'mm', 'mm/hmm.c', 'mm/link.c', 'mm/dangling.c', 'mm/missing.c', 'gone/x.c', 'top.h', 'mm/hmm.c/not-a-dir.c', 'sealed/inside.c', 'Ärger/ä.c'];
    const expected = (): number[] =>
      paths.flatMap((p) => {
        const st = treeStat(p ? join(root, p) : root, !p);
        return st ? [st.size, st.stamp] : [-1, -1];
      });
    const out = new Float64Array(paths.length * 2);
    addon!.statPaths(root, paths, out);
    assert.deepEqual([...out], expected());
    assert.equal(out[4], 7);
    assert.deepEqual([...out.subarray(6, 14)], [-1, -1, -1, -1, -1, -1, -1, -1], 'a link, a dangling link, a missing file, a missing directory');
    assert.equal(out[21], treeStat(join(root, 'Ärger/ä.c'), true)!.stamp, 'a path that is not ASCII');
    if (process.getuid?.() !== 0) {
      chmodSync(join(root, 'sealed'), 0);
      addon!.statPaths(root, paths, out);
      assert.deepEqual([...out], expected(), 'a directory without search permission');
      chmodSync(join(root, 'sealed'), 0o755);
    }
    assert.throws(() => addon!.statPaths(root, paths, new Float64Array(3)), /statPaths\(root, paths, Float64Array of 2 per path\)/);

    // statList(): the same from a cache's NUL-separated paths, on threads, only where `only` says
    const statList = (bytes: Uint8Array, only: Uint8Array | null, count: number, threads: number): Promise<Float64Array> =>
      new Promise((settle, reject) => {
        const got = new Float64Array(count * 2).fill(7);
        addon!.statList(root, bytes, only, got, threads, (e) => (e ? reject(e) : settle(got)));
      });
    const joined = Buffer.from(paths.join('\0'), 'utf8');
    for (const threads of [1, 2, 3]) assert.deepEqual([...(await statList(joined, null, paths.length, threads))], expected(), `${threads} threads`);
    const only = Uint8Array.from(paths, (_, k) => k % 2);
    assert.deepEqual(
      [...(await statList(joined, only, paths.length, 2))],
      expected().map((v, j) => (only[j >> 1] ? v : 7)),
      'what `only` leaves out stays as it was',
    );
    assert.deepEqual([...(await statList(Buffer.alloc(0), null, 1, 1))], expected().slice(0, 2), 'no bytes as one path: the root');
    assert.deepEqual([...(await statList(Buffer.alloc(0), null, 0, 1))], []);
    await assert.rejects(statList(joined, null, paths.length + 1, 2), /statList: 11 paths for 12 results/);
  });

  it("reads a file's range on libuv's threads and names the first section whose CRC-32 differs", async () => {
    const root = tempDir();
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, k) => (k * 7) & 0xff));
    writeFileSync(join(root, 'cache.idx'), bytes);
    const read = (file: string, at: number, into: ArrayBuffer, sections: number[]): Promise<number> =>
      new Promise((settle, reject) => addon!.readChecked(file, at, new Float64Array(sections), into, (e, bad) => (e ? reject(e) : settle(bad))));
    const into = new ArrayBuffer(4000);
    const part = bytes.subarray(1000);
    const sections = [0, 8, crc32(part.subarray(0, 8)), 8, 3992, crc32(part.subarray(8))];
    assert.equal(await read(join(root, 'cache.idx'), 1000, into, sections), -1);
    assert.deepEqual(Buffer.from(into), part);
    const check = (sections: number[]): Promise<number> => new Promise((settle, reject) => addon!.readChecked(null, 1000, new Float64Array(sections), into, (e, bad) => (e ? reject(e) : settle(bad))));
    assert.equal(await check(sections), -1, 'without a file: the checks of what the buffer holds (a mapping)');
    sections[5] = sections[5]! ^ 1;
    assert.equal(await check(sections), 1);
    assert.equal(await read(join(root, 'cache.idx'), 1000, into, sections), 1, 'the second section');
    assert.equal(await read(join(root, 'cache.idx'), 1000, into, [0, 4001, 0]), 0, 'a section past the buffer fails, never reads past it');
    await assert.rejects(read(join(root, 'cache.idx'), 1001, new ArrayBuffer(4000), []), /^Error: truncated$/);
    await assert.rejects(read(join(root, 'gone.idx'), 0, into, []), /gone\.idx: No such file or directory/);

    // Then the ranges, as checkRanges(): offsets [0, 1], postFile [0] (32-bit), postCtx [0], name slots [-1, 0].
    const arrays = new Uint32Array([0, 1, 0, 0, 0xffffffff, 0]);
    const ranges = (files: number, names: number, tableBytes = 8) => new Float64Array([0, 8, 8, 4, 12, 4, 16, tableBytes, 0, files, 0, names]);
    const checked = (r: Float64Array): Promise<number> =>
      new Promise((settle, reject) => addon!.readChecked(null, 0, new Float64Array([0, 24, crc32(new Uint8Array(arrays.buffer))]), arrays.buffer, (e, bad) => (e ? reject(e) : settle(bad)), r));
    assert.equal(await checked(ranges(1, 1)), -1);
    await assert.rejects(checked(ranges(0, 1)), /^Error: posting out of range$/);
    await assert.rejects(checked(ranges(1, 0)), /^Error: name table out of range$/);
    await assert.rejects(checked(ranges(1, 1, 16)), /^Error: range checks: arrays past the buffer$/);

    // And the names' starts, from their lengths [3, 2] after the arrays above: 5 bytes of names.
    const withLens = new Uint32Array([...arrays, 3 | (2 << 16)]);
    const named = (lens: number[], starts: Uint32Array): Promise<number> =>
      new Promise((settle, reject) =>
        addon!.readChecked(
          null,
          0,
          new Float64Array([0, 28, crc32(new Uint8Array(withLens.buffer))]),
          withLens.buffer,
          (e, bad) => (e ? reject(e) : settle(bad)),
          new Float64Array([...ranges(1, 2), ...lens]),
          starts,
        ),
      );
    const starts = new Uint32Array(2);
    assert.equal(await named([24, 4, 5], starts), -1);
    assert.deepEqual([...starts], [0, 3]);
    await assert.rejects(named([24, 4, 6], new Uint32Array(2)), /^Error: name lengths do not add up to the names$/);
    await assert.rejects(named([24, 2, 3], new Uint32Array(2)), /^Error: name arrays$/, 'one length for two names');
    await assert.rejects(named([26, 4, 5], new Uint32Array(2)), /^Error: name arrays$/, 'lengths past the buffer');
    assert.throws(
      () => addon!.readChecked(null, 0, new Float64Array(), withLens.buffer, () => {}, new Float64Array([...ranges(1, 2), 24, 4, 5])),
      /readChecked\(/,
      'three ranges more need the starts',
    );
  });

  it('maps a file copy-on-write, and reads zeros, counted, past the end of a file cut short under the mapping instead of ending the process', () => {
    const dir = tempDir();
    const script = join(dir, 'map.js');
    const file = join(dir, 'cache.idx');
    // In a process of its own: a SIGBUS that got through would end it, not the test run.
    writeFileSync(
      script,
      `const fs = require('node:fs');
const addon = require(process.argv[2]);
const file = process.argv[3];
const bytes = Buffer.alloc(4 << 16);
for (let i = 0; i < bytes.length; i++) bytes[i] = (i % 251) + 1;
fs.writeFileSync(file, bytes);
const unaligned = addon.mapFile(file, 100, 1000);
const pastEnd = addon.mapFile(file, 1 << 16, 4 << 16);
const view = new Uint8Array(addon.mapFile(file, 1 << 16, 3 << 16));
const before = [view[0], view[(2 << 16) + 5], view[(3 << 16) - 1]];
view[1] = 0;
const faults = addon.mappedFaults();
fs.truncateSync(file, 2 << 16);
const after = [view[0], view[(2 << 16) + 5], view[(3 << 16) - 1]];
console.log(JSON.stringify({ unaligned: unaligned === undefined, pastEnd: pastEnd === undefined, before, after, faults: addon.mappedFaults() - faults, written: view[1], onDisk: fs.readFileSync(file)[(1 << 16) + 1] }));
`,
    );
    const run = spawnSync(process.execPath, [script, join(repoRoot, 'dist/kexports-scanner.node'), file], { encoding: 'utf8' });
    assert.equal(run.signal, null, run.stderr);
    assert.equal(run.status, 0, run.stderr);
    const byte = (at: number) => (at % 251) + 1;
    assert.deepEqual(JSON.parse(run.stdout), {
      unaligned: true,
      pastEnd: true,
      before: [byte(1 << 16), byte((3 << 16) + 5), byte((4 << 16) - 1)],
      after: [byte(1 << 16), 0, 0],
      faults: 2,
      written: 0,
      onDisk: byte((1 << 16) + 1),
    });
  });

  it('walks a tree as walk.ts does: the same files, Makefiles, directories, links and unreadable directories', () => {
    const root = tempDir();
    const files = [
      'mm/hmm.c',
      'mm/hmm.h',
      'mm/Makefile',
      'mm/Kbuild',
      'arch/x86/entry.S',
      'lib/fw.c_shipped',
      'lib/.c',
      'lib/notes.txt',
      'Ärger/ä.c',
      'Zed/z.c',
      'a b/with space.c',
      'nl/new\nline.c',
      '.git/hooks/x.c',
      'node_modules/m/y.c',
      'drivers/.tmp_versions/t.c',
    ];
    for (const f of files) {
      mkdirSync(dirname(join(root, f)), { recursive: true });
      writeFileSync(join(root, f), 'int x;\n');
    }
    // a name that is not UTF-8
    writeFileSync(Buffer.concat([Buffer.from(join(root, 'lib') + '/'), Buffer.from([0x66, 0xff, 0x2e, 0x63])]), '');
    symlinkSync('..', join(root, 'mm/up'));
    symlinkSync('hmm.c', join(root, 'mm/link.c'));
    symlinkSync('nowhere', join(root, 'mm/dangling'));
    const jsWalk = (from?: { from: string[]; known: Set<string> }) => walkTree(root, [], from, false);
    const full = walkTree(root);
    assert.deepEqual(full, jsWalk());
    assert.equal(full.symlinks, 3);
    assert.ok(full.sources.includes('nl/new\nline.c') && full.sources.includes('Ärger/ä.c') && !full.sources.some((p) => p.startsWith('.git/')));
    // A warm start's partial walk: from changed directories (one gone, one a file), not into known ones.
    const part = { from: ['mm', 'gone', 'lib/notes.txt', ''], known: new Set(['arch', 'Zed']) };
    assert.deepEqual(walkTree(root, [], part), jsWalk(part));
    assert.deepEqual(walkTree(root, [], part).unreadableDirs, ['lib/notes.txt', 'gone']);
    assert.deepEqual(walkTree(join(root, 'missing')), walkTree(join(root, 'missing'), [], undefined, false));
  });

  it('finds the same changed, added and deleted files and Makefiles of a tree with the addon and with statSync', () => {
    const root = copySampleTree();
    const all = readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
    const files = all.filter((p) => /\.[chS]$/.test(p));
    const makefiles = all.filter((p) => /(^|\/)(Makefile|Kbuild)$/.test(p));
    const dirs = [...new Set(['', ...files.map((p) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : ''))])];
    const list = {
      dirs: dirs.map((d): [string, number] => [d, treeStat(d ? join(root, d) : root, true)!.stamp]),
      makefiles: makefiles.map((p): [string, number, number] => [p, statSync(join(root, p)).size, treeStat(join(root, p), true)!.stamp]),
      paths: files,
      size: Float64Array.from(files, (p) => statSync(join(root, p)).size),
      stamp: Float64Array.from(files, (p) => treeStat(join(root, p), true)!.stamp),
      alive: new Uint8Array(files.length).fill(1),
    };
    assert.ok(makefiles.includes('drivers/usb/storage/Makefile'), makefiles.join(' '));
    const what = (st: ReturnType<typeof staleFiles>) => st && { changed: st.changed, gone: st.gone, makefiles: st.makefiles };
    const unchanged = staleFiles(root, list, true);
    assert.deepEqual(what(unchanged), { changed: [], gone: [], makefiles: [] });
    assert.deepEqual(unchanged?.dirs, list.dirs, 'the directories as they are now');
    assert.deepEqual(unchanged?.makefileStats, list.makefiles);
    writeFileSync(join(root, 'mm/hmm.c'), `${readFileSync(join(root, 'mm/hmm.c'), 'latin1')}\n`);
    writeFileSync(join(root, 'mm/added.c'), 'int added;\n');
    writeFileSync(join(root, 'mm/Makefile'), 'obj-y += added.o\n');
    writeFileSync(join(root, 'drivers/usb/storage/Makefile'), `${readFileSync(join(root, 'drivers/usb/storage/Makefile'), 'latin1')}# edited\n`);
    rmSync(join(root, 'lib/test_hmm.c'));
    const later = new Date(Date.now() + 5000);
    utimesSync(join(root, 'mm'), later, later);
    const js = staleFiles(root, list, false);
    assert.deepEqual(what(js), { changed: ['mm/added.c', 'mm/hmm.c'], gone: ['lib/test_hmm.c'], makefiles: ['drivers/usb/storage/Makefile', 'mm/Makefile'] });
    assert.deepEqual(js?.makefileStats.map(([p]) => p).sort(), [...makefiles, 'mm/Makefile'].sort());
    assert.equal(js?.dirs.find(([d]) => d === 'mm')?.[1], treeStat(join(root, 'mm'), true)!.stamp, 'the directory as it is now');
    assert.deepEqual(staleFiles(root, list, true), js);
    rmSync(join(root, 'lib'), { recursive: true });
    const noLib = staleFiles(root, list, true);
    assert.deepEqual(what(noLib), what(js), 'a directory gone: its files gone');
    assert.ok(!noLib?.dirs.some(([d]) => d === 'lib'));
    assert.deepEqual(staleFiles(root, list, false), noLib);
    rmSync(root, { recursive: true });
    assert.equal(staleFiles(root, list, true), undefined, 'the tree gone: rebuild');
    assert.equal(staleFiles(root, list, false), undefined);
  });

  for (const native of [true, false]) {
    it(`shares the files' stat pass between two threads, each file stat'ed once (${native ? 'the addon' : 'statSync'})`, async () => {
      const files: Record<string, string> = {};
      for (let k = 0; k < 400; k++) files[`drivers/d${k % 7}/f${k}.c`] = `int f${k};\n`;
      const root = writeTree(files);
      const paths = Object.keys(files).sort();
      const list = {
        paths,
        size: Float64Array.from(paths, (p) => statSync(join(root, p)).size),
        stamp: Float64Array.from(paths, (p) => treeStat(join(root, p), true)!.stamp),
        alive: Uint8Array.from(paths, (_, k) => (k % 50 === 3 ? 0 : 1)),
      };
      // Every live file changed or gone, so that each appears in the share of the thread that stat'ed it.
      paths.forEach((p, k) => (k % 9 === 0 ? rmSync(join(root, p)) : writeFileSync(join(root, p), `long int f${k};\n`)));
      const claim = new SharedArrayBuffer(4);
      const go = new SharedArrayBuffer(4);
      const script = `require('tsx/cjs'); require(${JSON.stringify(join(__dirname, 'statShareWorker.ts'))});`;
      const worker = new Worker(script, { eval: true, workerData: { root, list, claim, go, native } });
      const replies: unknown[] = [];
      const theirs = new Promise<FileShare>((resolve, reject) => {
        worker.on('message', (m) => (replies.push(m), m !== 'ready' && resolve(m as FileShare)));
        worker.on('error', reject);
      });
      await new Promise<void>((r) => worker.once('message', () => r()));
      Atomics.store(new Int32Array(go), 0, 1);
      Atomics.notify(new Int32Array(go), 0);
      const ours = statShare(root, list, new Int32Array(claim), native, 1);
      const other = await theirs;
      await worker.terminate();
      const live = paths.map((_, k) => k).filter((k) => list.alive[k] === 1);
      const seen = [...ours.changed, ...ours.gone, ...other.changed, ...other.gone].sort((a, b) => a - b);
      assert.deepEqual(seen, live, "each live file stat'ed by exactly one thread");
      assert.deepEqual(
        [...ours.gone, ...other.gone].sort((a, b) => a - b),
        live.filter((k) => k % 9 === 0),
      );
      const dirs = { added: ['drivers/new.c'], makefiles: [], dirs: [], makefileStats: [], goneDirs: [] };
      const merged = mergeStaleness(paths, dirs, [ours, other]);
      const alone = staleFiles(root, { ...list, dirs: [], makefiles: [] }, native)!;
      assert.deepEqual(merged.changed, ['drivers/new.c', ...alone.changed], 'the new files first, then the list order');
      assert.deepEqual(merged.gone, alone.gone);
    });
  }

  it("checks a cache's postings and name slots for what is out of range as cache.ts's loop does", () => {
    const outcome = (f: () => void): string => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    };
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.array(fc.nat(40), { maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(12), fc.oneof(fc.nat(12), fc.constant(0xffffffff))), { maxLength: 30 }),
        fc.array(fc.integer({ min: -1, max: 12 }), { minLength: 1, maxLength: 16 }),
        fc.nat(12),
        fc.nat(12),
        fc.nat(12),
        fc.boolean(),
        (offs, posts, slots, fileCount, proxyCount, names, wide) => {
          const arrays = new Map<string, Uint32Array | Uint16Array>([
            ['offsets', Uint32Array.from(offs)],
            ['postFile', wide ? Uint32Array.from(posts, (p) => p[0]) : Uint16Array.from(posts, (p) => p[0])],
            ['postCtx', Uint32Array.from(posts, (p) => p[1])],
          ]);
          const h = { fileCount, proxyCount, names };
          const table = Int32Array.from(slots);
          const js = outcome(() => validateRanges(h, arrays, { table }, false));
          seen.add(js);
          assert.equal(
            outcome(() => validateRanges(h, arrays, { table }, true)),
            js,
          );
        },
      ),
      // A valid set among the random ones, which are seldom all in range (500 runs once found none).
      { numRuns: 500, examples: [[[0, 1, 2], [[0, 0]], [-1, 0], 1, 0, 1, false]] },
    );
    assert.deepEqual([...seen].sort(), ['name table out of range', 'offsets not sorted', 'ok', 'posting out of range']);
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

/**
 * The addon's file and cache glue against the JavaScript it stands in for: stat, the whole-tree walk,
 * the cache's checked reads, its mapping and range checks, and the warm start's freshness. CI builds
 * the addon; without it (KEXPORTS_SCANNER=wasm) there is nothing to compare.
 */
import assert from 'node:assert/strict';
import { treeStat } from '../../src/core/util/stamp';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { validateRanges } from '../../src/core/cache/cache';
import { crc32 } from '../../src/core/cache/crc32';
import { walkTree } from '../../src/core/scan/walk';
import { type FileShare, mergeStaleness, staleFiles, statShare } from '../../src/core/cache/freshness';
import { nativeAddon } from '../../src/core/scan/nativeScanner';
import { copySampleTree, repoRoot, tempDir, writeTree } from '../helpers';

const addon = process.env.KEXPORTS_SCANNER === 'wasm' ? undefined : nativeAddon();

describe("the native scanner's file and cache glue", { skip: process.env.KEXPORTS_SCANNER === 'wasm' ? 'KEXPORTS_SCANNER=wasm' : false }, () => {
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
});

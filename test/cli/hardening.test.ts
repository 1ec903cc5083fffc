/** The CLI under what a stress and security probe sends it: odd diffs, odd git settings, hostile names. */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { cliPath, copySampleTree, repoRoot, runCli, tempDir, writeTree } from '../helpers';
import { edit, git, seriesRepo } from '../seriesRepo';

interface ReviewJson {
  patches: { index: number; subject: string; removed: { name: string }[]; added: { name: string }[] }[];
  findings: { severity: string; code: string; patch: number; symbol: string; file: string; line: number; message: string }[];
  problems: { message: string }[];
}

const rows = (r: ReviewJson): string[] => r.findings.map((f) => `${f.severity} ${f.code} ${f.patch} ${f.symbol} ${f.file}:${f.line}`);

const mail = (subject: string, diff: string): string =>
  `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nDate: Thu, 1 Jan 2026 00:00:00 +0000\nSubject: ${subject}\n\n---\n${diff}-- \n2.39.5\n\n`;

describe('review of deletions and zero-context hunks', () => {
  let repo: string;
  before(() => {
    repo = seriesRepo();
    git(repo, 'checkout', '-q', 'v1');
  });

  it('takes a patch that deletes a file, and reports the export it took away as still used', () => {
    git(repo, 'rm', '-q', 'mm/memremap.c');
    const diff = git(repo, 'diff', '--cached');
    git(repo, 'reset', '-q', '--hard');
    assert.match(diff, /^@@ -1,\d+ \+0,0 @@$/m);
    const file = join(tempDir(), 'delete.patch');
    writeFileSync(file, mail('[PATCH] mm: remove memremap.c', diff));
    const r = runCli(['review', file, '--tree', repo, '--format', 'json']);
    const review = JSON.parse(r.stdout) as ReviewJson;
    assert.deepEqual(review.problems, []);
    assert.equal(rows(review).filter((x) => x.includes('PATCH_DOES_NOT_APPLY')).length, 0, rows(review).join('\n'));
    assert.deepEqual(review.patches[0]!.removed.map((e) => e.name).sort(), ['devmap_managed_key', 'memremap_pages', 'memunmap_pages', 'put_devmap_managed_page']);
    assert.ok(rows(review).includes('error REMOVED_EXPORT_STILL_USED 1 put_devmap_managed_page mm/memremap.c:27'), rows(review).join('\n'));
    assert.equal(r.code, 1);
  });

  it('applies -U0 hunks that insert without context, at the lines they name', () => {
    edit(repo, 'mm/hmm.c', 'EXPORT_TRACEPOINT_SYMBOL_GPL(hmm_fault_done);', 'EXPORT_TRACEPOINT_SYMBOL_GPL(hmm_fault_done);\n\nint hmm_range_u0(void)\n{\n\treturn 0;\n}\nEXPORT_SYMBOL(hmm_range_u0);');
    const diff = git(repo, 'diff', '-U0');
    git(repo, 'checkout', '-q', '--', 'mm/hmm.c');
    assert.match(diff, /^@@ -\d+,0 \+\d+,6 @@/m);
    const file = join(tempDir(), 'u0.patch');
    writeFileSync(file, mail('[PATCH] mm/hmm: add hmm_range_u0()', diff));
    const review = JSON.parse(runCli(['review', file, '--tree', repo, '--format', 'json']).stdout) as ReviewJson;
    assert.deepEqual(review.problems, []);
    assert.deepEqual(
      review.patches[0]!.added.map((e) => e.name),
      ['hmm_range_u0'],
    );
    assert.ok(rows(review).includes('warning NOT_GPL_ONLY 1 hmm_range_u0 mm/hmm.c:65'), rows(review).join('\n'));
  });
});

describe('review under a user git configuration that changes diff output', () => {
  let repo: string;
  let env: Record<string, string>;
  let marker: string;
  before(() => {
    repo = seriesRepo();
    const home = tempDir('kexports-home-');
    marker = join(home, 'external-diff-ran');
    const ext = join(home, 'extdiff.sh');
    writeFileSync(ext, `#!/bin/sh\ntouch '${marker}'\necho "external diff"\n`);
    chmodSync(ext, 0o755);
    const config = join(home, '.gitconfig');
    writeFileSync(
      config,
      `[diff]\n\tnoprefix = true\n\tmnemonicPrefix = true\n\tcontext = 0\n\tsuppressBlankEmpty = true\n\texternal = ${ext}\n[color]\n\tui = always\n[format]\n\tsubjectPrefix = RFC\n\tsignature = sig\n\tnumbered = false\n`,
    );
    env = { HOME: home, GIT_CONFIG_GLOBAL: config };
  });

  it('reviews a range with the same findings as under git defaults', () => {
    const plain = JSON.parse(runCli(['review', 'v1..HEAD', '--format', 'json'], { cwd: repo }).stdout) as ReviewJson;
    const r = runCli(['review', 'v1..HEAD', '--format', 'json'], { cwd: repo, env });
    assert.equal(r.code, 1, r.stderr);
    const odd = JSON.parse(r.stdout) as ReviewJson;
    assert.deepEqual(odd.problems, []);
    assert.equal(odd.findings.length, 8);
    assert.deepEqual(rows(odd), rows(plain));
    assert.deepEqual(
      odd.patches.map((p) => p.subject),
      plain.patches.map((p) => p.subject),
    );
  });

  it('reviews uncommitted work, and never runs the external diff program', () => {
    edit(repo, 'mm/page_walk.c', 'EXPORT_SYMBOL_GPL(walk_page_range_sample);', 'EXPORT_SYMBOL(walk_page_range_sample);');
    try {
      const r = runCli(['review', '--uncommitted', '--format', 'json'], { cwd: repo, env });
      const review = JSON.parse(r.stdout) as ReviewJson;
      assert.deepEqual(rows(review), ['warning LICENSE_RELAXED 1 walk_page_range_sample mm/page_walk.c:10']);
      assert.equal(r.code, 1);
    } finally {
      git(repo, 'checkout', '--', 'mm/page_walk.c');
    }
    assert.equal(existsSync(marker), false, 'diff.external ran');
  });

  it('takes a ref that starts with a dash as a ref, not an option', () => {
    const out = join(tempDir(), 'written');
    for (const range of [`--output=${out}..HEAD`, `HEAD~1..--output=${out}`, `--output=${out}...HEAD`]) {
      const r = runCli(['review', '--', range], { cwd: repo, env });
      assert.equal(r.code, 2, range);
      assert.match(r.stderr, /^kexports: git (rev-parse|merge-base) .* failed: /, range);
    }
    assert.equal(existsSync(out), false, 'git took a ref for --output');
  });
});

describe('review of mail that names paths outside the tree', () => {
  it('refuses a patch whose paths climb out with .., naming the patch, and reads nothing there', () => {
    const root = copySampleTree();
    const outside = join(root, '..', 'kexports-outside.c');
    writeFileSync(outside, 'int outside(void) { return 0; }\nEXPORT_SYMBOL(outside);\n');
    const diff =
      'diff --git a/../kexports-outside.c b/../kexports-outside.c\n--- a/../kexports-outside.c\n+++ b/../kexports-outside.c\n@@ -1,2 +1,2 @@\n int outside(void) { return 0; }\n-EXPORT_SYMBOL(outside);\n+EXPORT_SYMBOL_GPL(outside);\n';
    const file = join(tempDir(), 'climb.patch');
    writeFileSync(file, mail('[PATCH] climb out', diff));
    const r = runCli(['review', file, '--tree', root, '--format', 'json']);
    const review = JSON.parse(r.stdout) as ReviewJson;
    assert.deepEqual(rows(review), ['error PATCH_DOES_NOT_APPLY 1  ../kexports-outside.c:0']);
    assert.match(review.findings[0]!.message, /climbs out of the tree with \.\./);
    assert.match(r.stderr, /patch 1\/1 "climb out": .*climbs out of the tree/);
    assert.equal(r.code, 1);
  });
});

describe('text output of hostile subjects and names', () => {
  it('escapes terminal control characters and newlines from a subject in text and reply output', () => {
    const root = copySampleTree();
    const diff = 'diff --git a/mm/memremap.c b/mm/memremap.c\n--- a/mm/memremap.c\n+++ b/mm/memremap.c\n@@ -21 +21 @@\n-EXPORT_SYMBOL_GPL(memunmap_pages);\n+EXPORT_SYMBOL(memunmap_pages);\n';
    const file = join(tempDir(), 'esc.patch');
    // an encoded-word subject can carry any byte once decoded
    const subject = `=?utf-8?b?${Buffer.from('mm: relax \u001b]0;pwned\u0007\u001b[2J\r\nFake: header').toString('base64')}?=`;
    writeFileSync(
      file,
      mail(`[PATCH] ${subject}`, diff).replace('From: A <a@example.invalid>', `From: =?utf-8?b?${Buffer.from('Evil \u001b[31mRed\u001b[0m').toString('base64')}?= <e@example.invalid>`),
    );
    for (const format of ['text', 'reply']) {
      const r = runCli(['review', file, '--tree', root, '--format', format]);
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stdout, /[\u0000-\u0008\u000b-\u001f\u007f]/, `${format} output holds control characters`);
      assert.match(r.stdout, /mm: relax \\x1b\]0;pwned\\x07\\x1b\[2J\\r\\nFake: header/, format);
    }
  });
});

/** Runs the CLI with a deadline: a run that waits on a FIFO is killed, and says so, instead of hanging the suite. */
function runBounded(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): { code: number | null; stdout: string; stderr: string; killed: boolean } {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: opts.cwd ?? repoRoot,
    encoding: 'utf8',
    timeout: 30_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, killed: r.signal === 'SIGKILL' };
}

const exportNames = (stdout: string): string[] => (JSON.parse(stdout) as { exports: { name: string; file: string }[] }).exports.map((e) => `${e.file} ${e.name}`);

describe('FIFOs, devices and links where files belong', () => {
  it('drops a cached source file that became a FIFO or a link to /dev/zero, as a cold start never indexes one', () => {
    for (const make of [(p: string) => execFileSync('mkfifo', [p]), (p: string) => symlinkSync('/dev/zero', p)]) {
      const root = copySampleTree();
      const env = { XDG_CACHE_HOME: tempDir('kexports-cache-') };
      const first = runBounded(['exports', '--tree', root, '--format', 'json'], { env });
      assert.equal(first.code, 0, first.stderr);
      assert.ok(exportNames(first.stdout).includes('mm/hmm.c hmm_range_fault'));
      rmSync(join(root, 'mm/hmm.c'));
      make(join(root, 'mm/hmm.c'));
      const warm = runBounded(['exports', '--tree', root, '--format', 'json'], { env });
      assert.equal(warm.killed, false, 'the warm start waited on the FIFO');
      assert.equal(warm.code, 0, warm.stderr);
      const cold = runBounded(['exports', '--tree', root, '--format', 'json', '--no-cache']);
      assert.equal(cold.code, 0, cold.stderr);
      assert.deepEqual(exportNames(warm.stdout), exportNames(cold.stdout));
      assert.ok(!exportNames(warm.stdout).some((e) => e.startsWith('mm/hmm.c ')));
    }
  });

  it('rebuilds a cache file that is a FIFO, and refuses a FIFO as the settings file or as mail', () => {
    const root = copySampleTree();
    const cacheHome = tempDir('kexports-cache-');
    const first = runBounded(['check', '--tree', root, '--fail-on', 'none'], { env: { XDG_CACHE_HOME: cacheHome } });
    assert.equal(first.code, 0, first.stderr);
    const dir = join(cacheHome, 'kexports');
    const idx = readdirSync(dir).find((f) => f.endsWith('.idx'))!;
    rmSync(join(dir, idx));
    execFileSync('mkfifo', [join(dir, idx)]);
    const warm = runBounded(['check', '--tree', root, '--fail-on', 'none'], { env: { XDG_CACHE_HOME: cacheHome } });
    assert.equal(warm.killed, false, 'the warm start waited on the cache FIFO');
    assert.equal(warm.code, 0, warm.stderr);
    assert.equal(warm.stdout, first.stdout);

    execFileSync('mkfifo', [join(root, '.kexports.json')]);
    const conf = runBounded(['check', '--tree', root, '--fail-on', 'none', '--no-cache']);
    assert.equal(conf.killed, false, 'the settings FIFO was waited on');
    assert.match(conf.stderr, /kexports: .*\.kexports\.json: a FIFO, not a regular file; using the default settings/);
    const fifo = join(tempDir(), 'conf.json');
    execFileSync('mkfifo', [fifo]);
    const given = runBounded(['check', '--tree', root, '--fail-on', 'none', '--no-cache', '--config', fifo]);
    assert.equal(given.killed, false);
    assert.match(given.stderr, /conf\.json: a FIFO, not a regular file; using the default settings/);

    const mbox = join(tempDir(), 'series.mbox');
    execFileSync('mkfifo', [mbox]);
    const r = runBounded(['review', '--tree', root, '--no-cache', mbox]);
    assert.equal(r.killed, false, 'review waited on the FIFO');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /series\.mbox: a FIFO, not a regular file/);
  });

  it('refuses a device as mail without reading it', () => {
    const r = runBounded(['review', '--tree', copySampleTree(), '--no-cache', '/dev/zero']);
    assert.equal(r.killed, false);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'kexports: /dev/zero: a device, not a regular file\n');
  });
});

describe('warm starts that see what cold starts see', () => {
  const bothWays = (root: string, env: Record<string, string>): void => {
    const warm = runBounded(['exports', '--tree', root, '--format', 'json'], { env });
    const cold = runBounded(['exports', '--tree', root, '--format', 'json', '--no-cache']);
    assert.equal(warm.code, 0, warm.stderr);
    assert.deepEqual(exportNames(warm.stdout), exportNames(cold.stdout));
  };

  it('follows no link that replaced a cached file or directory', () => {
    const root = copySampleTree();
    const env = { XDG_CACHE_HOME: tempDir('kexports-cache-') };
    assert.equal(runBounded(['exports', '--tree', root], { env }).code, 0);
    // elsewhere, more exports under the same names
    const other = tempDir();
    mkdirSync(join(other, 'storage'));
    const many = Array.from({ length: 30 }, (_, k) => `int far_${k}(void) { return ${k}; }\nEXPORT_SYMBOL(far_${k});\n`).join('');
    writeFileSync(join(other, 'hmm.c'), many);
    writeFileSync(join(other, 'storage/usb.c'), many.replace(/far_/g, 'usb_far_'));
    rmSync(join(root, 'mm/hmm.c'));
    symlinkSync(join(other, 'hmm.c'), join(root, 'mm/hmm.c'));
    rmSync(join(root, 'drivers/usb/storage'), { recursive: true });
    symlinkSync(join(other, 'storage'), join(root, 'drivers/usb/storage'));
    bothWays(root, env);
    const names = exportNames(runBounded(['exports', '--tree', root, '--format', 'json'], { env }).stdout);
    assert.ok(!names.some((n) => / (usb_)?far_/.test(n)), names.join('\n'));
  });

  it('reads again a same-size edit whose mtime was put back, or moved by a nanosecond', () => {
    const root = copySampleTree();
    const env = { XDG_CACHE_HOME: tempDir('kexports-cache-') };
    assert.equal(runBounded(['exports', '--tree', root], { env }).code, 0);
    const hmm = join(root, 'mm/hmm.c');
    const size = statSync(hmm).size;
    const stamp = execFileSync('stat', ['-c', '%.9Y', hmm], { encoding: 'utf8' }).trim();
    const names = (): string[] => exportNames(runBounded(['exports', '--tree', root, '--format', 'json'], { env }).stdout);
    // the same size: one letter of the exported name changes, and the mtime is put back
    edit(root, 'mm/hmm.c', 'EXPORT_SYMBOL(hmm_range_fault);', 'EXPORT_SYMBOL(hmm_range_fauly);');
    execFileSync('touch', ['-m', '-d', `@${stamp}`, hmm]);
    assert.equal(statSync(hmm).size, size);
    assert.ok(names().includes('mm/hmm.c hmm_range_fauly'), 'served stale with the mtime put back');
    bothWays(root, env);
    // and back, with the mtime 1 ns later than it was
    edit(root, 'mm/hmm.c', 'EXPORT_SYMBOL(hmm_range_fauly);', 'EXPORT_SYMBOL(hmm_range_fault);');
    const [sec, ns] = stamp.split('.') as [string, string];
    execFileSync('touch', ['-m', '-d', `@${sec}.${String(Number(ns) + 1).padStart(9, '0')}`, hmm]);
    assert.equal(execFileSync('stat', ['-c', '%.9Y', hmm], { encoding: 'utf8' }).trim(), `${sec}.${String(Number(ns) + 1).padStart(9, '0')}`);
    assert.ok(names().includes('mm/hmm.c hmm_range_fault'), 'served stale with the mtime moved by 1 ns');
    bothWays(root, env);
  });
});

describe('mail with CRLF line ends', () => {
  it('reports the same findings and line numbers as the LF mail', () => {
    const repo = seriesRepo();
    const lf = git(repo, 'format-patch', '--stdout', 'v1..HEAD');
    git(repo, 'checkout', '-q', 'v1');
    // patch 4 no longer applies: its context changed under it
    edit(repo, 'mm/memremap.c', 'EXPORT_SYMBOL_GPL(memunmap_pages);', 'EXPORT_SYMBOL_GPL(memunmap_pages); /* changed */');
    const dir = tempDir();
    writeFileSync(join(dir, 'lf.mbox'), lf);
    writeFileSync(join(dir, 'crlf.mbox'), lf.replace(/\n/g, '\r\n'));
    const a = runCli(['review', join(dir, 'lf.mbox'), '--tree', repo, '--format', 'json', '--no-cache']);
    const b = runCli(['review', join(dir, 'crlf.mbox'), '--tree', repo, '--format', 'json', '--no-cache']);
    assert.match(a.stderr, /lf\.mbox:\d+: patch 4\/6/);
    assert.equal(b.stderr, a.stderr.replace(/lf\.mbox/g, 'crlf.mbox'));
    const line = Number(/lf\.mbox:(\d+):/.exec(a.stderr)![1]);
    assert.match(lf.split('\n')[line - 1]!, /^diff --git a\/mm\/memremap\.c/, 'the line named is the diff of patch 4');
    assert.deepEqual(rows(JSON.parse(b.stdout) as ReviewJson), rows(JSON.parse(a.stdout) as ReviewJson));
  });
});

describe('a warm refresh against a cold build', () => {
  it('gives the same skip report and the same consumer order', () => {
    const root = copySampleTree();
    const env = { XDG_CACHE_HOME: tempDir('kexports-cache-') };
    writeFileSync(join(root, 'mm/bin.c'), Buffer.from('int a;\0\n'));
    assert.equal(runBounded(['check', '--tree', root, '--fail-on', 'none'], { env }).code, 0);
    // a new binary file that sorts first, an edit that makes a file binary, a file become a directory, a FIFO
    writeFileSync(join(root, 'arch/a.c'), Buffer.from('int b;\0\n'));
    writeFileSync(join(root, 'lib/test_hmm.c'), Buffer.concat([readFileSync(join(root, 'lib/test_hmm.c')), Buffer.from('\0')]));
    rmSync(join(root, 'mm/page_walk.c'));
    mkdirSync(join(root, 'mm/page_walk.c'));
    execFileSync('mkfifo', [join(root, 'mm/fifo.c')]);
    // an edit that moves a consumer's postings to the end of the index
    writeFileSync(join(root, 'drivers/gpu/drm/vgpu/vgpu_svm.c'), `${readFileSync(join(root, 'drivers/gpu/drm/vgpu/vgpu_svm.c'), 'latin1')}// edited\n`);
    const args = ['consumers', '--tree', root, '--format', 'json', 'hmm_range_fault', 'migrate_vma_setup'];
    const warm = runBounded(args, { env });
    const cold = runBounded([...args, '--no-cache']);
    assert.equal(warm.code, 0, warm.stderr);
    assert.equal(warm.stderr.replace(/^kexports: cache refreshed: .*\n/m, ''), cold.stderr);
    assert.match(cold.stderr, /skipped 3 files \(3 binary\)/);
    assert.equal(warm.stdout, cold.stdout);
    const files = (JSON.parse(warm.stdout) as { consumers: { file: string }[] }[])[0]!.consumers.map((c) => c.file);
    assert.deepEqual(files, [...files].sort());
  });
});

describe('command-line values that are wrong', () => {
  it('refuses a tree that does not exist, and sizes and counts that are no numbers, with exit 2', () => {
    const missing = runCli(['check', '--tree', '/does-not-exist']);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, 'kexports: --tree /does-not-exist: no such directory\n');
    const file = join(tempDir(), 'plain.c');
    writeFileSync(file, 'int x;\n');
    assert.equal(runCli(['check', '--tree', file]).stderr, `kexports: --tree ${file}: not a directory\n`);
    for (const [flag, value, want] of [
      ['--max-file-bytes', 'abc', 'expected a size in bytes, such as 67108864 or 64M'],
      ['--max-file-bytes', '0', 'expected a size in bytes, such as 67108864 or 64M'],
      ['--workers', 'two', 'expected a whole number'],
      ['--workers', '-1', 'expected a whole number'],
    ] as const) {
      const r = runCli(['check', '--tree', copySampleTree(), '--no-cache', `${flag}=${value}`]);
      assert.equal(r.code, 2, `${flag} ${value}`);
      assert.match(r.stderr, new RegExp(`^kexports: ${flag} ${value}: ${want}\\n`), `${flag} ${value}`);
    }
    const small = runCli(['check', '--tree', copySampleTree(), '--no-cache', '--max-file-bytes', '1K', '--fail-on', 'none']);
    assert.equal(small.code, 0, small.stderr);
    assert.match(small.stderr, /: too-large: \d+ bytes, over the 1024-byte limit/);
  });

  it('leaves no temporary file behind when a directory stands where the cache file goes', () => {
    const root = copySampleTree();
    const cacheDir = tempDir('kexports-cache-');
    assert.equal(runCli(['check', '--tree', root, '--cache-dir', cacheDir, '--fail-on', 'none']).code, 0);
    const idx = readdirSync(cacheDir).find((f) => f.endsWith('.idx'))!;
    rmSync(join(cacheDir, idx));
    mkdirSync(join(cacheDir, idx));
    for (let run = 0; run < 2; run++) {
      const r = runCli(['check', '--tree', root, '--cache-dir', cacheDir, '--fail-on', 'none']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /could not write the cache .*\.idx: .*\.idx is a directory, not a cache file; remove it, or give --cache-dir/);
    }
    assert.deepEqual(readdirSync(cacheDir), [idx]);
  });
});

describe('a cold index killed while it writes its cache', () => {
  it('leaves answers that equal a run without cache, and no temporary file for long', async () => {
    // enough files that the cache write (and its fsync) takes a while to catch
    const files: Record<string, string> = { Kbuild: '', MAINTAINERS: '' };
    for (let d = 0; d < 40; d++) {
      for (let f = 0; f < 60; f++) {
        const name = `d${d}_f${f}`;
        files[`drivers/d${d}/f${f}.c`] = `int ${name}(void) { return ${f}; }\nEXPORT_SYMBOL_GPL(${name});\nint use_${name}(void) { return d${(d + 1) % 40}_f${f}(); }\n`;
      }
    }
    const root = writeTree(files);
    const cacheHome = tempDir('kexports-cache-');
    const cacheDir = join(cacheHome, 'kexports');
    mkdirSync(cacheDir, { recursive: true });
    let caught = 0;
    for (let attempt = 0; attempt < 8 && caught === 0; attempt++) {
      const child = spawn(process.execPath, [cliPath, 'exports', '--tree', root, '--format', 'json'], { env: { ...process.env, XDG_CACHE_HOME: cacheHome }, stdio: 'ignore' });
      const watcher = watch(cacheDir, (_event, name) => {
        if (!name?.endsWith('.tmp')) return;
        // frozen at once, then killed: the temporary file is there, written in part
        child.kill('SIGSTOP');
        if (readdirSync(cacheDir).some((f) => f.endsWith('.tmp'))) caught++;
        child.kill('SIGKILL');
      });
      await new Promise((resolve) => child.on('exit', resolve));
      watcher.close();
      if (!caught) {
        rmSync(cacheDir, { recursive: true, force: true });
        mkdirSync(cacheDir);
      }
    }
    assert.ok(caught > 0, 'never caught the cache write under way');
    assert.ok(
      readdirSync(cacheDir).some((f) => f.endsWith('.tmp')),
      'the killed write left its temporary file',
    );
    const cold = runBounded(['exports', '--tree', root, '--format', 'json', '--no-cache']);
    for (let run = 0; run < 2; run++) {
      const again = runBounded(['exports', '--tree', root, '--format', 'json'], { env: { XDG_CACHE_HOME: cacheHome } });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, cold.stdout, run === 0 ? 'the run after the kill' : 'the warm run after it');
    }
    assert.deepEqual(
      readdirSync(cacheDir).filter((f) => f.endsWith('.tmp')),
      [],
      'the dead writer’s temporary file was removed',
    );
    assert.equal(JSON.parse(cold.stdout).exports.length, 2400);
  });
});

describe('a file name that is not UTF-8', () => {
  it('keeps its exports, cold, warm after an edit, and with either scanner, and is shown with the byte escaped', () => {
    const root = copySampleTree();
    const name = Buffer.concat([Buffer.from(`${root}/mm/f`), Buffer.from([0xff]), Buffer.from('.c')]);
    writeFileSync(name, 'int fx(void) { return 0; }\nEXPORT_SYMBOL_GPL(fx);\n');
    const env = { XDG_CACHE_HOME: tempDir('kexports-cache-') };
    const text = (extra: string[] = [], e: Record<string, string> = env): string => {
      const r = runBounded(['exports', '--tree', root, 'mm', ...extra], { env: e });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /unreadable/);
      return r.stdout;
    };
    assert.match(text(), /^mm\/f\\xff\.c:2: fx {2}EXPORT_SYMBOL_GPL {2}GPL-only$/m);
    writeFileSync(name, 'int fx(void) { return 0; }\nEXPORT_SYMBOL(fx);\nEXPORT_SYMBOL(fy);\n');
    const warm = text();
    assert.match(warm, /^mm\/f\\xff\.c:3: fy {2}EXPORT_SYMBOL {2}any license$/m);
    assert.equal(text(['--no-cache'], { KEXPORTS_SCANNER: 'wasm' }), warm);
    const json = JSON.parse(runBounded(['exports', '--tree', root, '--format', 'json', 'mm'], { env }).stdout) as { exports: { name: string; file: string }[] };
    assert.equal(json.exports.find((e) => e.name === 'fy')?.file, 'mm/f\udcff.c');
  });
});

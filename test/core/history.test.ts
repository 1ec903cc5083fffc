import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { openIndex } from '../../src/core/engine';
import type { ExportHistory, FileHistory } from '../../src/core/history/compute';
import { historyCsv, historyFindings, historyLine, historyMarkdown } from '../../src/core/history/render';
import { exportRefs, HistoryService } from '../../src/core/history/service';
import { compareVersions, parseTag, Releases } from '../../src/core/history/versions';
import { tempDir, writeTree } from '../helpers';
import { gitIn, type HistoryRepo, makeHistoryRepo } from '../historyRepo';

describe('kernel versions and merge windows', () => {
  it('parses mainline tags and leaves out stable ones and other names', () => {
    assert.deepEqual(parseTag('v5.10-rc1'), { tag: 'v5.10-rc1', major: 5, minor: 10, rc: 1 });
    assert.deepEqual(parseTag('v2.6.39'), { tag: 'v2.6.39', major: 2, minor: 39, rc: 0 });
    for (const t of ['v6.1.5', 'v2.6.39.4', 'next-20240101', 'v6.1-rc', '6.1', 'v6.x']) assert.equal(parseTag(t), undefined, t);
  });

  it('sorts tags as versions, not as strings', () => {
    const sorted = ['v5.10', 'v5.9', 'v5.10-rc1', 'v5.10-rc10', 'v5.10-rc2', 'v5.9-rc7', 'v4.20', 'v2.6.39', 'v3.0-rc1']
      .map((t) => parseTag(t)!)
      .sort(compareVersions)
      .map((v) => v.tag);
    assert.deepEqual(sorted, ['v2.6.39', 'v3.0-rc1', 'v4.20', 'v5.9-rc7', 'v5.9', 'v5.10-rc1', 'v5.10-rc2', 'v5.10-rc10', 'v5.10']);
  });

  it('counts one window across a major bump, and learns a longer major from the tags', () => {
    const r = new Releases(['v5.19', 'v6.0-rc1', 'v6.0'].map((t) => parseTag(t)!));
    assert.equal(r.ordinal(parseTag('v6.0')!) - r.ordinal(parseTag('v5.19')!), 1);
    assert.equal(r.ordinal(parseTag('v3.0')!) - r.ordinal(parseTag('v2.6.39')!), 1);
    assert.equal(r.ordinal(parseTag('v6.12')!) - r.ordinal(parseTag('v6.1')!), 11);
    const longer = new Releases(['v6.20', 'v7.0'].map((t) => parseTag(t)!));
    assert.equal(longer.ordinal(parseTag('v7.0')!) - longer.ordinal(parseTag('v6.20')!), 1);
  });

  it('places a commit by the first tag that contains it', () => {
    const r = new Releases(['v5.1', 'v5.2-rc1', 'v5.2-rc2', 'v5.2', 'v5.3-rc1'].map((t) => parseTag(t)!));
    const at = (...tags: string[]) => r.landing(tags.map((t) => parseTag(t)!));
    assert.deepEqual(at('v5.2', 'v5.2-rc1', 'v5.2-rc2', 'v5.3-rc1'), { firstTag: 'v5.2-rc1', release: 'v5.2', window: 'merge window of v5.2', ordinal: r.ordinal({ major: 5, minor: 2 }) });
    assert.equal(at('v5.2-rc2', 'v5.2')!.window, 'v5.2-rc2, after the merge window of v5.2');
    assert.equal(at('v5.2')!.window, 'v5.2, after the merge window of v5.2');
    assert.equal(at('v5.3-rc1')!.release, 'v5.3 (not yet released)');
    assert.deepEqual(at(), { release: 'v5.3 (not yet released)', window: 'after v5.3-rc1, in the cycle of v5.3', ordinal: r.ordinal({ major: 5, minor: 3 }) });
  });
});

/** The row of one export, by symbol. */
function row(h: FileHistory, symbol: string): ExportHistory {
  const r = h.exports.find((x) => x.symbol === symbol);
  assert.ok(r, `${symbol} in ${h.exports.map((x) => x.symbol).join(', ')}`);
  return r;
}

async function historyOf(root: string, path = 'mm/hmm.c', cacheDir?: string, log?: (m: string) => void): Promise<FileHistory> {
  const index = await openIndex(root, { workers: 0 });
  const service = new HistoryService(root, { testsCountAsConsumers: true, cacheDir, log });
  const h = await service.history(path, exportRefs(index, path, true));
  service.flush();
  return h;
}

describe('export history of a repository with kernel tags', () => {
  let repo: HistoryRepo;
  let h: FileHistory;
  before(async () => {
    repo = makeHistoryRepo();
    h = await historyOf(repo.root);
  });

  it('knows HEAD and the newest release merged into it', () => {
    assert.equal(h.head, repo.commits.exportRegister);
    assert.deepEqual(h.closed?.tag, 'v5.10');
    assert.equal(h.tagged, true);
    assert.equal(h.shallow, false);
    assert.deepEqual(h.notes, []);
    assert.deepEqual(h.current, { release: 'after v5.10 (not yet released)', window: 'merge window after v5.10', ordinal: h.closed!.ordinal + 1 });
  });

  it('a consumer in the same merge window', () => {
    const r = row(h, 'hmm_range_fault');
    assert.equal(r.exported?.hash, repo.commits.exportFault);
    assert.equal(r.exported?.subject, 'mm/hmm: export hmm_range_fault()');
    assert.deepEqual(r.exported?.landing, { firstTag: 'v5.1-rc1', release: 'v5.1', window: 'merge window of v5.1', ordinal: r.exported!.landing.ordinal });
    assert.equal(r.firstConsumer?.hash, repo.commits.useFault);
    assert.equal(r.firstConsumer?.file, 'drivers/gpu/drm/nouveau/nouveau_svm.c');
    assert.equal(r.gap, 0);
    assert.equal(r.verdict, 'same-window');
  });

  it('follows the file through its rename to the commit that added the export line', () => {
    const r = row(h, 'hmm_range_fault');
    assert.equal(r.exported?.path, 'mm/hmm_core.c');
    assert.notEqual(r.exported?.hash, repo.commits.rename);
  });

  it('a license change from EXPORT_SYMBOL to EXPORT_SYMBOL_GPL, with its commit', () => {
    const r = row(h, 'hmm_range_fault');
    assert.deepEqual(
      r.licenseChanges.map((l) => [l.from, l.to, l.hash, l.landing.release, l.landing.window]),
      [['EXPORT_SYMBOL', 'EXPORT_SYMBOL_GPL', repo.commits.gplFault, 'v5.3', 'merge window of v5.3']],
    );
    assert.equal(r.macro, 'EXPORT_SYMBOL_GPL');
    assert.deepEqual(row(h, 'hmm_mirror_register').licenseChanges, []);
  });

  it('a consumer one window later, after -rc1 of the next release', () => {
    const r = row(h, 'hmm_mirror_register');
    assert.equal(r.exported?.hash, repo.commits.exportMirror);
    assert.equal(r.firstConsumer?.hash, repo.commits.useMirror);
    assert.equal(r.firstConsumer?.file, 'drivers/infiniband/core/umem_odp.c');
    assert.deepEqual([r.firstConsumer?.landing.firstTag, r.firstConsumer?.landing.release, r.firstConsumer?.landing.window], ['v5.2-rc2', 'v5.2', 'v5.2-rc2, after the merge window of v5.2']);
    assert.deepEqual([r.gap, r.verdict], [1, 'next-window']);
  });

  it('a consumer three windows late; a comment that named it earlier does not count', () => {
    const r = row(h, 'hmm_vma_walk');
    assert.equal(r.exported?.hash, repo.commits.exportMirror);
    assert.equal(r.firstConsumer?.hash, repo.commits.useWalk);
    assert.notEqual(r.firstConsumer?.hash, repo.commits.mentionWalk);
    assert.equal(r.firstConsumer?.landing.release, 'v5.4');
    assert.deepEqual([r.gap, r.verdict], [3, 'late']);
  });

  it('an export never consumed', () => {
    const r = row(h, 'hmm_devmem_add');
    assert.equal(r.exported?.hash, repo.commits.exportDevmem);
    assert.equal(r.exported?.landing.release, 'v5.2');
    assert.equal(r.firstConsumer, undefined);
    assert.deepEqual([r.gap, r.verdict], [undefined, 'never']);
  });

  it('a consumer that predates the export: a global function exported later', () => {
    const r = row(h, 'hmm_range_dma_map');
    assert.equal(r.exported?.hash, repo.commits.exportDmaMap);
    assert.equal(r.exported?.landing.release, 'v5.3');
    assert.equal(r.firstConsumer?.hash, repo.commits.initial);
    assert.equal(r.firstConsumer?.file, 'mm/migrate.c');
    assert.equal(r.verdict, 'before-export');
  });

  it('follows an export moved to another file in a split, with the license change the move made', async () => {
    const m = await historyOf(repo.root, 'mm/migrate_device.c');
    const r = row(m, 'migrate_vma_setup');
    assert.deepEqual([r.exported?.hash, r.exported?.path, r.exported?.landing.release], [repo.commits.exportMigrate, 'mm/migrate.c', 'v5.5']);
    assert.deepEqual(
      r.moves.map((x) => [x.hash, x.from, x.to, x.landing.release]),
      [[repo.commits.moveMigrate, 'mm/migrate.c', 'mm/migrate_device.c', 'v5.7']],
    );
    assert.deepEqual(
      r.licenseChanges.map((l) => [l.from, l.to, l.hash]),
      [['EXPORT_SYMBOL', 'EXPORT_SYMBOL_GPL', repo.commits.moveMigrate]],
    );
    assert.deepEqual([r.firstConsumer?.hash, r.firstConsumer?.file, r.verdict], [repo.commits.useMigrate, 'drivers/gpu/drm/nouveau/nouveau_dmem.c', 'same-window']);
    assert.equal(
      historyLine(r),
      `exported in v5.5 (merge window of v5.5, ${repo.commits.exportMigrate!.slice(0, 7)} 'mm/migrate: export migrate_vma_setup()'); moved from mm/migrate.c in v5.7 (${repo.commits.moveMigrate!.slice(0, 7)}); first consumer v5.5 (nouveau_dmem.c, ${repo.commits.useMigrate!.slice(0, 7)}): same window; EXPORT_SYMBOL → EXPORT_SYMBOL_GPL in v5.7 (${repo.commits.moveMigrate!.slice(0, 7)})`,
    );
    assert.ok(
      historyCsv([m])
        .split('\r\n')[1]!
        .endsWith(`,mm/migrate.c@${repo.commits.moveMigrate!.slice(0, 12)}`),
    );
  });

  it('counts windows by version: v5.9 to v5.10 is the next window', () => {
    const r = row(h, 'hmm_range_snapshot');
    assert.deepEqual([r.exported?.landing.release, r.firstConsumer?.landing.release, r.gap, r.verdict], ['v5.9', 'v5.10', 1, 'next-window']);
  });

  it('an export after the newest tag is in the coming window', () => {
    const r = row(h, 'hmm_range_register');
    assert.deepEqual(
      [r.exported?.hash, r.exported?.landing.release, r.exported?.landing.window, r.verdict],
      [repo.commits.exportRegister, 'after v5.10 (not yet released)', 'merge window after v5.10', 'never'],
    );
  });

  it('says it in one line, as the hover shows it', () => {
    const c = repo.commits;
    assert.equal(
      historyLine(row(h, 'hmm_mirror_register')),
      `exported in v5.1 (merge window of v5.1, ${c.exportMirror!.slice(0, 7)} 'mm/hmm: add hmm_mirror_register() and hmm_vma_walk()'); first consumer v5.2 (umem_odp.c, ${c.useMirror!.slice(0, 7)}): 1 window later`,
    );
    assert.equal(
      historyLine(row(h, 'hmm_range_fault')),
      `exported in v5.1 (merge window of v5.1, ${c.exportFault!.slice(0, 7)} 'mm/hmm: export hmm_range_fault()'); first consumer v5.1 (nouveau_svm.c, ${c.useFault!.slice(0, 7)}): same window; EXPORT_SYMBOL → EXPORT_SYMBOL_GPL in v5.3 (${c.gplFault!.slice(0, 7)})`,
    );
    assert.equal(historyLine(row(h, 'hmm_vma_walk')).split('; ')[1], `first consumer v5.4 (amdgpu_mn.c, ${c.useWalk!.slice(0, 7)}): 3 windows later: late (rule 2 wants the same window or the next)`);
    assert.equal(historyLine(row(h, 'hmm_range_dma_map')).split('; ')[1], `first consumer v5.0 (migrate.c, ${c.initial!.slice(0, 7)}): consumed before the export existed`);
  });

  it('reports LATE_CONSUMER and NEVER_CONSUMED for exports young enough, once the next window has closed', () => {
    const found = historyFindings(h, { severity: {}, maxAgeReleases: 20 });
    assert.deepEqual(
      found.map((f) => [f.code, f.severity, f.symbol, f.line]),
      [
        ['LATE_CONSUMER', 'warning', 'hmm_vma_walk', row(h, 'hmm_vma_walk').line],
        ['NEVER_CONSUMED', 'warning', 'hmm_devmem_add', row(h, 'hmm_devmem_add').line],
      ],
    );
    assert.equal(
      found[0]!.message,
      'hmm_vma_walk was exported in v5.1 and first consumed in v5.4 (drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c), 3 windows later; rule 2 wants a consumer in the same merge window or the next',
    );
    assert.equal(found[1]!.message, 'hmm_devmem_add was exported in v5.2 and has no in-tree consumer after v5.10; rule 2 wants one by the next merge window, else the export is reverted');
    // v5.1 is 9 releases before v5.10, v5.2 8: past the default age of 6, they are left alone.
    assert.deepEqual(historyFindings(h, { severity: {}, maxAgeReleases: 6 }), []);
    assert.deepEqual(
      historyFindings(h, { severity: {}, maxAgeReleases: 8 }).map((f) => f.code),
      ['NEVER_CONSUMED'],
    );
    assert.deepEqual(
      historyFindings(h, { severity: { LATE_CONSUMER: 'off', NEVER_CONSUMED: 'error' }, maxAgeReleases: 20 }).map((f) => [f.code, f.severity]),
      [['NEVER_CONSUMED', 'error']],
    );
  });

  it('writes CSV with one row per export, quoting what needs it', () => {
    const lines = historyCsv([h]).split('\r\n');
    assert.equal(
      lines[0],
      'file,line,symbol,macro,export_commit,export_date,export_subject,export_path,export_tag,export_release,export_window,consumer_commit,consumer_date,consumer_file,consumer_tag,consumer_release,consumer_window,gap_windows,verdict,license_changes,history_cut,moved_from',
    );
    assert.equal(lines.length, h.exports.length + 2);
    const devmem = lines.find((l) => l.includes(',hmm_devmem_add,'))!;
    assert.ok(devmem.includes(',"mm/hmm: add hmm_devmem_add(), for ""device"" memory <ZONE_DEVICE>",mm/hmm_core.c,v5.2-rc1,v5.2,merge window of v5.2,'), devmem);
    assert.ok(devmem.endsWith(',,,,,,,never,,,'), devmem);
  });

  it('escapes commit subjects in the Markdown timeline', () => {
    const text = historyMarkdown(h);
    assert.ok(text.startsWith('# Export timeline: mm/hmm\\.c\n'), text.slice(0, 80));
    assert.ok(text.includes('for "device" memory &lt;ZONE\\_DEVICE&gt;'), text);
    assert.ok(!text.includes('<ZONE_DEVICE>'));
    assert.equal(text.split('\n').filter((l) => l.startsWith('| ')).length, h.exports.length + 1);
  });

  it('an uncommitted export has no commit yet', async () => {
    const clone = tempDir('kexports-history-work-');
    execFileSync('git', ['clone', '-q', repo.root, clone]);
    appendFileSync(join(clone, 'mm/hmm.c'), '\nint hmm_range_unmap(struct hmm_range *range)\n{\n\treturn 0;\n}\nEXPORT_SYMBOL_GPL(hmm_range_unmap);\n');
    const w = await historyOf(clone);
    const r = row(w, 'hmm_range_unmap');
    assert.deepEqual([r.exported, r.verdict], [undefined, 'uncommitted']);
    assert.equal(historyLine(r), 'not in git history yet: the export line is not committed');
    assert.equal(row(w, 'hmm_range_fault').exported?.hash, repo.commits.exportFault);
  });

  it('a shallow clone answers what it can and says the history is cut', async () => {
    const clone = tempDir('kexports-history-shallow-');
    execFileSync('git', ['clone', '-q', '--depth', '3', `file://${repo.root}`, clone]);
    const s = await historyOf(clone);
    assert.equal(s.shallow, true);
    assert.deepEqual(s.notes, ['shallow clone: history is cut at the oldest fetched commits, so an export or consumer shown there may be older']);
    // Three commits deep: exportSnapshot is the boundary, which "adds" the whole file.
    const fault = row(s, 'hmm_range_fault');
    assert.deepEqual([fault.exported?.hash, fault.exported?.cut, fault.verdict], [repo.commits.exportSnapshot, true, 'unknown']);
    assert.ok(historyLine(fault).startsWith('exported in v5.9 or earlier (shallow clone) (merge window of v5.9, '), historyLine(fault));
    const snap = row(s, 'hmm_range_snapshot');
    assert.deepEqual([snap.firstConsumer?.hash, snap.firstConsumer?.cut, snap.verdict, snap.gap], [repo.commits.useSnapshot, undefined, 'next-window', 1]);
  });

  it('without tags, estimates windows from commit dates and says so', async () => {
    const clone = tempDir('kexports-history-untagged-');
    execFileSync('git', ['clone', '-q', '--no-tags', repo.root, clone]);
    assert.equal(gitIn(clone, 'tag').trim(), '');
    const u = await historyOf(clone);
    assert.equal(u.tagged, false);
    assert.deepEqual(u.notes, ['no release tags (vX.Y, vX.Y-rcN) in this repository: merge windows are estimated from commit dates, nine weeks each']);
    const walk = row(u, 'hmm_vma_walk');
    assert.equal(walk.exported?.landing.estimated, true);
    assert.equal(walk.exported?.landing.release, `untagged, ${walk.exported!.authorDate.slice(0, 10)}`);
    assert.deepEqual([walk.verdict, walk.gap], ['late', 3]);
    assert.deepEqual([row(u, 'hmm_range_fault').verdict, row(u, 'hmm_range_dma_map').verdict], ['same-window', 'before-export']);
    // HEAD's date stands for the windows that have closed: hmm_range_register, exported at HEAD, is not due yet.
    assert.deepEqual(
      historyFindings(u, { severity: {}, maxAgeReleases: 20 }).map((f) => [f.code, f.symbol]),
      [
        ['LATE_CONSUMER', 'hmm_vma_walk'],
        ['NEVER_CONSUMED', 'hmm_devmem_add'],
      ],
    );
  });

  it('caches by path and HEAD in a file written whole, and rebuilds a damaged one', async () => {
    const dir = tempDir('kexports-history-cache-');
    const first = await historyOf(repo.root, 'mm/hmm.c', dir);
    const again = await historyOf(repo.root, 'mm/hmm.c', dir);
    assert.deepEqual(again, first);
    const file = execFileSync('sh', ['-c', `ls ${dir}/history-*.json`], { encoding: 'utf8' }).trim();
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { entries: [string, FileHistory][] };
    assert.deepEqual(
      saved.entries.map(([k]) => k.split('\0').slice(0, 2)),
      [['mm/hmm.c', repo.commits.exportRegister]],
    );
    execFileSync('sh', ['-c', `printf '{"format":1,"root":' > ${file}`]);
    const logs: string[] = [];
    const rebuilt = await historyOf(repo.root, 'mm/hmm.c', dir, (m) => logs.push(m));
    assert.deepEqual(rebuilt, first);
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /^history cache .*history-\w+\.json is unusable \(.*\); rebuilding it$/);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { entries: unknown[] }).entries.length, 1);
  });

  it('searches at most 400 users of a popular export, and says so', async () => {
    const files: Record<string, string> = { 'lib/popular.c': 'int popular(void)\n{\n\treturn 1;\n}\nEXPORT_SYMBOL(popular);\n' };
    for (let k = 0; k < 401; k++) files[`drivers/many/user${String(k).padStart(3, '0')}.c`] = `int user${k}(void)\n{\n\treturn popular();\n}\n`;
    const root = writeTree(files);
    for (const args of [
      ['init', '-q', '-b', 'master'],
      ['add', '-A'],
      ['commit', '-q', '-m', 'popular'],
      ['tag', 'v6.0'],
    ])
      gitIn(root, ...args);
    const p = row(await historyOf(root, 'lib/popular.c'), 'popular');
    assert.deepEqual(p.searched, { files: 400, of: 401 });
    assert.equal(p.firstConsumer?.file, 'drivers/many/user000.c');
    assert.match(historyLine(p), /; first consumer among 400 of the 401 files that use it v6\.0 \(user000\.c, [0-9a-f]{7}\): same window$/);
  });

  it('does not look for moves in a commit of more than 300 files (an import, not a move)', async () => {
    const root = writeTree({ 'lib/a.c': 'int foo(void)\n{\n\treturn 1;\n}\nEXPORT_SYMBOL(foo);\n' });
    for (const args of [
      ['init', '-q', '-b', 'master'],
      ['add', '-A'],
      ['commit', '-q', '-m', 'a'],
      ['tag', 'v6.0'],
    ])
      gitIn(root, ...args);
    const files: Record<string, string> = {};
    for (let k = 0; k < 300; k++) files[`drivers/bulk/f${k}.c`] = `int f${k};\n`;
    // b.c is mostly new code, so git does not take it for a copy of a.c
    const other = Array.from({ length: 30 }, (_, k) => `static int bar${k}(void)\n{\n\treturn ${k};\n}\n`).join('');
    for (const [path, text] of Object.entries({ ...files, 'lib/a.c': '', 'lib/b.c': `${other}int foo(void)\n{\n\treturn 1;\n}\nEXPORT_SYMBOL(foo);\n` })) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    for (const args of [
      ['add', '-A'],
      ['commit', '-q', '-m', 'import'],
    ])
      gitIn(root, ...args);
    const b = row(await historyOf(root, 'lib/b.c'), 'foo');
    assert.deepEqual([b.exported?.subject, b.moves], ['import', []]);
  });

  it('names the git command that failed when the tree is not in a repository', async () => {
    const plain = tempDir('kexports-history-plain-');
    execFileSync('sh', ['-c', `cd ${repo.root} && tar cf - --exclude=.git . | (cd ${plain} && tar xf -)`]);
    await assert.rejects(historyOf(plain), { message: 'git rev-parse --verify HEAD^{commit} failed: the tree is not in a git repository' });
  });
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runCli, tempDir } from '../helpers';
import { type HistoryRepo, makeHistoryRepo } from '../historyRepo';

describe('kexports history and check --history', () => {
  let repo: HistoryRepo;
  let c: Record<string, string>;
  before(() => {
    repo = makeHistoryRepo();
    c = repo.commits;
  });

  it('prints one entry per export with its history line', () => {
    const r = runCli(['history', '--tree', repo.root, 'mm/hmm.c']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], `mm/hmm.c (HEAD ${c.exportRegister!.slice(0, 12)}, newest release merged: v5.10)`);
    assert.equal(lines[1], '  mm/hmm.c:9: hmm_range_dma_map  EXPORT_SYMBOL_GPL');
    assert.equal(
      lines[2],
      `    exported in v5.3 (merge window of v5.3, ${c.exportDmaMap!.slice(0, 7)} 'mm/hmm: export hmm_range_dma_map()'); first consumer v5.0 (migrate.c, ${c.initial!.slice(0, 7)}): consumed before the export existed`,
    );
    assert.equal(lines.filter((l) => l.startsWith('  mm/hmm.c:')).length, 7);
    assert.ok(
      lines.includes(`    exported in v5.2 (merge window of v5.2, ${c.exportDevmem!.slice(0, 7)} 'mm/hmm: add hmm_devmem_add(), for "device" memory <ZONE_DEV…'); never consumed so far`),
      r.stdout,
    );
  });

  it('takes folders, and writes JSON and CSV', () => {
    const json = runCli(['history', '--tree', repo.root, '--format', 'json', 'mm']);
    assert.equal(json.code, 0, json.stderr);
    const data = JSON.parse(json.stdout) as { files: { path: string; exports: { symbol: string; verdict: string; gap?: number }[] }[] };
    assert.deepEqual(
      data.files.map((f) => f.path),
      ['mm/hmm.c', 'mm/migrate_device.c'],
    );
    assert.deepEqual(
      data.files[1]!.exports.map((e) => [e.symbol, e.verdict]),
      [['migrate_vma_setup', 'same-window']],
    );
    assert.deepEqual(
      data.files[0]!.exports.map((e) => [e.symbol, e.verdict, e.gap]),
      [
        ['hmm_range_dma_map', 'before-export', undefined],
        ['hmm_range_fault', 'same-window', 0],
        ['hmm_mirror_register', 'next-window', 1],
        ['hmm_vma_walk', 'late', 3],
        ['hmm_devmem_add', 'never', undefined],
        ['hmm_range_snapshot', 'next-window', 1],
        ['hmm_range_register', 'never', undefined],
      ],
    );
    const csv = runCli(['history', '--tree', repo.root, '--format', 'csv', 'mm/hmm.c']);
    const rows = csv.stdout.trimEnd().split('\r\n');
    assert.equal(rows.length, 8);
    assert.ok(rows[0]!.startsWith('file,line,symbol,macro,export_commit,'));
    assert.ok(rows[4]!.startsWith(`mm/hmm.c,27,hmm_vma_walk,EXPORT_SYMBOL_GPL,${c.exportMirror},`), rows[4]);
    assert.ok(rows[4]!.endsWith(',3,late,,,'), rows[4]);
  });

  it('refuses bad usage with exit code 2', () => {
    const none = runCli(['history', '--tree', repo.root]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^kexports: history needs at least one PATH: a file or a folder\n/);
    const fmt = runCli(['history', '--tree', repo.root, '--format', 'sarif', 'mm/hmm.c']);
    assert.equal(fmt.code, 2);
    assert.match(fmt.stderr, /--format sarif: expected text, json, csv/);
    const empty = runCli(['history', '--tree', repo.root, 'drivers']);
    assert.equal(empty.code, 1);
    assert.equal(empty.stderr, 'kexports: no export under drivers\n');
  });

  it('check --history adds LATE_CONSUMER and NEVER_CONSUMED; NEVER_CONSUMED replaces NO_CONSUMER', () => {
    const config = join(tempDir(), 'kexports.json');
    writeFileSync(config, JSON.stringify({ historyMaxAgeReleases: 20 }));
    const r = runCli(['check', '--tree', repo.root, '--config', config, '--history', '--format', 'json', 'mm/hmm.c']);
    assert.equal(r.code, 1, r.stderr);
    const findings = (JSON.parse(r.stdout) as { findings: { code: string; symbol: string; line: number }[] }).findings;
    assert.deepEqual(
      findings.map((f) => [f.code, f.symbol, f.line]),
      [
        ['SAME_DIR_CONSUMERS', 'hmm_range_dma_map', 9],
        ['LATE_CONSUMER', 'hmm_vma_walk', 27],
        ['NEVER_CONSUMED', 'hmm_devmem_add', 33],
        ['NO_CONSUMER', 'hmm_range_register', 45],
      ],
    );
    const plain = runCli(['check', '--tree', repo.root, '--format', 'json', 'mm/hmm.c']);
    assert.deepEqual(
      (JSON.parse(plain.stdout) as { findings: { code: string }[] }).findings.map((f) => f.code),
      ['SAME_DIR_CONSUMERS', 'NO_CONSUMER', 'NO_CONSUMER'],
    );
    // The default age (6 releases) leaves v5.1 and v5.2 exports alone at v5.10.
    const dflt = runCli(['check', '--tree', repo.root, '--history', '--format', 'json', 'mm/hmm.c']);
    assert.deepEqual(
      (JSON.parse(dflt.stdout) as { findings: { code: string }[] }).findings.map((f) => f.code),
      ['SAME_DIR_CONSUMERS', 'NO_CONSUMER', 'NO_CONSUMER'],
    );
  });

  it('without git, history names the command that failed and check still works', () => {
    const env = { PATH: tempDir('kexports-nogit-') };
    const h = runCli(['history', '--tree', repo.root, 'mm/hmm.c'], { env });
    assert.equal(h.code, 2);
    assert.equal(h.stderr, 'kexports: git rev-parse --verify HEAD^{commit} failed: git is not installed or not on PATH\n');
    const chk = runCli(['check', '--tree', repo.root, '--format', 'json', 'mm/hmm.c'], { env });
    assert.equal(chk.code, 1, chk.stderr);
    assert.equal((JSON.parse(chk.stdout) as { findings: unknown[] }).findings.length, 3);
  });
});

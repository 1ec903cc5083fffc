import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { tempDir } from '../helpers';
import { type HistoryRepo, makeHistoryRepo } from '../historyRepo';
import { LspClient, withServer } from './lspClient';

interface MarkupHover {
  contents: { kind: string; value: string };
}

/** A `git` first on PATH that logs each start and end and runs the real one, slowed so that overlaps show. */
function gitSpy(): { env: Record<string, string>; log: string; calls: () => string[]; maxConcurrent: () => number } {
  const dir = tempDir('kexports-gitspy-');
  const log = join(dir, 'log');
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(dir, 'git'), `#!/bin/sh\necho "start $$ $*" >> '${log}'\nsleep 0.1\n'${real}' "$@"\nrc=$?\necho "end $$" >> '${log}'\nexit $rc\n`);
  chmodSync(join(dir, 'git'), 0o755);
  const lines = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  return {
    env: { PATH: `${dir}:${process.env.PATH}` },
    log,
    calls: () => lines().filter((l) => l.startsWith('start ')),
    maxConcurrent: () => {
      let now = 0;
      let max = 0;
      for (const l of lines()) {
        now += l.startsWith('start ') ? 1 : -1;
        max = Math.max(max, now);
      }
      return max;
    },
  };
}

const hover = async (lsp: LspClient, path: string, line: number, character: number): Promise<string> =>
  ((await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri(path) }, position: { line, character } })) as MarkupHover).contents.value;

describe('export history in the language server', () => {
  let repo: HistoryRepo;
  let hmm: string;
  before(() => {
    repo = makeHistoryRepo();
    hmm = readFileSync(join(repo.root, 'mm/hmm.c'), 'latin1');
  });

  it('adds history diagnostics and a hover line, with git capped and never run by a hover', async () => {
    const spy = gitSpy();
    const lsp = new LspClient(repo.root, undefined, { env: spy.env });
    lsp.settings = { historyMaxAgeReleases: 20 };
    await withServer(lsp, async () => {
      await lsp.open('mm/hmm.c', hmm);
      const pub = await lsp.untilCodes('mm/hmm.c', ['SAME_DIR_CONSUMERS', 'LATE_CONSUMER', 'NEVER_CONSUMED', 'NO_CONSUMER']);
      assert.deepEqual(
        pub.diagnostics.map((d) => [d.code, d.range.start.line, d.range.start.character, d.range.end.character, d.codeDescription?.href.replace(/.*#/, '#')]),
        [
          ['SAME_DIR_CONSUMERS', 8, 0, 36],
          ['LATE_CONSUMER', 26, 0, 31],
          ['NEVER_CONSUMED', 32, 0, 33],
          ['NO_CONSUMER', 44, 0, 37],
        ].map((x) => [...x, `#${String(x[0]).toLowerCase()}`]),
      );
      assert.equal(
        pub.diagnostics[1]!.message,
        'hmm_vma_walk was exported in v5.1 and first consumed in v5.4 (drivers/gpu/drm/amd/amdgpu/amdgpu_mn.c), 3 windows later; rule 2 wants a consumer in the same merge window or the next',
      );

      const before = spy.calls().length;
      assert.ok(before > 0);
      assert.ok(spy.maxConcurrent() <= 3, `at most 3 git processes at once, saw ${spy.maxConcurrent()}`);
      const c = repo.commits;
      const v = await hover(lsp, 'mm/hmm.c', 20, 20); // EXPORT_SYMBOL_GPL(hmm_mirror_register);
      assert.ok(
        v.includes(
          `history: exported in v5\\.1 (merge window of v5\\.1, ${c.exportMirror!.slice(0, 7)} 'mm/hmm: add hmm\\_mirror\\_register\\(\\) and hmm\\_vma\\_walk\\(\\)'); first consumer v5\\.2 (umem\\_odp\\.c, ${c.useMirror!.slice(0, 7)}): 1 window later`,
        ),
        v,
      );
      const subject = await hover(lsp, 'mm/hmm.c', 32, 20); // hmm_devmem_add: a subject with markup in it
      assert.ok(subject.includes('\'mm/hmm: add hmm\\_devmem\\_add\\(\\), for "device" memory &lt;ZONE\\_DEV…\'); never consumed so far'), subject);
      for (let k = 0; k < 20; k++) await hover(lsp, 'mm/hmm.c', 14, 20);
      assert.equal(spy.calls().length, before, 'no git process for hovers');

      const t = (await lsp.conn.sendRequest('kexports/exportHistory', { uri: lsp.uri('mm/hmm.c') })) as { markdown: string; exports: number };
      assert.equal(t.exports, 7);
      assert.ok(t.markdown.startsWith('# Export timeline: mm/hmm\\.c\n'));
      assert.ok(t.markdown.includes(`| 27 | \`hmm_vma_walk\` EXPORT\\_SYMBOL\\_GPL | in v5\\.1, merge window of v5\\.1<br>${c.exportMirror!.slice(0, 12)} `), t.markdown);
    });
  });

  it('in an untrusted workspace runs no git and says why in the hover', async () => {
    const spy = gitSpy();
    const lsp = new LspClient(repo.root, undefined, { env: spy.env, initializationOptions: { trusted: false } });
    lsp.settings = { historyMaxAgeReleases: 20 };
    await withServer(lsp, async () => {
      await lsp.open('mm/hmm.c', hmm);
      await lsp.untilCodes('mm/hmm.c', ['SAME_DIR_CONSUMERS', 'NO_CONSUMER', 'NO_CONSUMER']);
      const v = await hover(lsp, 'mm/hmm.c', 20, 20);
      assert.ok(v.includes("*history unavailable: this workspace is not trusted, and git would read the repository's config, which can run programs*"), v);
      await assert.rejects(lsp.conn.sendRequest('kexports/exportHistory', { uri: lsp.uri('mm/hmm.c') }), /export history is unavailable: this workspace is not trusted/);
      assert.deepEqual(spy.calls(), []);
      // Granting trust brings the history in.
      await lsp.conn.sendNotification('kexports/trustGranted', {});
      await lsp.untilCodes('mm/hmm.c', ['SAME_DIR_CONSUMERS', 'LATE_CONSUMER', 'NEVER_CONSUMED', 'NO_CONSUMER']);
      assert.ok(spy.calls().length > 0);
    });
  });

  it('without git, the hover names the failed command and everything else works', async () => {
    const lsp = new LspClient(repo.root, undefined, { env: { PATH: tempDir('kexports-nogit-') } });
    await withServer(lsp, async () => {
      await lsp.open('mm/hmm.c', hmm);
      await lsp.untilCodes('mm/hmm.c', ['SAME_DIR_CONSUMERS', 'NO_CONSUMER', 'NO_CONSUMER']);
      // The failure arrives in the background; the hover reads it from memory.
      let v = '';
      for (let tries = 0; tries < 200 && !v.includes('history unavailable'); tries++) {
        v = await hover(lsp, 'mm/hmm.c', 20, 20);
        if (!v.includes('history unavailable')) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(v.includes('*history unavailable: git rev\\-parse \\-\\-verify HEAD^\\{commit\\} failed: git is not installed or not on PATH*'), v);
      assert.ok(v.includes('**1 consumer**'), v);
    });
  });
});

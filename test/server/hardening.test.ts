/** The language server under what a stress and security probe sends it. */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { copySampleTree, repoRoot, tempDir } from '../helpers';
import { edit, git, seriesRepo } from '../seriesRepo';
import { FramingWatch } from '../../src/server/framing';
import { LspClient, withServer } from './lspClient';

describe('the language server in an untrusted workspace', () => {
  it('refuses git sources whatever the request says, and runs no fsmonitor program', async () => {
    const repo = seriesRepo();
    const marker = join(tempDir(), 'fsmonitor-ran');
    const hook = join(tempDir(), 'fsmonitor.sh');
    writeFileSync(hook, `#!/bin/sh\ntouch '${marker}'\n`);
    chmodSync(hook, 0o755);
    git(repo, 'config', 'core.fsmonitor', hook);
    edit(repo, 'mm/hmm.c', 'EXPORT_SYMBOL(hmm_range_fault);', 'EXPORT_SYMBOL_GPL(hmm_range_fault);');
    const lsp = new LspClient(repo, undefined, { initializationOptions: { trusted: false } });
    await withServer(lsp, async () => {
      // a client that claims trust in the request is not believed: only the server's state counts
      for (const source of [{ kind: 'uncommitted' }, { kind: 'range', range: 'v1..HEAD' }]) {
        await assert.rejects(lsp.conn.sendRequest('kexports/review', { source, trusted: true }), /not reviewed in an untrusted workspace/);
      }
      await assert.rejects(lsp.conn.sendRequest('kexports/exportHistory', { uri: lsp.uri('mm/hmm.c'), trusted: true }), /export history is unavailable: this workspace is not trusted/);
    });
    assert.equal(existsSync(marker), false, 'core.fsmonitor ran');
  });
});

/** Writes raw bytes to a fresh server and collects what it says and how it ends. */
async function rawSession(bytes: string): Promise<{ code: number | null; stderr: string; ms: number }> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist/server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const t0 = Date.now();
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.stdin.write(bytes);
  const code = await done;
  clearTimeout(timer);
  return { code, stderr, ms: Date.now() - t0 };
}

describe('the language server over a warm cache', () => {
  it('gets ready when a cached source file became a FIFO, and drops it', async () => {
    const root = copySampleTree();
    const cacheDir = tempDir('kexports-lsp-idx-');
    const first = new LspClient(root, undefined, { initializationOptions: { cacheDir } });
    await withServer(first, async () => {
      await first.until(() => readdirSync(cacheDir).some((f) => f.endsWith('.idx')), 'the cache file');
    });
    rmSync(join(root, 'mm/hmm.c'));
    execFileSync('mkfifo', [join(root, 'mm/hmm.c')]);
    const lsp = new LspClient(root, undefined, { initializationOptions: { cacheDir } });
    await withServer(lsp, async () => {
      const ready = lsp.statuses.find((s) => s.state === 'ready')!;
      assert.match(ready.message, /^17 exports in 27 files, \d+ ms/);
    });
  });
});

describe('the framing watch', () => {
  const message = (body: string): string => `Content-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n${body}`;
  it('finds nothing wrong with good messages, however the stream is cut', () => {
    const stream = Buffer.from([message('{"a":1}'), message('{"b":"\r\n\r\nContent-Length: x"}'), message('')].join(''));
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const watch = new FramingWatch();
      for (let at = 0; at < stream.length; at += size) assert.equal(watch.feed(stream.subarray(at, at + size)), undefined, `chunks of ${size}`);
    }
  });
  it('names a header ended by LF alone, a length that is no number, and a header without a length', () => {
    assert.match(new FramingWatch().feed(Buffer.from('Content-Length: 2\n\n{}'))!, /line feed without a carriage return/);
    assert.match(new FramingWatch().feed(Buffer.from('Content-Length: 1e3\r\n\r\n'))!, /Content-Length is not a number: "1e3"/);
    assert.match(new FramingWatch().feed(Buffer.from(`${message('{}')}Content-Type: x\r\n\r\n`))!, /a header without Content-Length/);
  });
});

describe('the language server on a broken stream', () => {
  it('says why and exits on a bad Content-Length', async () => {
    const r = await rawSession('Content-Length: abc\r\n\r\n{}');
    assert.notEqual(r.code, null, 'the server went silent instead of exiting');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kexports: the client's message stream is broken \(.*Content-Length.*\); exiting/);
  });

  it('says why and exits on headers that end in LF alone', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
    const r = await rawSession(`Content-Length: ${body.length}\n\n${body}`);
    assert.notEqual(r.code, null, 'the server went silent instead of exiting');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kexports: the client's message stream is broken/);
  });
});

describe('the language server on a buffer with very many exports', () => {
  // The cost once grew with the square of a file's exports: 30,000 took 8 s, 200,000 would take minutes; now it is seconds.
  it('answers for 200,000 exports in one file, with a diagnostic for each unused one', async () => {
    const root = copySampleTree();
    const lsp = new LspClient(root);
    await withServer(lsp, async () => {
      const lines: string[] = ['// SPDX-License-Identifier: GPL-2.0-only'];
      for (let k = 0; k < 200_000; k++) lines.push(`int many_${k}(void) { return ${k}; }`, `EXPORT_SYMBOL_GPL(many_${k});`);
      await lsp.open('lib/many.c', `${lines.join('\n')}\n`);
      const pub = await lsp.until(() => lsp.published.get(lsp.uri('lib/many.c')), 'the diagnostics of lib/many.c', 60_000);
      assert.equal(pub.diagnostics.filter((d) => d.code === 'NO_CONSUMER').length, 200_000);
      assert.equal(pub.diagnostics[199_999]!.range.start.line, 400_000);
      const h = (await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri('lib/many.c') }, position: { line: 400_000, character: 20 } })) as { contents: { value: string } };
      assert.match(h.contents.value, /many\\_199999/);
    });
  });
});

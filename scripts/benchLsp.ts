/**
 * The language server on a real tree, through JSON-RPC as an editor talks to it:
 *   benchLsp TREE CACHE  -> one JSON line: ready time (warm), open-to-diagnostics, hover p50/p99,
 *                          edit-to-diagnostics.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LspClient } from '../test/server/lspClient';

async function main(): Promise<void> {
  const [tree, cacheDir, server] = process.argv.slice(2) as [string, string, string];
  const lsp = new LspClient(tree, [server, '--stdio']);
  const out: Record<string, unknown> = {};
  let t = performance.now();
  await lsp.conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: lsp.uri('.').replace(/\/\.$/, ''),
    workspaceFolders: [{ uri: lsp.uri('.').replace(/\/\.$/, ''), name: 'tree' }],
    capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true } },
    initializationOptions: { cacheDir },
  });
  await lsp.conn.sendNotification('initialized', {});
  await lsp.until(() => lsp.statuses.find((s) => s.state === 'ready'), 'ready', 600_000);
  out.readyMs = Math.round(performance.now() - t);

  const path = 'mm/hmm.c';
  const text = readFileSync(join(tree, path), 'latin1');
  t = performance.now();
  await lsp.open(path, text);
  const first = await lsp.until(() => lsp.published.get(lsp.uri(path)), 'diagnostics');
  out.openToDiagnosticsMs = Math.round(performance.now() - t);
  out.diagnostics = first.diagnostics.map((d) => `${d.code} line ${d.range.start.line + 1}: ${d.message}`);

  // hover on every identifier that names an export, in a few real files
  const files = [path, 'drivers/gpu/drm/nouveau/nouveau_svm.c', 'drivers/infiniband/core/umem_odp.c', 'mm/memremap.c'];
  const times: number[] = [];
  let answered = 0;
  for (const f of files) {
    const lines = readFileSync(join(tree, f), 'latin1').split('\n');
    for (let l = 0; l < lines.length && times.length < 2000; l++) {
      for (const m of lines[l]!.matchAll(/\b[A-Za-z_]\w{3,}\b/g)) {
        const h0 = performance.now();
        const h = await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri(f) }, position: { line: l, character: m.index! + 1 } });
        times.push(performance.now() - h0);
        if (h) answered++;
      }
    }
  }
  times.sort((a, b) => a - b);
  const p = (q: number): number => +times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2);
  out.hover = { n: times.length, answered, p50Ms: p(0.5), p99Ms: p(0.99), maxMs: +times[times.length - 1]!.toFixed(2) };

  // an edit: toggle the export line's macro and wait for the new version's diagnostics
  const edits: number[] = [];
  const line = text.split('\n').findIndex((x) => x.startsWith('EXPORT_SYMBOL(hmm_range_fault)'));
  for (let v = 2; v < 22; v++) {
    const gpl = v % 2 === 0;
    const e0 = performance.now();
    await lsp.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri: lsp.uri(path), version: v },
      contentChanges: [{ range: { start: { line, character: 0 }, end: { line, character: gpl ? 13 : 17 } }, text: gpl ? 'EXPORT_SYMBOL_GPL' : 'EXPORT_SYMBOL' }],
    });
    await lsp.until(() => lsp.published.get(lsp.uri(path))?.version === v, `version ${v}`);
    edits.push(performance.now() - e0);
  }
  edits.sort((a, b) => a - b);
  out.editToDiagnostics = { n: edits.length, medianMs: +edits[10]!.toFixed(1), maxMs: +edits[19]!.toFixed(1), includesDebounceMs: 20 };
  await lsp.stop();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

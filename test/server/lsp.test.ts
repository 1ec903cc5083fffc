import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copySampleTree, repoRoot, sampleTree, selfIncludingQspin, tempDir, writeTree } from '../helpers';
import { LspClient, withServer } from './lspClient';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { edit, seriesRepo } from '../seriesRepo';

interface MarkupHover {
  contents: { kind: string; value: string };
}

describe('the language server over JSON-RPC, on the sample tree', () => {
  let lsp: LspClient;
  let root: string;
  const hmmText = () => readFileSync(join(root, 'mm/hmm.c'), 'latin1');

  before(async () => {
    root = copySampleTree();
    lsp = new LspClient(root);
    const init = (await lsp.start()) as { capabilities: Record<string, unknown> };
    assert.equal(init.capabilities.hoverProvider, true);
    await lsp.until(() => lsp.statuses.find((s) => s.state === 'ready'), 'the index');
  });

  after(async () => {
    await lsp.stop();
  });

  it('reports indexing progress and a ready status', () => {
    const kinds = lsp.progress.map((p) => (p as { kind: string }).kind);
    assert.equal(kinds[0], 'begin');
    assert.equal(kinds[kinds.length - 1], 'end');
    const reports = lsp.progress.filter((p) => (p as { kind: string }).kind === 'report').map((p) => (p as { message: string }).message);
    assert.ok(reports.includes('Indexing 28 / 28 files'), reports.join(' | '));
    assert.deepEqual(lsp.statuses[0], { state: 'indexing', message: `indexing ${root}` });
    assert.match(lsp.statuses[1]!.message, /^22 exports in 28 files, \d+ ms$/);
    // The Output channel says which scanner indexed the tree (the JavaScript one, and why, below).
    const scanner = process.env.KEXPORTS_SCANNER === 'wasm' ? 'the WebAssembly scanner, slower: KEXPORTS_SCANNER=wasm' : 'the native scanner';
    assert.ok(lsp.logs.includes(`kexports: whole-tree scans use ${scanner}`), lsp.logs.join(' | '));
  });

  it('says in its log when whole-tree scans use the WebAssembly build, and why', async () => {
    const js = new LspClient(copySampleTree(), undefined, { env: { KEXPORTS_SCANNER: 'wasm' } });
    try {
      await js.start();
      await js.until(() => js.statuses.find((s) => s.state === 'ready'), 'the index');
      assert.ok(js.logs.includes('kexports: whole-tree scans use the WebAssembly scanner, slower: KEXPORTS_SCANNER=wasm'), js.logs.join(' | '));
    } finally {
      await js.stop();
    }
  });

  it('publishes the findings of an opened file with codes, ranges and README links', async () => {
    await lsp.open('mm/hmm.c', hmmText());
    const pub = await lsp.until(() => lsp.published.get(lsp.uri('mm/hmm.c')), 'diagnostics for mm/hmm.c');
    assert.deepEqual(
      pub.diagnostics.map((d) => [d.code, d.severity, d.range.start.line, d.range.start.character, d.range.end.character, d.source, d.codeDescription?.href.replace(/.*#/, '#')]),
      [
        ['NOT_GPL_ONLY', 2, 38, 0, 30, 'kexports', '#not_gpl_only'],
        ['TEST_ONLY_CONSUMERS', 2, 44, 0, 38, 'kexports', '#test_only_consumers'],
        ['NO_CONSUMER', 2, 50, 0, 44, 'kexports', '#no_consumer'],
        ['TEST_ONLY_CONSUMERS', 2, 56, 0, 43, 'kexports', '#test_only_consumers'],
      ],
    );
  });

  it('hovers on a call site in a driver with license, policy, definition and consumers', async () => {
    const text = readFileSync(join(root, 'drivers/gpu/drm/vgpu/vgpu_svm.c'), 'latin1');
    await lsp.open('drivers/gpu/drm/vgpu/vgpu_svm.c', text);
    const h = (await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri('drivers/gpu/drm/vgpu/vgpu_svm.c') }, position: { line: 20, character: 10 } })) as MarkupHover;
    const v = h.contents.value;
    assert.equal(h.contents.kind, 'markdown');
    assert.match(v, /^\*\*hmm\\_range\\_fault\*\* · `EXPORT_SYMBOL` · \*\*any license\*\*/);
    assert.match(v, /namespace: none/);
    assert.match(v, /policy: mm\/hmm\\.c must be GPL-only; \*\*not met\*\*, EXPORT_SYMBOL allows any license/);
    assert.match(v, /defined at \[mm\/hmm\\.c:30\]\(file:\/\/.*\/mm\/hmm\.c#L30\) · exported at \[mm\/hmm\\.c:39\]/);
    assert.match(v, /\*\*3 consumers\*\*/);
    assert.match(v, /- drivers\/gpu\/drm\/vgpu\/ \[vgpu\\_svm\\.c:21\]/);
    assert.match(v, /- lib\/ \[test\\_hmm\\.c:12\]\(.*\) \(test\)/);
    // who maintains the exporting file, and its list, from the sample tree's MAINTAINERS
    assert.match(
      v,
      /\n\nmaintained by Sample Maintainer &lt;hmm@example\\\.invalid&gt;, New Name &lt;mm@example\\\.invalid&gt; · list linux\\-mm@kvack\\\.org, linux\\-kernel@vger\\\.kernel\\\.org\n\n/,
    );
  });

  it('marks consumers via a header inline in the hover', async () => {
    await lsp.open('mm/memremap.c', readFileSync(join(root, 'mm/memremap.c'), 'latin1'));
    const h = (await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri('mm/memremap.c') }, position: { line: 7, character: 16 } })) as MarkupHover;
    assert.match(h.contents.value, /\*\*1 consumer\*\*\n- drivers\/gpu\/drm\/vgpu\/ \[vgpu\\_svm\\.c:22\]\(.*\) via put\\_page\(\) in include\/linux\/mm\\.h/);
  });

  it('shows a code lens above each export line', async () => {
    const lenses = (await lsp.conn.sendRequest('textDocument/codeLens', { textDocument: { uri: lsp.uri('mm/hmm.c') } })) as { range: { start: { line: number } }; command: { title: string } }[];
    assert.deepEqual(
      lenses.map((l) => [l.range.start.line, l.command.title]),
      [
        [38, 'any license · 3 consumers'],
        [44, 'GPL-only · 1 consumer'],
        [50, 'GPL-only · no consumer'],
        [56, 'any license · 1 consumer'],
        [58, 'GPL-only · 1 consumer'],
      ],
    );
  });

  it('offers the GPL quick fix as one edit, and the warning goes when it is applied', async () => {
    const pub = lsp.published.get(lsp.uri('mm/hmm.c'))!;
    const diag = pub.diagnostics.find((d) => d.code === 'NOT_GPL_ONLY')!;
    const actions = (await lsp.conn.sendRequest('textDocument/codeAction', { textDocument: { uri: lsp.uri('mm/hmm.c') }, range: diag.range, context: { diagnostics: [diag] } })) as {
      title: string;
      kind: string;
      edit: { changes: Record<string, { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }[]> };
    }[];
    assert.deepEqual(
      actions.map((a) => [a.title, a.kind]),
      [['Use EXPORT_SYMBOL_GPL for hmm_range_fault', 'quickfix']],
    );
    const [edit] = actions[0]!.edit.changes[lsp.uri('mm/hmm.c')]!;
    assert.deepEqual(edit, { range: { start: { line: 38, character: 0 }, end: { line: 38, character: 13 } }, newText: 'EXPORT_SYMBOL_GPL' });

    await lsp.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri: lsp.uri('mm/hmm.c'), version: 2 },
      contentChanges: [{ range: edit!.range, text: edit!.newText }],
    });
    const after = await lsp.until(() => {
      const p = lsp.published.get(lsp.uri('mm/hmm.c'));
      return p?.version === 2 && p;
    }, 'diagnostics of version 2');
    assert.deepEqual(
      after.diagnostics.map((d) => d.code),
      ['TEST_ONLY_CONSUMERS', 'NO_CONSUMER', 'TEST_ONLY_CONSUMERS'],
    );
    // the editor is asked to fetch lenses again, and they follow the edit
    const refreshes = lsp.lensRefreshes;
    await lsp.until(() => lsp.lensRefreshes > refreshes || lsp.lensRefreshes, 'a code lens refresh');
    const lenses = (await lsp.conn.sendRequest('textDocument/codeLens', { textDocument: { uri: lsp.uri('mm/hmm.c') } })) as { command: { title: string } }[];
    assert.equal(lenses[0]!.command.title, 'GPL-only · 3 consumers');
  });

  it('finds all references of an export: its consumers', async () => {
    const refs = (await lsp.conn.sendRequest('textDocument/references', {
      textDocument: { uri: lsp.uri('mm/memremap.c') },
      position: { line: 7, character: 16 },
      context: { includeDeclaration: false },
    })) as { uri: string; range: { start: { line: number; character: number } } }[];
    assert.deepEqual(
      refs.map((r) => [r.uri.slice(r.uri.indexOf('/drivers/') + 1), r.range.start.line, r.range.start.character]),
      [['drivers/gpu/drm/vgpu/vgpu_svm.c', 21, 1]],
    );
  });

  it('finds exports by name in the workspace', async () => {
    const syms = (await lsp.conn.sendRequest('workspace/symbol', { query: 'migrate_vma' })) as { name: string; containerName: string; kind: number }[];
    assert.deepEqual(
      syms.map((s) => [s.name, s.containerName, s.kind]),
      [
        ['migrate_vma_setup', 'EXPORT_SYMBOL · any license', 12],
        ['migrate_vma_unmap', 'EXPORT_SYMBOL_GPL · GPL-only', 12],
        ['migrate_vma_finalize', 'EXPORT_SYMBOL_GPL · GPL-only', 12],
        ['migrate_vma_finalize', 'EXPORT_SYMBOL_GPL · GPL-only', 12],
      ],
    );
  });

  it('lists unused exports for the command', async () => {
    const unused = (await lsp.conn.sendRequest('kexports/unusedExports', { under: lsp.uri('mm') })) as { name: string; note: string }[];
    assert.deepEqual(
      unused.map((u) => [u.name, u.note]),
      [
        ['hmm_range_snapshot_unused', 'used only by tools'],
        ['memunmap_pages', ''],
        ['migrate_vma_unmap', ''],
        ['migrate_vma_finalize', ''],
        ['migrate_vma_finalize', ''],
      ],
    );
  });

  it('follows files changed on disk', async () => {
    writeFileSync(join(root, 'drivers/gpu/drm/vgpu/vgpu_snap.c'), 'int vgpu_snap(struct hmm_range *r)\n{\n\treturn hmm_range_snapshot_unused(r);\n}\n');
    await lsp.conn.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: lsp.uri('drivers/gpu/drm/vgpu/vgpu_snap.c'), type: 1 }] });
    await lsp.untilCodes('mm/hmm.c', ['TEST_ONLY_CONSUMERS', 'TEST_ONLY_CONSUMERS']);
  });

  it('applies settings, warning once about a malformed one', async () => {
    lsp.settings = { severity: { TEST_ONLY_CONSUMERS: 'off' }, lenses: 'sometimes' };
    await lsp.conn.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    await lsp.untilCodes('mm/hmm.c', []);
    await lsp.until(() => lsp.messages.length > 0, 'the warning');
    assert.deepEqual(lsp.messages, [{ type: 2, message: 'kexports.lenses: expected true or false; using the default' }]);
  });

  it('re-indexes when the exclude globs change, and drops what they leave out', async () => {
    const ready = lsp.statuses.filter((s) => s.state === 'ready').length;
    lsp.settings = { severity: { TEST_ONLY_CONSUMERS: 'off' }, exclude: ['lib/**'] };
    await lsp.conn.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    // lib/test_hmm.c was hmm_dma_test_helper's only user
    const pub = await lsp.untilCodes('mm/hmm.c', ['NO_CONSUMER']);
    assert.equal(pub.diagnostics[0]!.range.start.line, 44);
    assert.equal(lsp.statuses.filter((s) => s.state === 'ready').length, ready + 1);
    lsp.settings = { severity: { TEST_ONLY_CONSUMERS: 'off' } };
    await lsp.conn.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    await lsp.untilCodes('mm/hmm.c', []);
  });
});

describe('the language server with a huge generated header open', () => {
  it('answers other requests while the header waits its turn', async () => {
    const root = copySampleTree();
    const lsp = new LspClient(root);
    await lsp.startReady();
    await lsp.open('mm/memremap.c', readFileSync(join(root, 'mm/memremap.c'), 'latin1'));
    await lsp.until(() => lsp.published.get(lsp.uri('mm/memremap.c')), 'memremap.c diagnostics');
    // 12 MB of register defines, as the amdgpu headers are
    const huge = Array.from({ length: 400_000 }, (_, k) => `#define regGC_SAMPLE_${k}\t0x${k.toString(16)}`).join('\n');
    await lsp.open('drivers/gpu/drm/amd/include/asic_reg/gc_sample.h', huge);
    const h = (await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri('mm/memremap.c') }, position: { line: 7, character: 16 } })) as { contents: { value: string } };
    assert.match(h.contents.value, /devmap\\_managed\\_key/);
    assert.equal(lsp.published.has(lsp.uri('drivers/gpu/drm/amd/include/asic_reg/gc_sample.h')), false, 'the hover was answered before the huge header was analysed');
    const pub = await lsp.until(() => lsp.published.get(lsp.uri('drivers/gpu/drm/amd/include/asic_reg/gc_sample.h')), 'the header diagnostics');
    assert.deepEqual(pub.diagnostics, []);
    await lsp.stop();
  });
});

describe('the review request', () => {
  it('reviews a range when trusted, and puts the index back', async (t) => {
    const repo = seriesRepo();
    const lsp = new LspClient(repo);
    t.after(() => lsp.child.kill());
    await lsp.startReady();
    const lensesOf = async (): Promise<string[]> =>
      ((await lsp.conn.sendRequest('textDocument/codeLens', { textDocument: { uri: lsp.uri('mm/memremap.c') } })) as { command: { title: string } }[]).map((l) => l.command.title);
    const before = await lensesOf();

    const r = (await lsp.conn.sendRequest('kexports/review', { source: { kind: 'range', range: 'v1..HEAD' } })) as { markdown: string; reply: string; findings: number; problems: string[] };
    assert.equal(r.findings, 8);
    assert.deepEqual(r.problems, []);
    assert.match(r.markdown, /\| 1\/6 \| mm\/hmm: add hmm\\_range\\_dma\\_unused\\\(\\\) \| hmm\\_range\\_dma\\_unused \|/);
    assert.match(
      r.markdown,
      /- migrate\\_vma\\_pages\\_sample \(EXPORT_SYMBOL_GPL, GPL-only\) in patch 2\/6, \[mm\/migrate\\_device\\.c:21\]\(<\/.*\/mm\/migrate_device\.c#L21>\): first consumer in patch 5/,
    );
    assert.match(r.reply, /^> \+EXPORT_SYMBOL\(hmm_range_dma_unused\);$/m);
    assert.match(r.markdown, /first consumer in patch 5.*\n {2}- driver: \[drivers\/gpu\/drm\/vgpu\/vgpu\\_svm\\.c:37\]/);
    assert.deepEqual(await lensesOf(), before, 'the live index is as it was');
    // mail needs no git: it is reviewed in an untrusted workspace too
    edit(repo, 'mm/page_walk.c', 'EXPORT_SYMBOL_GPL(walk_page_range_sample);', 'EXPORT_SYMBOL(walk_page_range_sample);');
    const mbox = join(tempDir(), 'relax.patch');
    writeFileSync(
      mbox,
      `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nSubject: [PATCH] mm: relax\n\n---\n${execFileSync('git', ['diff'], { cwd: repo, encoding: 'utf8' })}`,
    );
    execFileSync('git', ['checkout', '--', 'mm/page_walk.c'], { cwd: repo });
    const m = (await lsp.conn.sendRequest('kexports/review', { source: { kind: 'path', uri: pathToFileURL(mbox).toString() } })) as { findings: number; reply: string };
    assert.equal(m.findings, 1);
    assert.match(m.reply, /^> \+EXPORT_SYMBOL\(walk_page_range_sample\);$/m);
    await lsp.stop();
  });
});

describe('the language server reviewing a Makefile change', () => {
  it('reports it, then puts the namespaces back as the tree has them', async () => {
    const root = copySampleTree();
    const lsp = new LspClient(root);
    await lsp.startReady();
    const patch = join(tempDir(), 'ns.patch');
    writeFileSync(
      patch,
      'From 5555555555555555555555555555555555555555 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nSubject: [PATCH] usb-storage: rename the namespace\n\n---\ndiff --git a/drivers/usb/storage/Makefile b/drivers/usb/storage/Makefile\n--- a/drivers/usb/storage/Makefile\n+++ b/drivers/usb/storage/Makefile\n@@ -3 +3 @@\n-ccflags-y := -DDEFAULT_SYMBOL_NAMESPACE=USB_STORAGE\n+ccflags-y := -DDEFAULT_SYMBOL_NAMESPACE=USB_STORAGE_CORE\n',
    );
    const r = (await lsp.conn.sendRequest('kexports/review', { source: { kind: 'path', uri: pathToFileURL(patch).toString() } })) as { findings: number; markdown: string };
    assert.equal(r.findings, 2);
    assert.match(r.markdown, /`MISSING_NAMESPACE_IMPORT`.* from namespace USB\\_STORAGE\\_CORE, but does not import it/);
    await lsp.open('drivers/usb/storage/usb.c', readFileSync(join(root, 'drivers/usb/storage/usb.c'), 'latin1'));
    const h = (await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri('drivers/usb/storage/usb.c') }, position: { line: 8, character: 20 } })) as MarkupHover;
    assert.match(h.contents.value, /namespace: `USB_STORAGE`\n/);
    await lsp.stop();
  });
});

describe('the language server outside a kernel tree', () => {
  it('stays quiet: an idle status, no diagnostics, no hover', async () => {
    const root = writeTree({ 'src/a.c': 'int a(void) { return 0; }\nEXPORT_SYMBOL(a);\n' }, true);
    const lsp = new LspClient(root);
    await lsp.start();
    await lsp.until(() => lsp.statuses.find((s) => s.state === 'idle'), 'the idle status');
    await lsp.open('src/a.c', 'int a(void) { return 0; }\nEXPORT_SYMBOL(a);\n');
    const h = await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri('src/a.c') }, position: { line: 1, character: 15 } });
    assert.equal(h, null);
    assert.deepEqual(lsp.statuses, [{ state: 'idle', message: 'not a kernel tree (no Kbuild and MAINTAINERS): nothing to index' }]);
    assert.equal(lsp.published.size, 0);
    await lsp.stop();
  });

  it('runs as `kexports lsp --stdio` too', async () => {
    const lsp = new LspClient(sampleTree, [join(repoRoot, 'dist/cli.js'), 'lsp', '--stdio']);
    await lsp.startReady();
    await lsp.stop();
  });
});

describe('the language server on exports an #include makes', () => {
  it('puts one lens on the #include line, and offers no GPL quick fix there', async () => {
    const qspin = selfIncludingQspin;
    const thunks = '#define GEN(reg) EXPORT_SYMBOL_GPL(__thunk_ ## reg)\n#include <asm/regs.h>\n#undef GEN\n';
    const root = writeTree({
      'kernel/locking/qspin.c': qspin,
      'arch/x86/lib/thunks.S': thunks,
      'arch/x86/include/asm/regs.h': 'GEN(rax)\nGEN(rcx)\n',
      'drivers/x/user.c': 'void f(void) { __thunk_rax(); }\n',
    });
    const lsp = new LspClient(root);
    lsp.settings = { gplOnlyPaths: ['kernel/locking/**'] };
    await withServer(lsp, async () => {
      await lsp.open('arch/x86/lib/thunks.S', thunks);
      const lenses = (await lsp.conn.sendRequest('textDocument/codeLens', { textDocument: { uri: lsp.uri('arch/x86/lib/thunks.S') } })) as {
        range: { start: { line: number } };
        command: { title: string };
      }[];
      assert.deepEqual(
        lenses.map((l) => [l.range.start.line, l.command.title]),
        [[1, '2 exports · all GPL-only · 1 with no consumer']],
      );

      await lsp.open('kernel/locking/qspin.c', qspin);
      const pub = await lsp.until(() => lsp.published.get(lsp.uri('kernel/locking/qspin.c')), 'diagnostics of qspin.c');
      const gpl = pub.diagnostics.filter((d) => d.code === 'NOT_GPL_ONLY');
      assert.deepEqual(
        gpl.map((d) => [d.range.start.line, d.range.start.character, d.range.end.character]),
        [
          [4, 0, 40],
          [9, 0, 18],
        ],
      );
      const fixes = async (d: (typeof gpl)[number]): Promise<string[]> =>
        (
          (await lsp.conn.sendRequest('textDocument/codeAction', { textDocument: { uri: lsp.uri('kernel/locking/qspin.c') }, range: d.range, context: { diagnostics: [d] } })) as { title: string }[]
        ).map((a) => a.title);
      assert.deepEqual(await fixes(gpl[0]!), ['Use EXPORT_SYMBOL_GPL for native_queued_spin_lock_slowpath']);
      assert.deepEqual(await fixes(gpl[1]!), [], 'the #include line is left as it is');

      const h = (await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri('drivers/x/user.c') }, position: { line: 0, character: 18 } })) as MarkupHover;
      assert.match(h.contents.value, /exported at \[arch\/x86\/lib\/thunks\\\.S:2\]\(.*\) through the #include of \[arch\/x86\/include\/asm\/regs\\\.h:1\]\(.*regs\.h#L1\)/);
    });
  });

  it('hovers with what an export is in other configs, and where a generated one is printed', async () => {
    const root = writeTree({
      'include/linux/fw_table.h':
        '#ifndef CONFIG_CXL_BUS\n#define EXPORT_SYMBOL_FWTBL_LIB(x) EXPORT_SYMBOL_NS_GPL(x, ACPI)\n#else\n#define EXPORT_SYMBOL_FWTBL_LIB(x) EXPORT_SYMBOL_NS(x, CXL)\n#endif\n',
      'lib/fw_table.c': 'int cdat_table_parse(void) { return 0; }\nEXPORT_SYMBOL_FWTBL_LIB(cdat_table_parse);\n',
      'lib/raid6/mktables.c': 'int main(void)\n{\n\tprintf("EXPORT_SYMBOL(raid6_gfmul);\\n");\n}\n',
      'drivers/cxl/cdat.c': 'int f(void) { return cdat_table_parse() + raid6_gfmul[0][0]; }\n',
    });
    const lsp = new LspClient(root);
    await withServer(lsp, async () => {
      await lsp.open('drivers/cxl/cdat.c', 'int f(void) { return cdat_table_parse() + raid6_gfmul[0][0]; }\n');
      const hover = async (character: number): Promise<string> =>
        ((await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri('drivers/cxl/cdat.c') }, position: { line: 0, character } })) as MarkupHover).contents.value;
      const cdat = await hover(25);
      assert.match(cdat, /^namespace: `ACPI`$/m);
      assert.match(cdat, /^in other configs: \*\*any license\*\*, namespace `CXL`, by \[include\/linux\/fw\\_table\\\.h:4\]\(.*fw_table\.h#L4\)$/m);
      const gfmul = await hover(45);
      assert.match(gfmul, /exported at \[lib\/raid6\/mktables\\\.c:3\]\(.*\), printed there into a file generated at build time/);
    });
  });
});

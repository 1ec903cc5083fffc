/** The language server with the build model: hovers group consumers by module, findings judge by module, edits to Makefiles and Kconfig files count. */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot, tempDir } from '../helpers';
import { LspClient, withServer } from './lspClient';

interface MarkupHover {
  contents: { kind: string; value: string };
}

describe('the language server with the build model', () => {
  it('groups a hover’s consumers by module and follows a Makefile edit', async () => {
    const tree = tempDir('kexports-lsp-kbuild-');
    cpSync(join(repoRoot, 'test/fixtures/kbuild-tree'), tree, { recursive: true });
    const lsp = new LspClient(tree);
    await withServer(lsp, async () => {
      const hover = async (path: string, line: number, character: number): Promise<string> =>
        ((await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri(path) }, position: { line, character } })) as MarkupHover).contents.value;

      const hmm = readFileSync(join(tree, 'mm/hmm.c'), 'latin1');
      await lsp.open('mm/hmm.c', hmm);
      await lsp.untilCodes('mm/hmm.c', ['FOR_MODULES_CANDIDATE']);
      const h = await hover('mm/hmm.c', 8, 20); // EXPORT_SYMBOL_GPL(hmm_range_fault);
      const lines = h.split('\n\n');
      assert.ok(lines.includes('built into: built in only \\(CONFIG\\_HMM\\_MIRROR, bool\\)'), h);
      assert.equal(
        lines.at(-1),
        `**1 consumer**\n- drivers/gpu/nouveau/nouveau \\(CONFIG\\_DRM\\_NOUVEAU, tristate\\): [drivers/gpu/nouveau/nouveau\\_svm\\.c:6](${lsp.uri('drivers/gpu/nouveau/nouveau_svm.c')}#L6)`,
      );

      // nvmem's core.c becomes a module of its own: its one consumer, layouts.c, stays built in
      const core = readFileSync(join(tree, 'drivers/nvmem/core.c'), 'latin1');
      await lsp.open('drivers/nvmem/core.c', core);
      await lsp.untilCodes('drivers/nvmem/core.c', ['BUILTIN_ONLY_CONSUMERS']);
      writeFileSync(join(tree, 'drivers/nvmem/Makefile'), 'obj-m += nvmem_core.o\nnvmem_core-y := core.o\nobj-m += layouts.o\n');
      await lsp.conn.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: lsp.uri('drivers/nvmem/Makefile'), type: 2 }] });
      // now layouts.ko uses it from another module, the only one: it could be exported for that module alone
      const pub = await lsp.untilCodes('drivers/nvmem/core.c', ['FOR_MODULES_CANDIDATE']);
      assert.equal(pub.diagnostics[0]!.message, 'nvmem_sample_read\'s modular users are only drivers/nvmem/layouts.ko: it could be EXPORT_SYMBOL_FOR_MODULES(nvmem_sample_read, "layouts")');
      const after = (await hover('drivers/nvmem/core.c', 7, 20)).split('\n\n');
      assert.ok(after.includes('built into: drivers/nvmem/nvmem\\_core \\(CONFIG\\_NVMEM=y\\)'), after.join('\n\n'));
      assert.ok(after.at(-1)!.startsWith('**1 consumer**\n- drivers/nvmem/layouts \\(CONFIG\\_NVMEM=y\\): '), after.join('\n\n'));
      assert.ok(
        lsp.logs.some((l) => /build model updated for drivers\/nvmem\/Makefile in \d+ ms/.test(l)),
        lsp.logs.join('\n'),
      );
    });
  });
});

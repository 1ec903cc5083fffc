import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkExports } from '../../src/core/findings/findings';
import { functionsUsing, helperConsumers } from '../../src/core/index/helpers';
import { buildIndex } from '../../src/core/index/index';
import { runCli, writeTree } from '../helpers';
import { LspClient, withServer } from '../server/lspClient';

// Modelled on amdgpu: kfd_svm.c reaches hmm_range_fault() only through amdgpu's own helper.
const tree = {
  'mm/hmm.c': 'int hmm_range_fault(struct hmm_range *range)\n{\n\treturn 0;\n}\nEXPORT_SYMBOL(hmm_range_fault);\n',
  'drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c': [
    '/* amdgpu_hmm_get_pages() wraps hmm_range_fault() */',
    'int amdgpu_hmm_get_pages(struct hmm_range *range)',
    '{',
    '\treturn hmm_range_fault(range);',
    '}',
    'static int amdgpu_hmm_local(struct hmm_range *range)',
    '{',
    '\treturn hmm_range_fault(range);',
    '}',
    'int amdgpu_hmm_unrelated(void)',
    '{',
    '\treturn 0; /* hmm_range_fault() is not called here */',
    '}',
  ].join('\n'),
  'drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.h': 'int amdgpu_hmm_get_pages(struct hmm_range *range);\n',
  'drivers/gpu/drm/amd/amdkfd/kfd_svm.c': '#include "amdgpu_hmm.h"\nstatic int svm_range_validate(struct hmm_range *r)\n{\n\treturn amdgpu_hmm_get_pages(r);\n}\n',
  'drivers/gpu/drm/amd/amdkfd/kfd_other.c': 'int kfd_other(void)\n{\n\treturn amdgpu_hmm_unrelated();\n}\n',
  'drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c': 'int ttm(struct hmm_range *r)\n{\n\treturn amdgpu_hmm_get_pages(r) + hmm_range_fault(r);\n}\n',
};

describe('consumers through a helper function', () => {
  it('finds the non-static functions whose bodies call the export, not a comment or another function', () => {
    assert.deepEqual(functionsUsing(Buffer.from(tree['drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c']), ['hmm_range_fault']), [{ name: 'amdgpu_hmm_get_pages', line: 2 }]);
  });

  it('finds each function whose body calls the export, after other bodies that call it too', () => {
    // modelled on kernel/time/time.c: do_settimeofday64() is called in two SYSCALL_DEFINE bodies
    // (not function definitions to the scanner) before do_sys_settimeofday64() calls it
    const file = [
      'SYSCALL_DEFINE1(stime, int, t)',
      '{',
      '\treturn hmm_range_fault(t);',
      '}',
      'static int local(int t) { return hmm_range_fault(t); }',
      'int helper_one(int t)',
      '{',
      '\treturn hmm_range_fault(t);',
      '}',
      'int helper_two(int t) { return hmm_range_fault(t) + helper_one(t); }',
      'int not_one(int t) { return helper_one(t); }',
    ].join('\n');
    assert.deepEqual(functionsUsing(Buffer.from(file), ['hmm_range_fault']), [
      { name: 'helper_one', line: 6 },
      { name: 'helper_two', line: 10 },
    ]);
  });

  it('lists the callers of such a helper in other files, and leaves the findings to direct consumers', async () => {
    const root = writeTree(tree);
    const index = await buildIndex(root);
    const [exp] = index.exportsNamed('hmm_range_fault');
    const direct = index.consumers(exp!);
    assert.deepEqual(direct.map((c) => c.file).sort(), ['drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c', 'drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c']);
    assert.deepEqual(helperConsumers(index, exp!, direct), [
      { file: 'drivers/gpu/drm/amd/amdkfd/kfd_svm.c', line: 4, cls: 'driver', via: { name: 'amdgpu_hmm_get_pages', file: 'drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c', line: 2, kind: 'function' } },
    ]);
    // asked again after kfd_svm.c stops calling the helper: not the answer from before
    index.updateFile('drivers/gpu/drm/amd/amdkfd/kfd_svm.c', Buffer.from('static int svm_range_validate(void)\n{\n\treturn 0;\n}\n'));
    assert.deepEqual(helperConsumers(index, exp!, index.consumers(exp!)), []);
    // kfd_svm.c calls the helper again
    index.updateFile('drivers/gpu/drm/amd/amdkfd/kfd_svm.c', Buffer.from(tree['drivers/gpu/drm/amd/amdkfd/kfd_svm.c']));
    assert.equal(helperConsumers(index, exp!, index.consumers(exp!)).length, 1);
    // The helper's own file, whose functions were found for the answers above, edited: a long comment
    // above them moves every function. Found where they are now, the helper still counts.
    const moved = `/*${'-'.repeat(400)}*/\n${tree['drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c']}`;
    writeFileSync(join(root, 'drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c'), moved);
    index.updateFile('drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c', Buffer.from(moved));
    assert.deepEqual(
      helperConsumers(index, exp!, index.consumers(exp!)).map((c) => `${c.file}:${c.line} via ${c.via?.name}:${c.via?.line}`),
      ['drivers/gpu/drm/amd/amdkfd/kfd_svm.c:4 via amdgpu_hmm_get_pages:3'],
    );

    // An export used only in its own directory stays SAME_DIR_CONSUMERS, whoever calls the user's helper.
    const sameDir = await buildIndex(
      writeTree({
        'mm/a.c': 'int mm_a(void)\n{\n\treturn 1;\n}\nEXPORT_SYMBOL_GPL(mm_a);\n',
        'mm/b.c': 'int mm_b(void)\n{\n\treturn mm_a();\n}\n',
        'drivers/x/x.c': 'int x(void)\n{\n\treturn mm_b();\n}\n',
      }),
    );
    const [a] = sameDir.exportsNamed('mm_a');
    assert.deepEqual(
      helperConsumers(sameDir, a!, sameDir.consumers(a!)).map((c) => `${c.cls} ${c.file} via ${c.via?.name}`),
      ['driver drivers/x/x.c via mm_b'],
    );
    assert.deepEqual(
      checkExports(sameDir, ['mm'], { gplOnlyPaths: [], severity: {}, testsCountAsConsumers: true }).map((f) => f.code),
      ['SAME_DIR_CONSUMERS'],
    );
  });

  it('finds a helper that calls a name new to the index, after its file was read before the name was indexed', async () => {
    const root = writeTree({ ...tree, 'drivers/gpu/drm/amd/amdkfd/kfd_new.c': 'int kfd_new(void)\n{\n\treturn amdgpu_hmm_new();\n}\n' });
    const index = await buildIndex(root);
    const [hmm] = index.exportsNamed('hmm_range_fault');
    // amdgpu_hmm.c on disk gains amdgpu_hmm_new(), which calls hmm_range_new(), a name no indexed file
    // has yet; a search reads the file from disk before the editor hands it over
    const helperFile = 'drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c';
    const grown = `${tree[helperFile]}\nint amdgpu_hmm_new(void)\n{\n\treturn hmm_range_new();\n}\n`;
    writeFileSync(join(root, helperFile), grown);
    assert.equal(helperConsumers(index, hmm!, index.consumers(hmm!)).length, 1);
    // then the new export is indexed, and the helper's file
    const edit = (path: string, text: string): void => {
      writeFileSync(join(root, path), text);
      index.updateFile(path, Buffer.from(text));
    };
    edit('mm/hmm_new.c', 'int hmm_range_new(void)\n{\n\treturn 0;\n}\nEXPORT_SYMBOL_GPL(hmm_range_new);\n');
    edit(helperFile, grown);
    const [fresh] = index.exportsNamed('hmm_range_new');
    assert.deepEqual(
      helperConsumers(index, fresh!, index.consumers(fresh!)).map((c) => `${c.file}:${c.line} via ${c.via?.name}`),
      ['drivers/gpu/drm/amd/amdkfd/kfd_new.c:3 via amdgpu_hmm_new'],
    );
  });

  it('shows them in the CLI after the consumers, counted apart', () => {
    const root = writeTree(tree);
    const r = runCli(['consumers', '--tree', root, '--no-cache', 'hmm_range_fault']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'hmm_range_fault (EXPORT_SYMBOL, any license) mm/hmm.c:5: 2 consumers; 1 more through helper function',
        '  driver    drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c:4',
        '  driver    drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c:3',
        '  driver    drivers/gpu/drm/amd/amdkfd/kfd_svm.c:4  via amdgpu_hmm_get_pages() in drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c',
        '',
      ].join('\n'),
    );
    const json = JSON.parse(runCli(['consumers', '--tree', root, '--no-cache', '--format', 'json', 'hmm_range_fault']).stdout);
    assert.deepEqual(
      json[0].consumers.map((c: { file: string }) => c.file),
      ['drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c', 'drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c'],
    );
    assert.deepEqual(json[0].throughHelpers, [
      { file: 'drivers/gpu/drm/amd/amdkfd/kfd_svm.c', line: 4, cls: 'driver', via: { name: 'amdgpu_hmm_get_pages', file: 'drivers/gpu/drm/amd/amdgpu/amdgpu_hmm.c', line: 2, kind: 'function' } },
    ]);
  });

  it('shows them in the hover of the language server, after the consumers', async () => {
    const root = writeTree(tree);
    const lsp = new LspClient(root);
    await withServer(lsp, async () => {
      await lsp.open('mm/hmm.c', tree['mm/hmm.c']);
      const h = (await lsp.conn.sendRequest('textDocument/hover', { textDocument: { uri: lsp.uri('mm/hmm.c') }, position: { line: 4, character: 16 } })) as { contents: { value: string } };
      assert.match(h.contents.value, /\*\*2 consumers\*\*\n- drivers\/gpu\/drm\/amd\/amdgpu\/ \[amdgpu\\_hmm\\.c:4\]\(.*\), \[amdgpu\\_ttm\\.c:3\]\(.*\)\n/);
      assert.match(
        h.contents.value,
        /\n- through helper functions, which only their own module can call: \[drivers\/gpu\/drm\/amd\/amdkfd\/kfd\\_svm\\.c:4\]\(file:.*kfd_svm\.c#L4\) via amdgpu\\_hmm\\_get\\_pages\(\) in drivers\/gpu\/drm\/amd\/amdgpu\/amdgpu\\_hmm\\.c$/,
      );
    });
  });

  it('finds them the same way through a bulk query, where files without a possible helper are not read', async () => {
    // 80 exports, each with a helper in its consumer's file; past 64 files read, the files are judged
    // from the postings first (mayHaveHelpers)
    const files: Record<string, string> = {};
    for (let k = 0; k < 80; k++) {
      files[`lib/e${k}.c`] = `int e${k}(void)\n{\n\treturn ${k};\n}\nEXPORT_SYMBOL(e${k});\n`;
      files[`drivers/d${k}/a.c`] = `static int local${k}(void)\n{\n\treturn e${k}();\n}\nint h${k}(void)\n{\n\treturn e${k}() + local${k}();\n}\n`;
      files[`drivers/d${k}/b.c`] = `int b${k}(void)\n{\n\treturn h${k}();\n}\n`;
    }
    // a consumer file whose only non-static function nobody else calls: no helper
    files['drivers/d0/lonely.c'] = 'int lonely(void)\n{\n\treturn e0();\n}\n';
    const root = writeTree(files);
    const index = await buildIndex(root);
    const helpersOf = (k: number): string[] => {
      const [e] = index.exportsNamed(`e${k}`);
      return helperConsumers(index, e!, index.consumers(e!)).map((c) => `${c.file}:${c.line} via ${c.via?.name}`);
    };
    for (let k = 0; k < 80; k++) assert.deepEqual(helpersOf(k), [`drivers/d${k}/b.c:3 via h${k}`], `e${k}`);
    // an edited file (its postings in the overlay) gains a helper, called from a new file
    const edit = (path: string, text: string): void => {
      writeFileSync(join(root, path), text);
      index.updateFile(path, Buffer.from(text));
    };
    edit('drivers/d79/a.c', `${files['drivers/d79/a.c']}int g79(void)\n{\n\treturn e79();\n}\n`);
    edit('drivers/d79/c.c', 'int c79(void)\n{\n\treturn g79();\n}\n');
    for (let k = 0; k < 79; k++) assert.deepEqual(helpersOf(k), [`drivers/d${k}/b.c:3 via h${k}`], `e${k} again`);
    assert.deepEqual(helpersOf(79), ['drivers/d79/b.c:3 via h79', 'drivers/d79/c.c:3 via g79']);
  });
});

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main';
import { repoRoot, runCli, sampleTree, tempDir, writeTree } from '../helpers';

describe('kexports check', () => {
  it('prints findings like checkpatch, the consumers, a total, and exits 1 on warnings', () => {
    const r = runCli(['check', '--tree', sampleTree, 'mm/hmm.c']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stdout,
      `WARNING:NOT_GPL_ONLY: hmm_range_fault is exported with EXPORT_SYMBOL (any license); the GPL-only policy for mm/hmm.c wants EXPORT_SYMBOL_GPL
#39: FILE: mm/hmm.c:39:
+EXPORT_SYMBOL(hmm_range_fault);

WARNING:TEST_ONLY_CONSUMERS: hmm_dma_test_helper is exported but only tests use it: lib/test_hmm.c
#45: FILE: mm/hmm.c:45:
+EXPORT_SYMBOL_GPL(hmm_dma_test_helper);

WARNING:NO_CONSUMER: hmm_range_snapshot_unused is exported but has no in-tree consumer (only userspace tools/ use the name)
#51: FILE: mm/hmm.c:51:
+EXPORT_SYMBOL_GPL(hmm_range_snapshot_unused);

WARNING:TEST_ONLY_CONSUMERS: hmm_pfn_order_check is exported but only tests use it: mm/tests/hmm_kunit.c
#57: FILE: mm/hmm.c:57:
+EXPORT_SYMBOL_IF_KUNIT(hmm_pfn_order_check);

Consumers of the 5 exports checked:
hmm_range_fault (EXPORT_SYMBOL, any license) mm/hmm.c:39: 3 consumers
  driver    drivers/gpu/drm/vgpu/vgpu_svm.c:21
  driver    drivers/infiniband/core/odp_umem.c:13
  test      lib/test_hmm.c:12
hmm_dma_test_helper (EXPORT_SYMBOL_GPL, GPL-only) mm/hmm.c:45: 1 consumer
  test      lib/test_hmm.c:15
hmm_range_snapshot_unused (EXPORT_SYMBOL_GPL, GPL-only) mm/hmm.c:51: no consumer
  tools     tools/mm/hmm_stat.c:7
hmm_pfn_order_check (EXPORT_SYMBOL_IF_KUNIT, any license, namespace EXPORTED_FOR_KUNIT_TESTING) mm/hmm.c:57: 1 consumer
  test      mm/tests/hmm_kunit.c:11
hmm_fault_done (EXPORT_TRACEPOINT_SYMBOL_GPL, GPL-only) mm/hmm.c:59: 1 consumer
  driver    drivers/infiniband/core/odp_umem.c:12

total: 0 errors, 4 warnings, 0 infos, 5 exports checked
`,
    );
  });

  it('takes paths relative to the current folder inside the tree', () => {
    const r = runCli(['check', 'memremap.c', '--fail-on', 'error'], { cwd: join(sampleTree, 'mm') });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^WARNING:NOT_GPL_ONLY: devmap_managed_key /);
    assert.match(
      r.stdout,
      /devmap_managed_key \(EXPORT_SYMBOL, any license\) mm\/memremap.c:8: 1 consumer\n {2}driver {4}drivers\/gpu\/drm\/vgpu\/vgpu_svm.c:22 {2}via put_page\(\) in include\/linux\/mm.h\n/,
    );
  });

  it('sets the exit code by --fail-on', () => {
    assert.equal(runCli(['check', '--tree', sampleTree, 'mm/page_walk.c']).code, 0, 'an info finding is under the default warning threshold');
    assert.equal(runCli(['check', '--tree', sampleTree, '--fail-on', 'info', 'mm/page_walk.c']).code, 1);
    assert.equal(runCli(['check', '--tree', sampleTree, '--fail-on', 'none']).code, 0);
    const bad = runCli(['check', '--tree', sampleTree, '--fail-on', 'loud']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^kexports: --fail-on loud: expected error, warning, info, hint or none\n/);
  });

  it('writes SARIF 2.1.0 with rules linking to the README', () => {
    const r = runCli(['check', '--tree', sampleTree, '--format', 'sarif', 'mm/migrate_device.c']);
    const log = JSON.parse(r.stdout);
    assert.equal(log.version, '2.1.0');
    const run = log.runs[0];
    assert.deepEqual(
      run.tool.driver.rules.map((x: { id: string; helpUri: string }) => [x.id, x.helpUri.replace(/.*#/, '#')]),
      [
        ['DUPLICATE_EXPORT', '#duplicate_export'],
        ['EXPORT_SYMBOL_PLACEMENT', '#export_symbol_placement'],
        ['NOT_GPL_ONLY', '#not_gpl_only'],
        ['NO_CONSUMER', '#no_consumer'],
        ['STATIC_EXPORT', '#static_export'],
      ],
    );
    const first = run.results[0];
    assert.equal(first.ruleId, 'NOT_GPL_ONLY');
    assert.equal(first.level, 'warning');
    assert.deepEqual(first.locations[0].physicalLocation, {
      artifactLocation: { uri: 'mm/migrate_device.c', uriBaseId: 'SRCROOT' },
      region: { startLine: 15, startColumn: 1, endLine: 15, endColumn: 33 },
    });
    assert.equal(run.results.filter((x: { level: string }) => x.level === 'error').length, 2);
  });

  it('reads severities and the policy from .kexports.json, and names a bad setting', () => {
    const root = writeTree({
      '.kexports.json': JSON.stringify({ gplOnlyPaths: ['drivers/**'], severity: { NO_CONSUMER: 'error', NOT_GPL_ONLY: 'loud' }, lenses: 'yes' }),
      'drivers/x/a.c': 'int a(void) { return 0; }\nEXPORT_SYMBOL(a);\n',
    });
    const r = runCli(['check', '--tree', root]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'kexports.lenses: expected true or false; using the default\nkexports.severity.NOT_GPL_ONLY: expected one of error, warning, info, hint, off; using warning\n');
    assert.match(r.stdout, /^WARNING:NOT_GPL_ONLY: a is exported with EXPORT_SYMBOL \(any license\); the GPL-only policy for drivers\/x\/a.c wants EXPORT_SYMBOL_GPL\n/m);
    assert.match(r.stdout, /^ERROR:NO_CONSUMER: a is exported but has no in-tree consumer$/m);
  });
});

describe('kexports exports', () => {
  it('lists exports as text and as JSON', () => {
    const r = runCli(['exports', '--tree', sampleTree, 'drivers/cxl', 'drivers/dma-buf/dma-buf.c']);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      'drivers/cxl/core/port.c:13: devm_cxl_add_port_sample  EXPORT_SYMBOL_NS_GPL  GPL-only  namespace CXL\n' +
        'drivers/cxl/core/region.c:9: cxl_add_region_sample  EXPORT_SYMBOL_NS_GPL  GPL-only  namespace CXL\n' +
        'drivers/dma-buf/dma-buf.c:10: dma_buf_export_sample  EXPORT_SYMBOL_GPL  GPL-only  namespace DMA_BUF\n',
    );
    assert.equal(r.stderr, 'kexports: 3 exports\n');
    const json = JSON.parse(runCli(['exports', '--tree', sampleTree, '--format', 'json', 'arch']).stdout);
    assert.deepEqual(
      json.exports.map((e: { name: string; type: string; file: string; line: number; definition: unknown }) => [e.name, e.type, e.file, e.line, e.definition]),
      [
        ['current_task', 'EXPORT_SYMBOL', 'arch/x86/kernel/cpu/common.c', 7, { line: 6, endLine: 6, static: false, kind: 'macro-variable' }],
        ['__memcpy', 'EXPORT_SYMBOL', 'arch/x86/lib/memcpy_64.S', 14, { line: 8, endLine: 8, static: false, kind: 'asm-label' }],
      ],
    );
  });

  it('names the included file and line for an export an #include makes', () => {
    const root = writeTree({
      'lib/lzo/compress.c': '#ifndef LZO_SAFE\n#define LZO_SAFE(name) name\n#endif\nEXPORT_SYMBOL_GPL(LZO_SAFE(lzo1x_1_compress));\n',
      'lib/lzo/compress_safe.c': '#define LZO_SAFE(name) name##_safe\n#include "compress.c"\n',
    });
    const r = runCli(['exports', '--tree', root, '--no-cache', 'lib/lzo']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^lib\/lzo\/compress_safe\.c:2: lzo1x_1_compress_safe {2}EXPORT_SYMBOL_GPL {2}GPL-only {2}through the #include of lib\/lzo\/compress\.c:4$/m);
    const json = JSON.parse(runCli(['exports', '--tree', root, '--no-cache', '--format', 'json', 'lib/lzo']).stdout);
    assert.deepEqual(
      json.exports.map((e: { name: string; includedFrom?: unknown }) => [e.name, e.includedFrom ?? null]),
      [
        ['lzo1x_1_compress', null],
        ['lzo1x_1_compress_safe', { file: 'lib/lzo/compress.c', line: 4 }],
      ],
    );
  });

  it('says what an export is in other configs, and that one is printed into a generated file', () => {
    const root = writeTree({
      'include/linux/fw_table.h':
        '#ifndef CONFIG_CXL_BUS\n#define EXPORT_SYMBOL_FWTBL_LIB(x) EXPORT_SYMBOL_NS_GPL(x, ACPI)\n#else\n#define EXPORT_SYMBOL_FWTBL_LIB(x) EXPORT_SYMBOL_NS_GPL(x, CXL)\n#endif\n',
      'lib/fw_table.c': 'int cdat_table_parse(void) { return 0; }\nEXPORT_SYMBOL_FWTBL_LIB(cdat_table_parse);\n',
      'lib/raid6/mktables.c': 'int main(void)\n{\n\tprintf("EXPORT_SYMBOL(raid6_gfmul);\\n");\n}\n',
      'drivers/cxl/cdat.c': 'int f(void) { return cdat_table_parse() + raid6_gfmul[0][0]; }\n',
    });
    const r = runCli(['exports', '--tree', root, '--no-cache', 'lib']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'lib/fw_table.c:2: cdat_table_parse  EXPORT_SYMBOL_NS_GPL  GPL-only  namespace ACPI  via EXPORT_SYMBOL_FWTBL_LIB()  (other configs: namespace CXL by include/linux/fw_table.h:4)\n' +
        'lib/raid6/mktables.c:3: raid6_gfmul  EXPORT_SYMBOL  any license  printed into a file generated at build time\n',
    );
    const c = runCli(['consumers', '--tree', root, '--no-cache', 'cdat_table_parse', 'raid6_gfmul']);
    assert.equal(
      c.stdout,
      'cdat_table_parse (EXPORT_SYMBOL_NS_GPL, GPL-only, namespace ACPI (other configs: namespace CXL by include/linux/fw_table.h:4)) lib/fw_table.c:2: 1 consumer\n  driver    drivers/cxl/cdat.c:1\n' +
        'raid6_gfmul (EXPORT_SYMBOL, any license, generated at build time) lib/raid6/mktables.c:3: 1 consumer\n  driver    drivers/cxl/cdat.c:1\n',
    );
    const json = JSON.parse(runCli(['exports', '--tree', root, '--no-cache', '--format', 'json', 'lib']).stdout);
    assert.deepEqual(json.exports[0].byConfig, [{ type: 'EXPORT_SYMBOL_GPL', license: 'GPL-only', namespace: 'CXL', file: 'include/linux/fw_table.h', line: 4 }]);
    assert.deepEqual([json.exports[1].name, json.exports[1].generated, json.exports[1].definition], ['raid6_gfmul', true, null]);
  });

  it('says when the folder is not a kernel tree, and scans it anyway', () => {
    const root = writeTree({ 'lib/a.c': 'int a;\nEXPORT_SYMBOL_GPL(a);\n' }, true);
    const r = runCli(['exports'], { cwd: root });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'lib/a.c:2: a  EXPORT_SYMBOL_GPL  GPL-only\n');
    assert.equal(r.stderr, `kexports: ${root} does not look like a kernel tree (no Kbuild and MAINTAINERS); scanning it as a plain folder of C\nkexports: 1 export\n`);
  });

  it('counts what it skipped and names the file and line', () => {
    const root = writeTree({ 'mm/a.c': 'int a;\nEXPORT_SYMBOL(a);\n' });
    writeFileSync(join(root, 'mm/blob.c'), Buffer.from([105, 110, 116, 10, 0, 0]));
    const r = runCli(['exports', '--tree', root]);
    assert.equal(r.stderr, 'kexports: skipped 1 file (1 binary)\nkexports:   mm/blob.c: binary: NUL byte at line 2\nkexports: 1 export\n');
  });
});

describe('kexports consumers', () => {
  it('answers many symbols in one call, from arguments and standard input', () => {
    const r = runCli(['consumers', '--tree', sampleTree, 'devmap_managed_key', '-', 'no_such_symbol'], { input: 'current_task\nwalk_page_range_sample\n' });
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      `devmap_managed_key (EXPORT_SYMBOL, any license) mm/memremap.c:8: 1 consumer
  driver    drivers/gpu/drm/vgpu/vgpu_svm.c:22  via put_page() in include/linux/mm.h
no_such_symbol: not exported in this tree
current_task (EXPORT_PER_CPU_SYMBOL, any license) arch/x86/kernel/cpu/common.c:7: 1 consumer
  driver    drivers/gpu/drm/vgpu/vgpu_svm.c:20  via current in arch/x86/include/asm/current.h
walk_page_range_sample (EXPORT_SYMBOL_GPL, GPL-only) mm/page_walk.c:10: 1 consumer
  same-dir  mm/madvise_sample.c:9
`,
    );
  });

  it('writes JSON as it goes, the same as one array, and JSON Lines and counts for many symbols', () => {
    const syms = ['devmap_managed_key', 'no_such_symbol', 'hmm_range_fault'];
    const json = runCli(['consumers', '--tree', sampleTree, '--format', 'json', ...syms]);
    assert.equal(json.code, 0, json.stderr);
    const list = JSON.parse(json.stdout) as { symbol: string; exported: boolean; consumers?: { file: string; line: number }[] }[];
    // written record by record, byte for byte what one JSON.stringify(list, null, 1) gives
    assert.equal(json.stdout, `${JSON.stringify(list, null, 1)}\n`);
    assert.deepEqual(
      list.map((r) => [r.symbol, r.exported, r.consumers?.length]),
      [
        ['devmap_managed_key', true, 1],
        ['no_such_symbol', false, undefined],
        ['hmm_range_fault', true, 3],
      ],
    );
    assert.equal(runCli(['consumers', '--tree', sampleTree, '--format', 'json', 'nope']).stdout, '[\n {\n  "symbol": "nope",\n  "exported": false\n }\n]\n');

    const lines = runCli(['consumers', '--tree', sampleTree, '--format', 'jsonl', ...syms]).stdout.split('\n');
    assert.equal(lines.pop(), '');
    const records = lines.map((l) => JSON.parse(l) as { symbol: string; consumers?: string[]; export?: { file: string } });
    assert.deepEqual(
      records.map((r) => [r.symbol, r.consumers]),
      [
        ['devmap_managed_key', ['drivers/gpu/drm/vgpu/vgpu_svm.c:22']],
        ['no_such_symbol', undefined],
        ['hmm_range_fault', list[2]!.consumers!.map((c) => `${c.file}:${c.line}`)],
      ],
    );

    const sum = runCli(['consumers', '--tree', sampleTree, '--summary', 'hmm_range_fault', 'walk_page_range_sample']);
    assert.equal(
      sum.stdout,
      `hmm_range_fault (EXPORT_SYMBOL, any license) mm/hmm.c:39: 3 consumers (driver 2, test 1)
walk_page_range_sample (EXPORT_SYMBOL_GPL, GPL-only) mm/page_walk.c:10: 1 consumer (same-dir 1)
`,
    );
    const sumJson = JSON.parse(runCli(['consumers', '--tree', sampleTree, '--summary', '--format', 'json', 'hmm_range_fault']).stdout) as Record<string, unknown>[];
    assert.deepEqual([sumJson[0]!.consumerCount, sumJson[0]!.byClass, sumJson[0]!.throughHelperCount], [3, { driver: 2, test: 1 }, 0]);
  });

  it('answers for a linker name with the export that makes it, and says so', () => {
    const r = runCli(['consumers', '--tree', sampleTree, '__tracepoint_hmm_fault_done', '__SCK__tp_func_hmm_fault_done']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], "__tracepoint_hmm_fault_done: a linker name of hmm_fault_done's export (EXPORT_TRACEPOINT_SYMBOL_GPL)");
    assert.match(lines[1]!, /^hmm_fault_done \(EXPORT_TRACEPOINT_SYMBOL_GPL, GPL-only\) mm\/hmm\.c:59: /);
    assert.ok(lines.includes("__SCK__tp_func_hmm_fault_done: a linker name of hmm_fault_done's export (EXPORT_TRACEPOINT_SYMBOL_GPL)"), r.stdout);
    const j = JSON.parse(runCli(['consumers', '--tree', sampleTree, '--format', 'json', '__traceiter_hmm_fault_done']).stdout) as { symbol: string; linkerNameOf: string }[];
    assert.deepEqual([j[0]!.symbol, j[0]!.linkerNameOf], ['__traceiter_hmm_fault_done', 'hmm_fault_done']);
  });

  it('says once, and only where it belongs, that export calls could not be resolved', () => {
    // an assembler macro's parameter, as arch/s390's expoline thunks spell it
    const tree = writeTree({ Kbuild: '', MAINTAINERS: '', 'arch/s390/lib/thunk.S': '.macro GEN_BR_THUNK name\nEXPORT_SYMBOL(\\name)\n.endm\n', 'mm/a.c': 'int a;\nEXPORT_SYMBOL(a);\n' });
    const said = (args: string[]): number =>
      runCli([...args, '--tree', tree, '--no-cache'])
        .stderr.split('\n')
        .filter((l) => l === 'kexports: 1 export call could not be resolved (see UNRESOLVED_EXPORT in check)').length;
    assert.equal(said(['exports']), 1);
    assert.equal(said(['exports', 'mm']), 0, 'nothing unresolved under mm/');
    assert.equal(said(['consumers', 'a']), 0);
    assert.equal(said(['check', 'mm']), 0);
    assert.match(runCli(['check', '--tree', tree, '--no-cache', '--fail-on', 'none']).stdout, /INFO:UNRESOLVED_EXPORT: EXPORT_SYMBOL\(\): EXPORT_SYMBOL\(\\name\)/);
  });

  it('says its version, from package.json, and which scanner runs', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const inUse = process.env.KEXPORTS_SCANNER === 'wasm' ? 'the WebAssembly scanner, slower: KEXPORTS_SCANNER=wasm' : 'the native scanner';
    assert.equal(runCli(['--version']).stdout, `kexports ${pkg.version}\nwhole-tree scans use ${inUse}\n`);
    assert.equal(runCli(['--version'], { env: { KEXPORTS_SCANNER: 'wasm' } }).stdout, `kexports ${pkg.version}\nwhole-tree scans use the WebAssembly scanner, slower: KEXPORTS_SCANNER=wasm\n`);
  });

  it('exits 1 when no symbol is exported, 2 on bad usage', () => {
    assert.equal(runCli(['consumers', '--tree', sampleTree, 'nope']).code, 1);
    const r = runCli(['consumers', '--tree', sampleTree]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kexports: consumers needs at least one SYMBOL\n\nusage: kexports COMMAND/);
    assert.equal(runCli(['frobnicate']).code, 2);
  });
});

describe('the CLI and its cache', () => {
  it('prints its answer before the cache file is written, and returns once it is', async () => {
    const cacheDir = tempDir('kexports-cli-cache-');
    const idx = (): string[] => readdirSync(cacheDir).filter((f) => f.endsWith('.idx'));
    const run = async (): Promise<{ code: number; out: string; err: string; cachedAtAnswer: boolean }> => {
      let out = '';
      let err = '';
      let cachedAtAnswer: boolean | undefined;
      const io = {
        out: (s: string) => ((cachedAtAnswer ??= idx().length > 0), (out += s)),
        err: (s: string) => void (err += s),
        cwd: sampleTree,
      };
      const code = await main(['consumers', '--cache-dir', cacheDir, 'devmap_managed_key'], io);
      return { code, out, err, cachedAtAnswer: cachedAtAnswer! };
    };
    const cold = await run();
    assert.equal(cold.code, 0, cold.err);
    assert.match(cold.out, /^devmap_managed_key \(EXPORT_SYMBOL, any license\) mm\/memremap.c:8: 1 consumer\n/);
    assert.equal(cold.cachedAtAnswer, false, 'a cold run answers before its cache is on disk');
    assert.equal(idx().length, 1, 'main() returns with the cache written');
    assert.deepEqual(
      readdirSync(cacheDir).filter((f) => f.endsWith('.tmp')),
      [],
    );
    const warm = await run();
    assert.equal(warm.cachedAtAnswer, true);
    assert.deepEqual([warm.code, warm.out, warm.err], [cold.code, cold.out, cold.err]);
    assert.ok(existsSync(join(cacheDir, idx()[0]!)));
  });
});

import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkExports } from '../../src/core/findings/findings';
import { openIndex } from '../../src/core/engine';
import { buildIndex, type Export, type KernelIndex } from '../../src/core/index/index';
import { selfIncludingQspin, tempDir, writeTree } from '../helpers';

function describeExport(e: Export): string {
  return `${e.file}:${e.line} ${e.symbols.join('+')} ${e.type} ${e.namespace ?? '-'}${e.wrapper ? ` via ${e.wrapper}` : ''}`;
}

/** A tree's index from its cache: built once, then opened again without a scan. */
async function warmIndex(files: Record<string, string>): Promise<KernelIndex> {
  const root = writeTree(files);
  const cacheDir = tempDir();
  await openIndex(root, { cacheDir, workers: 0 });
  return openIndex(root, { cacheDir, workers: 0, onPhase: (p) => assert.notEqual(p, 'scan') });
}

async function exportsOf(files: Record<string, string>): Promise<string[]> {
  const index = await buildIndex(writeTree(files));
  return index.exports.map(describeExport).sort();
}

describe('export resolution, as the kernel spells it', () => {
  it('follows wrapper chains down to __EXPORT_SYMBOL, stringifying #ns and taking the license argument', async () => {
    assert.deepEqual(
      await exportsOf({
        'include/linux/pm.h': [
          '#define _EXPORT_PM_OPS(name, license, ns) \\',
          '\textern const struct dev_pm_ops name; \\',
          '\t__EXPORT_SYMBOL(name, license, ns); \\',
          '\tconst struct dev_pm_ops name',
          '#define _EXPORT_DEV_PM_OPS(name, license, ns) _EXPORT_PM_OPS(name, license, ns)',
          '#define EXPORT_GPL_DEV_PM_OPS(name) _EXPORT_DEV_PM_OPS(name, "GPL", "")',
          '#define EXPORT_NS_GPL_DEV_PM_OPS(name, ns) _EXPORT_DEV_PM_OPS(name, "GPL", #ns)',
          '#define EXPORT_DEV_PM_OPS(name) _EXPORT_DEV_PM_OPS(name, "", "")',
        ].join('\n'),
        'drivers/pinctrl/intel.c': 'EXPORT_NS_GPL_DEV_PM_OPS(intel_pinctrl_pm_ops, PINCTRL_INTEL) = { };\n',
        'drivers/i2c/dw.c': '#define DEFAULT_SYMBOL_NAMESPACE "I2C_DW"\n#include <linux/pm.h>\nEXPORT_GPL_DEV_PM_OPS(i2c_dw_dev_pm_ops) = { };\nEXPORT_DEV_PM_OPS(plain_pm_ops) = { };\n',
      }),
      [
        'drivers/i2c/dw.c:3 i2c_dw_dev_pm_ops EXPORT_SYMBOL_GPL - via EXPORT_GPL_DEV_PM_OPS',
        'drivers/i2c/dw.c:4 plain_pm_ops EXPORT_SYMBOL - via EXPORT_DEV_PM_OPS',
        'drivers/pinctrl/intel.c:1 intel_pinctrl_pm_ops EXPORT_SYMBOL_GPL PINCTRL_INTEL via EXPORT_NS_GPL_DEV_PM_OPS',
      ],
    );
  });

  it("expands export names built by the file's own macros", async () => {
    assert.deepEqual(
      await exportsOf({
        'kernel/locking/qspinlock.c': '#define queued_spin_lock_slowpath native_queued_spin_lock_slowpath\nvoid queued_spin_lock_slowpath(void) { }\nEXPORT_SYMBOL(queued_spin_lock_slowpath);\n',
        'lib/lzo/compress.c': '#ifndef LZO_SAFE\n#define LZO_SAFE(name) name\n#endif\nint LZO_SAFE(lzo1x_1_compress)(void) { return 0; }\nEXPORT_SYMBOL_GPL(LZO_SAFE(lzo1x_1_compress));\n',
        'drivers/x/paste.c': '#define SYM(n) x_##n##_op\nint x_read_op;\nEXPORT_SYMBOL(SYM(read));\n',
      }),
      ['drivers/x/paste.c:3 x_read_op EXPORT_SYMBOL -', 'kernel/locking/qspinlock.c:3 native_queued_spin_lock_slowpath EXPORT_SYMBOL -', 'lib/lzo/compress.c:5 lzo1x_1_compress EXPORT_SYMBOL_GPL -'],
    );
  });

  it('finds wrapper calls spelled DECLARE_*(), tracepoints named with a digit, EXPORT_SYMBOL_GPL_FOR_MODULES and .c_shipped sources', async () => {
    assert.deepEqual(
      await exportsOf({
        'drivers/acpi/property.c':
          '#define DECLARE_ACPI_FWNODE_OPS(ops) \\\n\tconst struct fwnode_operations ops = { }; \\\n\tEXPORT_SYMBOL_GPL(ops)\nDECLARE_ACPI_FWNODE_OPS(acpi_device_fwnode_ops);\n',
        'net/9p/client.c': 'EXPORT_TRACEPOINT_SYMBOL(9p_fid_ref);\n',
        'fs/anon_inodes.c': 'int anon_inode_make_secure_inode(void) { return 0; }\nEXPORT_SYMBOL_GPL_FOR_MODULES(anon_inode_make_secure_inode, "kvm");\n',
        'fs/unicode/utf8data.c_shipped': 'const struct utf8data_table utf8_data_table = { };\nEXPORT_SYMBOL_GPL(utf8_data_table);\n',
      }),
      [
        'drivers/acpi/property.c:4 acpi_device_fwnode_ops EXPORT_SYMBOL_GPL - via DECLARE_ACPI_FWNODE_OPS',
        'fs/anon_inodes.c:2 anon_inode_make_secure_inode EXPORT_SYMBOL_GPL module:kvm',
        'fs/unicode/utf8data.c_shipped:2 utf8_data_table EXPORT_SYMBOL_GPL -',
        'net/9p/client.c:1 __tracepoint_9p_fid_ref+__traceiter_9p_fid_ref+__SCK__tp_func_9p_fid_ref+__SCT__tp_func_9p_fid_ref EXPORT_SYMBOL -',
      ],
    );
  });

  it('ignores, and reports, a DEFAULT_SYMBOL_NAMESPACE defined after an #include', async () => {
    const index = await buildIndex(
      writeTree({
        'drivers/gpio/idio.c': '#include <linux/export.h>\n#define DEFAULT_SYMBOL_NAMESPACE "GPIO_IDIO_16"\nint idio_register(void) { return 0; }\nEXPORT_SYMBOL_GPL(idio_register);\n',
        'drivers/gpio/user.c': 'int f(void) { return idio_register(); }\n',
        'drivers/pwm/lpss.c': '#define DEFAULT_SYMBOL_NAMESPACE "PWM_LPSS"\n#include <linux/export.h>\nint lpss_probe(void) { return 0; }\nEXPORT_SYMBOL_GPL(lpss_probe);\n',
      }),
    );
    assert.deepEqual(
      index.exports.map((e) => `${e.name} ${e.namespace ?? '-'}`),
      ['idio_register -', 'lpss_probe PWM_LPSS'],
    );
    const f = checkExports(index, [], { gplOnlyPaths: [], severity: {}, testsCountAsConsumers: true }).filter((x) => x.code === 'DEFAULT_NAMESPACE_IGNORED');
    assert.deepEqual(
      f.map((x) => `${x.file}:${x.line} ${x.message}`),
      ['drivers/gpio/idio.c:4 idio_register gets no namespace: DEFAULT_SYMBOL_NAMESPACE GPIO_IDIO_16 is defined at line 2, after an #include, and <linux/export.h> only sees it when defined before'],
    );
  });

  it('reports what it cannot resolve, with the reason', async () => {
    // an assembler macro's parameter, as arch/s390's expoline thunks spell it
    const index = await buildIndex(writeTree({ 'arch/s390/lib/thunk.S': '.macro GEN_BR_THUNK name\nEXPORT_SYMBOL(\\name)\n.endm\nEXPORT_SYMBOL(ok);\n' }));
    assert.deepEqual(index.unresolved, [{ file: 'arch/s390/lib/thunk.S', line: 2, macro: 'EXPORT_SYMBOL', reason: 'EXPORT_SYMBOL(\\name): "\\name" is not an identifier' }]);
    const f = checkExports(index, [], { gplOnlyPaths: [], severity: {}, testsCountAsConsumers: true }).filter((x) => x.code === 'UNRESOLVED_EXPORT');
    assert.deepEqual(
      f.map((x) => `${x.severity} ${x.file}:${x.line} ${x.message}`),
      ['info arch/s390/lib/thunk.S:2 EXPORT_SYMBOL(): EXPORT_SYMBOL(\\name): "\\name" is not an identifier'],
    );
  });

  it("follows edits of a wrapper's definition: its callers' exports change, come and go", async () => {
    const root = writeTree({
      'include/linux/acpi.h': '#define ACPI_EXPORT_SYMBOL(s) EXPORT_SYMBOL(s)\n',
      'drivers/acpi/a.c': 'int acpi_a(void) { return 0; }\nACPI_EXPORT_SYMBOL(acpi_a);\n',
      'drivers/acpi/b.c': 'int acpi_b(void) { return 0; }\nNEW_EXPORT(acpi_b);\n',
    });
    for (const warm of [false, true]) {
      const cacheDir = tempDir();
      if (warm) await openIndex(root, { cacheDir, workers: 0 });
      const index = await openIndex(root, { cacheDir, workers: 0 });
      const rows = (): string[] => [...index.exports.map(describeExport), ...index.unresolved.map((u) => `${u.file}:${u.line} ${u.reason}`)].sort();
      assert.deepEqual(rows(), ['drivers/acpi/a.c:2 acpi_a EXPORT_SYMBOL - via ACPI_EXPORT_SYMBOL']);
      // the license the wrapper gives changes, and a wrapper new to the tree appears: its caller is read again
      index.updateFile('include/linux/acpi.h', Buffer.from('#define ACPI_EXPORT_SYMBOL(s) EXPORT_SYMBOL_GPL(s)\n#define NEW_EXPORT(s) EXPORT_SYMBOL_NS_GPL(s, NEW)\n'));
      assert.deepEqual(rows(), ['drivers/acpi/a.c:2 acpi_a EXPORT_SYMBOL_GPL - via ACPI_EXPORT_SYMBOL', 'drivers/acpi/b.c:2 acpi_b EXPORT_SYMBOL_GPL NEW via NEW_EXPORT'], warm ? 'warm' : 'cold');
      // the definitions go: the calls are no exports, as in a full build of the tree as it is now
      rmSync(join(root, 'include/linux/acpi.h'));
      index.deleteFile('include/linux/acpi.h');
      assert.deepEqual(rows(), []);
      const cold = await buildIndex(root);
      assert.deepEqual([cold.exports.length, cold.unresolved.length], [0, 0]);
      writeFileSync(join(root, 'include/linux/acpi.h'), '#define ACPI_EXPORT_SYMBOL(s) EXPORT_SYMBOL(s)\n');
    }
  });

  describe('exports whose wrapper its header defines again for other configs', () => {
    // include/linux/fw_table.h: cdat_table_parse goes to namespace ACPI, or to CXL when CONFIG_CXL_BUS is set.
    const tree = {
      'include/linux/fw_table.h': [
        '#if IS_ENABLED(CONFIG_ACPI) && !IS_ENABLED(CONFIG_CXL_BUS)',
        '#define EXPORT_SYMBOL_FWTBL_LIB(x) EXPORT_SYMBOL_ACPI_LIB(x)',
        '#else',
        '#define EXPORT_SYMBOL_FWTBL_LIB(x) EXPORT_SYMBOL_NS_GPL(x, CXL)',
        '#endif',
        '#ifdef CONFIG_FOO_GPL',
        '#define EXPORT_FOO(x) EXPORT_SYMBOL_GPL(x)',
        '#else',
        '#define EXPORT_FOO(x) EXPORT_SYMBOL(x)',
        '#endif',
        '#ifdef CONFIG_SAME',
        '#define EXPORT_SAME(x) EXPORT_SYMBOL_GPL(x)',
        '#else',
        '#define EXPORT_SAME(x) EXPORT_SYMBOL_GPL(x)',
        '#endif',
        '',
      ].join('\n'),
      'include/linux/acpi.h': '#ifdef CONFIG_ACPI\n#define EXPORT_SYMBOL_ACPI_LIB(x) EXPORT_SYMBOL_NS_GPL(x, ACPI)\n#else\n#define EXPORT_SYMBOL_ACPI_LIB(x)\n#endif\n',
      // another header defining the same name later in the tree is not another config of the first
      'sound/soc/foo.h': '#define EXPORT_FOO(x) EXPORT_SYMBOL_NS(x, SOUND)\n',
      'lib/fw_table.c':
        'int cdat_table_parse(void) { return 0; }\nEXPORT_SYMBOL_FWTBL_LIB(cdat_table_parse);\nint foo(void) { return 0; }\nEXPORT_FOO(foo);\nint same(void) { return 0; }\nEXPORT_SAME(same);\n',
    };
    const rows = (index: KernelIndex): string[] =>
      index.exports.map((e) => `${describeExport(e)}${(e.byConfig ?? []).map((v) => ` | ${v.type} ${v.namespace ?? '-'} by ${v.file}:${v.line}`).join('')}`).sort();
    const expected = [
      'lib/fw_table.c:2 cdat_table_parse EXPORT_SYMBOL_GPL ACPI via EXPORT_SYMBOL_FWTBL_LIB | EXPORT_SYMBOL_GPL CXL by include/linux/fw_table.h:4',
      'lib/fw_table.c:4 foo EXPORT_SYMBOL_GPL - via EXPORT_FOO | EXPORT_SYMBOL - by include/linux/fw_table.h:9',
      'lib/fw_table.c:6 same EXPORT_SYMBOL_GPL - via EXPORT_SAME',
    ];

    it('reports the license and namespace each other definition gives', async () => {
      assert.deepEqual(rows(await buildIndex(writeTree(tree))), expected);
    });

    it('keeps them across the cache, and follows an edit of the header', async () => {
      const warm = await warmIndex(tree);
      assert.deepEqual(rows(warm), expected);
      warm.updateFile('include/linux/fw_table.h', Buffer.from(tree['include/linux/fw_table.h'].replace('EXPORT_SYMBOL_NS_GPL(x, CXL)', 'EXPORT_SYMBOL_NS_GPL(x, CXL_BUS)')));
      assert.deepEqual(warm.exportsNamed('cdat_table_parse')[0]!.byConfig, [{ type: 'EXPORT_SYMBOL_GPL', namespace: 'CXL_BUS', file: 'include/linux/fw_table.h', line: 4 }]);
    });
  });

  describe('exports a host program prints into a file it generates at build time', () => {
    const tree = {
      // lib/raid6/mktables.c prints raid6_gfmul's export into lib/raid6/tables.c, which is not in the tree.
      'lib/raid6/mktables.c': [
        'int main(void)',
        '{',
        '\tprintf("const u8 raid6_gfmul[256][256] = {\\n");',
        '\tprintf("EXPORT_SYMBOL(raid6_gfmul);\\n");',
        '\tprintf("EXPORT_SYMBOL_GPL( raid6_gfexp );\\n");',
        '\tprintf("EXPORT_SYMBOL(%s);\\n", name);',
        '\tputs("EXPORT_SYMBOL(raid6_a, raid6_b c);");',
        '\tputs("EXPORT_NOTHING(raid6_none);");',
        '#if 0',
        '\tprintf("EXPORT_SYMBOL(raid6_old);\\n");',
        '#endif',
        '#define TEXT "EXPORT_SYMBOL(raid6_in_define);"',
        '}',
        '',
      ].join('\n'),
      'lib/raid6/recov.c': 'void f(void) { raid6_gfmul[0][0] = raid6_gfexp[1]; }\n',
      // fs/unicode/mkutf8data.c prints the export that the shipped copy of its output has too.
      'fs/unicode/mkutf8data.c': 'int main(void) { fprintf(file, "EXPORT_SYMBOL_GPL(utf8_data_table);"); }\n',
      'fs/unicode/utf8data.c_shipped': 'const struct utf8data_table utf8_data_table = { };\nEXPORT_SYMBOL_GPL(utf8_data_table);\n',
      'scripts/mod/modpost.c': 'void f(void) { buf_printf(b, "EXPORT_SYMBOL(modpost_own);"); }\n',
      'tools/gen.c': 'int main(void) { puts("EXPORT_SYMBOL(tools_own);"); }\n',
    };
    const expected = [
      'fs/unicode/mkutf8data.c:1 utf8_data_table EXPORT_SYMBOL_GPL - generated',
      'fs/unicode/utf8data.c_shipped:2 utf8_data_table EXPORT_SYMBOL_GPL -',
      'lib/raid6/mktables.c:4 raid6_gfmul EXPORT_SYMBOL - generated',
      'lib/raid6/mktables.c:5 raid6_gfexp EXPORT_SYMBOL_GPL - generated',
    ];
    const rows = (index: KernelIndex): string[] => index.exports.map((e) => `${describeExport(e)}${e.generated ? ' generated' : ''}`).sort();

    for (const scanner of ['native', 'js'] as const) {
      it(`takes export calls printed in string literals, with the ${scanner} scanner, and no others`, async () => {
        const index = await buildIndex(writeTree(tree), { native: scanner === 'native' });
        assert.deepEqual(rows(index), expected);
        const gfmul = index.exportsNamed('raid6_gfmul')[0]!;
        assert.deepEqual([gfmul.col, gfmul.endCol, gfmul.definition], [9, 35, undefined], 'the call inside the literal; the symbol is defined in the generated file');
        assert.deepEqual(
          index.consumers(gfmul).map((c) => `${c.cls} ${c.file}:${c.line}`),
          ['same-dir lib/raid6/recov.c:1'],
        );
        const findings = checkExports(index, [], { gplOnlyPaths: [], severity: {}, testsCountAsConsumers: true }).map((f) => `${f.code} ${f.symbol} ${f.file}:${f.line}`);
        assert.deepEqual(
          findings.filter((f) => !f.startsWith('SAME_DIR')),
          ['NO_CONSUMER utf8_data_table fs/unicode/mkutf8data.c:1', 'NO_CONSUMER utf8_data_table fs/unicode/utf8data.c_shipped:2'],
          'the shipped copy and the generator are no duplicate',
        );
      });
    }

    it('keeps them across the cache, and follows edits of the generator', async () => {
      const warm = await warmIndex(tree);
      assert.deepEqual(rows(warm), expected);
      warm.updateFile('lib/raid6/mktables.c', Buffer.from('int main(void) { printf("EXPORT_SYMBOL(raid6_gflog);\\n"); }\n'));
      assert.deepEqual(
        warm.exports.filter((e) => e.generated && e.file.startsWith('lib/')).map((e) => `${e.name}:${e.line}`),
        ['raid6_gflog:1'],
      );
    });
  });

  it('takes $ in a name, as GCC does: parisc exports its millicode as $$divI', async () => {
    const index = await buildIndex(writeTree({ 'arch/parisc/kernel/ksyms.c': 'EXPORT_SYMBOL($$divI);\nEXPORT_SYMBOL($global$);\n' }));
    assert.deepEqual(
      index.exports.map((e) => `${e.line} ${e.name}`),
      ['1 $$divI', '2 $global$'],
    );
    assert.deepEqual(index.unresolved, []);
  });

  it('reports an unresolved call when checking a file that has no resolved export', async () => {
    const index = await buildIndex(writeTree({ 'arch/s390/lib/thunk.S': '.macro GEN_BR_THUNK name\nEXPORT_SYMBOL(\\name)\n.endm\n', 'mm/a.c': 'int a;\nEXPORT_SYMBOL(a);\n' }));
    const codes = (paths: string[]): string[] => checkExports(index, paths, { gplOnlyPaths: [], severity: {}, testsCountAsConsumers: true }).map((x) => `${x.code} ${x.file}`);
    assert.deepEqual(codes(['arch/s390/lib/thunk.S']), ['UNRESOLVED_EXPORT arch/s390/lib/thunk.S']);
    assert.deepEqual(codes(['mm']), ['NO_CONSUMER mm/a.c']);
  });

  it("takes a file's own wrapper definition in force, and no other file's #undef'd one", async () => {
    assert.deepEqual(
      await exportsOf({
        // sparc: a wrapper defined, called and #undef'd in one file
        'arch/sparc/lib/atomic_64.S':
          '#define ATOMIC64_OP_RETURN(op) \\\nENTRY(arch_atomic64_##op##_return) \\\nEXPORT_SYMBOL(arch_atomic64_##op##_return);\nATOMIC64_OP_RETURN(add)\n#undef ATOMIC64_OP_RETURN\n',
        // lib: the same name, never #undef'd: tree-wide, but not in atomic_64.S
        'lib/atomic64.c': '#define ATOMIC64_OP_RETURN(op) long generic_atomic64_##op##_return(long a) { return a; } EXPORT_SYMBOL(generic_atomic64_##op##_return);\nATOMIC64_OP_RETURN(sub)\n',
        // a header calling a name another file defines as a scoped wrapper: no export
        'arch/arm64/include/asm/atomic.h': '#define ATOMIC_OP(op) static inline void arch_##op(int i) { }\nATOMIC_OP(atomic_or)\n',
        'arch/sparc/lib/atomic32.c': '#define ATOMIC_OP(op) int arch_atomic_##op(int i) { return i; } EXPORT_SYMBOL(arch_atomic_##op);\nATOMIC_OP(add)\n#undef ATOMIC_OP\n',
      }),
      [
        'arch/sparc/lib/atomic32.c:2 arch_atomic_add EXPORT_SYMBOL - via ATOMIC_OP',
        'arch/sparc/lib/atomic_64.S:4 arch_atomic64_add_return EXPORT_SYMBOL - via ATOMIC64_OP_RETURN',
        'lib/atomic64.c:2 generic_atomic64_sub_return EXPORT_SYMBOL - via ATOMIC64_OP_RETURN',
      ],
    );
  });

  describe('exports an #include makes in the including file', () => {
    const thunksS = [
      '#include <linux/export.h>',
      '#define __EXPORT_THUNK(sym)\t_ASM_NOKPROBE(sym); EXPORT_SYMBOL(sym)',
      '#define GEN(reg) THUNK reg',
      '#include <asm/GEN-for-each-reg.h>',
      '#undef GEN',
      '#define GEN(reg) __EXPORT_THUNK(__x86_indirect_thunk_ ## reg)',
      '#include <asm/GEN-for-each-reg.h>',
      '#undef GEN',
      '#define GEN(reg) __EXPORT_THUNK(__x86_indirect_call_thunk_ ## reg)',
      '  #  include <asm/GEN-for-each-reg.h>',
      '#undef GEN',
      '__EXPORT_THUNK(entry_untrain_ret)',
    ].join('\n');
    const regs = '/* registers, in machine order */\n#ifdef CONFIG_64BIT\nGEN(rax)\nGEN(rcx)\n#else\nGEN(eax)\n#endif\n';
    const tree = {
      'arch/x86/lib/thunks.S': thunksS,
      'arch/x86/include/asm/GEN-for-each-reg.h': regs,
      'lib/lzo/compress.c':
        '#ifndef LZO_SAFE\n#define LZO_SAFE(name) name\n#endif\nint LZO_SAFE(lzo1x_1_compress)(void) { return 0; }\nEXPORT_SYMBOL_GPL(LZO_SAFE(lzo1x_1_compress));\nEXPORT_SYMBOL_GPL(lzo_version);\n',
      'lib/lzo/compress_safe.c': '#define LZO_SAFE(name) name##_safe\n#include "compress.c"\n',
      'kernel/locking/qspin.c': selfIncludingQspin,
    };
    const expected = [
      'arch/x86/lib/thunks.S:10 __x86_indirect_call_thunk_eax EXPORT_SYMBOL - via GEN',
      'arch/x86/lib/thunks.S:10 __x86_indirect_call_thunk_rax EXPORT_SYMBOL - via GEN',
      'arch/x86/lib/thunks.S:10 __x86_indirect_call_thunk_rcx EXPORT_SYMBOL - via GEN',
      'arch/x86/lib/thunks.S:12 entry_untrain_ret EXPORT_SYMBOL - via __EXPORT_THUNK',
      'arch/x86/lib/thunks.S:7 __x86_indirect_thunk_eax EXPORT_SYMBOL - via GEN',
      'arch/x86/lib/thunks.S:7 __x86_indirect_thunk_rax EXPORT_SYMBOL - via GEN',
      'arch/x86/lib/thunks.S:7 __x86_indirect_thunk_rcx EXPORT_SYMBOL - via GEN',
      'kernel/locking/qspin.c:10 __pv_queued_spin_lock_slowpath EXPORT_SYMBOL -',
      'kernel/locking/qspin.c:5 native_queued_spin_lock_slowpath EXPORT_SYMBOL -',
      'lib/lzo/compress.c:5 lzo1x_1_compress EXPORT_SYMBOL_GPL -',
      'lib/lzo/compress.c:6 lzo_version EXPORT_SYMBOL_GPL -',
      'lib/lzo/compress_safe.c:2 lzo1x_1_compress_safe EXPORT_SYMBOL_GPL -',
    ];

    it('expands a wrapper defined around an #include, a second compile with other macros, and a file including itself', async () => {
      const index = await buildIndex(writeTree(tree));
      assert.deepEqual(index.exports.map(describeExport).sort(), expected);
      assert.deepEqual(index.unresolved, []);
      const [thunk] = index.exportsNamed('__x86_indirect_call_thunk_rax');
      assert.deepEqual([thunk!.line, thunk!.col, thunk!.endLine, thunk!.endCol], [10, 2, 10, 37], 'the #include directive');
    });

    it('keeps them across the cache, and follows edits of the included file', async () => {
      const warm = await warmIndex(tree);
      assert.deepEqual(warm.exports.map(describeExport).sort(), expected);
      assert.deepEqual(warm.exportsNamed('lzo1x_1_compress_safe')[0]!.includedFrom, { file: 'lib/lzo/compress.c', line: 5 });
      warm.updateFile('arch/x86/include/asm/GEN-for-each-reg.h', Buffer.from(regs.replace('GEN(rcx)', 'GEN(rcx)\nGEN(rdx)')));
      assert.deepEqual(
        warm.exports
          .filter((e) => e.file === 'arch/x86/lib/thunks.S')
          .map((e) => e.name)
          .sort(),
        [
          '__x86_indirect_call_thunk_eax',
          '__x86_indirect_call_thunk_rax',
          '__x86_indirect_call_thunk_rcx',
          '__x86_indirect_call_thunk_rdx',
          '__x86_indirect_thunk_eax',
          '__x86_indirect_thunk_rax',
          '__x86_indirect_thunk_rcx',
          '__x86_indirect_thunk_rdx',
          'entry_untrain_ret',
        ],
      );
      warm.deleteFile('lib/lzo/compress.c');
      assert.deepEqual(warm.exportsNamed('lzo1x_1_compress_safe'), []);
    });
  });

  describe("a rename in the exporting file's own header", () => {
    // drivers/staging/rtl8192u/ieee80211/ieee80211.h: #define ieee80211_rx ieee80211_rx_rsl
    const tree = {
      'drivers/staging/wlan/ieee80211.h': ['#include <linux/types.h>', '#define ieee80211_rx\t\tieee80211_rx_rsl', '#define IEEE_NAME "wlan"', 'int ieee80211_rx(void *dev);'].join('\n'),
      'include/linux/types.h': ['#define ieee80211_tx ieee80211_tx_kernel_wide', 'typedef int s32;'].join('\n'),
      'drivers/staging/wlan/rx.c': [
        '#include <linux/types.h>',
        '#include "ieee80211.h"',
        'int ieee80211_rx(void *dev) { return 0; }',
        'EXPORT_SYMBOL(ieee80211_rx);',
        'int ieee80211_tx(void *dev) { return 0; }',
        'EXPORT_SYMBOL(ieee80211_tx);',
      ].join('\n'),
      'drivers/staging/wlan/main.c': ['#include "ieee80211.h"', 'void poll(void *d) { ieee80211_rx(d); }'].join('\n'),
      // mac80211's own ieee80211_rx(), a name this driver's header does not rename there
      'drivers/net/wireless/ath/rx.c': ['#include <net/mac80211.h>', 'void deliver(void *d) { ieee80211_rx(d); }'].join('\n'),
    };

    it('exports the linker symbol the #define makes, and not through a kernel-wide header', async () => {
      assert.deepEqual(await exportsOf(tree), ['drivers/staging/wlan/rx.c:4 ieee80211_rx_rsl EXPORT_SYMBOL -', 'drivers/staging/wlan/rx.c:6 ieee80211_tx EXPORT_SYMBOL -']);
    });

    it('keeps it across the cache, and drops it when the header no longer renames', async () => {
      const warm = await warmIndex(tree);
      assert.deepEqual(warm.exportsNamed('ieee80211_rx')[0]!.symbols, ['ieee80211_rx_rsl']);
      assert.deepEqual(warm.exportsNamed('ieee80211_rx')[0]!.renamedBy, { file: 'drivers/staging/wlan/ieee80211.h', line: 2 });
      assert.deepEqual(
        warm.consumers(warm.exportsNamed('ieee80211_rx')[0]!).map((c) => c.file),
        ['drivers/staging/wlan/main.c'],
      );
      warm.updateFile('drivers/staging/wlan/ieee80211.h', Buffer.from(tree['drivers/staging/wlan/ieee80211.h'].replace('#define ieee80211_rx', '#define ieee80211_rx_old')));
      assert.deepEqual(warm.exportsNamed('ieee80211_rx')[0]!.symbols, ['ieee80211_rx']);
    });
  });
});

/** Uses that a macro pastes together at its call site, and uses that cannot be. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkExports } from '../../src/core/findings/findings';
import { buildIndex, type Consumer } from '../../src/core/index/index';
import { writeTree } from '../helpers';

const line = (c: Consumer): string => `${c.file}:${c.line}${c.via ? ` via ${c.via.name} (${c.via.kind}, ${c.via.file})` : ''}`;

describe('pasted names', () => {
  it('finds param_ops_bint in module_param(x, bint, 0644), and a tracepoint in tracepoint_enabled() through an inline', async () => {
    const index = await buildIndex(
      writeTree({
        'include/linux/moduleparam.h': '#define module_param(name, type, perm) module_param_named(name, name, type, perm)\n',
        'kernel/params.c': 'const struct kernel_param_ops param_ops_bint = { 0 };\nEXPORT_SYMBOL(param_ops_bint);\n',
        'arch/x86/kvm/x86.c': 'static bool ignore_msrs;\nmodule_param(ignore_msrs, bint, 0644);\n',
        // the word alone, with no pasting macro on its line, is no use
        'drivers/misc/other.c': 'static int bint = 3;\nint other(void) { return bint; }\n',
        'include/linux/tracepoint-defs.h': '# define tracepoint_enabled(tp) static_key_false(&(__tracepoint_##tp).key)\n',
        'mm/mmap_lock.c': 'EXPORT_TRACEPOINT_SYMBOL(mmap_lock_released);\n',
        'include/linux/mmap_lock.h': 'static inline void mmap_read_unlock(struct mm_struct *mm)\n{\n\tif (tracepoint_enabled(mmap_lock_released))\n\t\t__mmap_lock_do_trace_released(mm, false);\n}\n',
        'drivers/gpu/drm/vgpu/vgpu.c': 'void vgpu_done(struct mm_struct *mm)\n{\n\tmmap_read_unlock(mm);\n}\n',
      }),
    );
    const of = (name: string): string[] => index.consumers(index.exportsNamed(name)[0]!).map(line);
    assert.deepEqual(of('param_ops_bint'), ['arch/x86/kvm/x86.c:2 via module_param (macro, include/linux/moduleparam.h)']);
    assert.deepEqual(of('mmap_lock_released'), ['drivers/gpu/drm/vgpu/vgpu.c:3 via mmap_read_unlock (inline, include/linux/mmap_lock.h)']);
  });

  it('follows inline functions a macro names around the export: LV1_CALL() and BTREE_FN()', async () => {
    const index = await buildIndex(
      writeTree({
        'arch/powerpc/include/asm/lv1call.h':
          '#define LV1_CALL(name, in, out, num) \\\n  extern s64 _lv1_##name(LV1_##in##_IN_##out##_OUT_ARG_DECL); \\\n  static inline int lv1_##name(LV1_##in##_IN_##out##_OUT_ARG_DECL) \\\n    {return _lv1_##name(LV1_##in##_IN_##out##_OUT_ARGS);}\n\nLV1_CALL(put_iopte, 5, 0, 15)\nLV1_CALL(unused_call, 1, 0, 16)\n',
        'arch/powerpc/platforms/ps3/exports.c': '#define LV1_CALL(name, in, out, num) \\\n  extern s64 _lv1_##name(void); \\\n  EXPORT_SYMBOL(_lv1_##name);\n\n#include <asm/lv1call.h>\n',
        'arch/powerpc/platforms/ps3/mm.c': 'int ps3_map(void)\n{\n\treturn lv1_put_iopte(0, 1, 2, 3, 4);\n}\n',
        'include/linux/btree-type.h': '#define BTREE_FN(name) BTREE_TP(btree_ ## name)\nstatic inline int BTREE_FN(init)(BTREE_TYPE_HEAD *head)\n{\n\treturn btree_init(&head->h);\n}\n',
        'lib/btree.c': 'int btree_init(struct btree_head *head) { return 0; }\nEXPORT_SYMBOL_GPL(btree_init);\n',
        'drivers/scsi/qla2xxx/qla_os.c': 'int qla_setup(struct qla_hw_data *ha)\n{\n\treturn btree_init32(&ha->host_map);\n}\n',
      }),
    );
    const of = (name: string): string[] => index.consumers(index.exportsNamed(name)[0]!).map(line);
    assert.deepEqual(of('_lv1_put_iopte'), ['arch/powerpc/platforms/ps3/mm.c:3 via lv1_put_iopte (inline, arch/powerpc/include/asm/lv1call.h)']);
    assert.deepEqual(of('_lv1_unused_call'), []);
    assert.deepEqual(of('btree_init'), ['drivers/scsi/qla2xxx/qla_os.c:3 via btree_init32 (inline, include/linux/btree-type.h)']);
  });

  it('finds __get_user_4 behind get_user(): the asm pastes "call __" #fn and the size', async () => {
    const index = await buildIndex(
      writeTree({
        'arch/x86/include/asm/uaccess.h':
          '#define do_get_user_call(fn,x,ptr) \\\n({ asm volatile("call __" #fn "_%P4" : "=a" (x) : "0" (ptr)); })\n#define get_user(x,ptr) ({ might_fault(); do_get_user_call(get_user,x,ptr); })\n#define __get_user(x,ptr) do_get_user_call(get_user_nocheck,x,ptr)\n',
        'arch/x86/lib/getuser.S':
          'SYM_FUNC_START(__get_user_4)\n\tret\nSYM_FUNC_END(__get_user_4)\nEXPORT_SYMBOL(__get_user_4)\nSYM_FUNC_START(__get_user_nocheck_4)\n\tret\nSYM_FUNC_END(__get_user_nocheck_4)\nEXPORT_SYMBOL(__get_user_nocheck_4)\n',
        'drivers/char/mem.c': 'int read_one(int __user *p)\n{\n\tint v;\n\treturn get_user(v, p);\n}\n',
        'drivers/char/fast.c': 'int read_fast(int __user *p)\n{\n\tint v;\n\treturn __get_user(v, p);\n}\n',
      }),
    );
    const of = (name: string): string[] => index.consumers(index.exportsNamed(name)[0]!).map(line);
    assert.deepEqual(of('__get_user_4'), ['drivers/char/mem.c:4 via get_user (macro, arch/x86/include/asm/uaccess.h)']);
    assert.deepEqual(of('__get_user_nocheck_4'), ['drivers/char/fast.c:4 via __get_user (macro, arch/x86/include/asm/uaccess.h)']);
  });

  it('takes no assembly file for a user of a C inline: `wrmsr` there is the instruction', async () => {
    const index = await buildIndex(
      writeTree({
        'arch/x86/lib/msr.c': 'int msr_hook(int v) { return v; }\nEXPORT_SYMBOL(msr_hook);\n',
        'arch/x86/include/asm/msr.h': 'static inline void wrmsr(unsigned int msr, int v)\n{\n\tmsr_hook(v);\n}\n',
        'arch/x86/kvm/vmx/vmenter.S': 'SYM_FUNC_START(vmx_enter)\n\twrmsr\n\tret\nSYM_FUNC_END(vmx_enter)\n',
        'arch/x86/kvm/vmx/vmx.c': 'void vmx_set(int v)\n{\n\twrmsr(0x10, v);\n}\n',
      }),
    );
    assert.deepEqual(index.consumers(index.exportsNamed('msr_hook')[0]!).map(line), ['arch/x86/kvm/vmx/vmx.c:3 via wrmsr (inline, arch/x86/include/asm/msr.h)']);
  });
});

describe('uses in inline assembly', () => {
  const files = {
    'arch/x86/lib/retpoline.S':
      'SYM_FUNC_START(entry_untrain_ret)\n\tret\nSYM_FUNC_END(entry_untrain_ret)\nEXPORT_SYMBOL(entry_untrain_ret)\nSYM_FUNC_START(__x86_return_thunk)\n\tret\nSYM_FUNC_END(__x86_return_thunk)\nEXPORT_SYMBOL(__x86_return_thunk)\n',
    'arch/x86/lib/verw.c': 'int x86_verw_sel;\nEXPORT_SYMBOL(x86_verw_sel);\nvoid untrain_sample(void) {}\nEXPORT_SYMBOL(untrain_sample);\n',
    // a header macro: its users are consumers through it
    'arch/x86/include/asm/nospec-branch.h': '#define UNTRAIN_RET ALTERNATIVE("", "call entry_untrain_ret", X86_FEATURE_UNRET)\n',
    'arch/x86/kvm/svm/svm.c': 'void svm_vcpu_run(void)\n{\n\tasm volatile(UNTRAIN_RET);\n\tasm volatile("1:\\tjmp __x86_return_thunk\\n");\n}\n',
    // prose is no use, nor a call through a register
    'drivers/misc/talk.c': 'void talk(void)\n{\n\tpr_err("cannot call untrain_sample now\\n");\n\tasm volatile("call *%0" : : "r"(x86_verw_sel));\n}\n',
  };

  it('takes `call NAME` and `jmp NAME` in a string of assembly as a use, and prose as none', async () => {
    for (const native of [true, false]) {
      const index = await buildIndex(writeTree(files), { native });
      const of = (name: string): string[] => index.consumers(index.exportsNamed(name)[0]!).map(line);
      assert.deepEqual(of('entry_untrain_ret'), ['arch/x86/kvm/svm/svm.c:3 via UNTRAIN_RET (macro, arch/x86/include/asm/nospec-branch.h)'], `native: ${native}`);
      assert.deepEqual(of('__x86_return_thunk'), ['arch/x86/kvm/svm/svm.c:4'], `native: ${native}`);
      assert.deepEqual(of('untrain_sample'), [], `native: ${native}`);
      // an operand is C, not the string: x86_verw_sel is used as a C expression
      assert.deepEqual(of('x86_verw_sel'), ['drivers/misc/talk.c:4'], `native: ${native}`);
    }
  });
});

describe('names the compiler calls', () => {
  it('gets no consumer finding: modules call them through generated code', async () => {
    const index = await buildIndex(
      writeTree({
        'arch/arc/kernel/arcksyms.c':
          'extern void __ashldi3(void);\nEXPORT_SYMBOL(__ashldi3);\nextern void __tsan_read4(void);\nEXPORT_SYMBOL(__tsan_read4);\nint arc_unused;\nEXPORT_SYMBOL(arc_unused);\n',
      }),
    );
    const found = checkExports(index, [], { gplOnlyPaths: [], severity: {}, testsCountAsConsumers: true }).map((f) => `${f.code} ${f.symbol}`);
    assert.deepEqual(found, ['NO_CONSUMER arc_unused']);
  });
});

/**
 * Names a macro pastes together at its call site with `##`. `module_param(x, bint, 0644)` uses
 * param_ops_bint, which kernel/params.c exports; `tracepoint_enabled(mmap_lock_released)` uses the
 * tracepoint mmap_lock_released; `BPF_DISPATCHER_FUNC(xdp)` calls bpf_dispatcher_xdp_func. No use of
 * the export's name is written anywhere: the use is the macro and its argument on one line.
 *
 * These are the kernel's own macros, named here with the header that defines them; the index finds a
 * use where the macro and the argument stand on the same line (a call spread over lines is missed),
 * or, for a macro that defines inline functions around the export, a use of those functions.
 */
import type { ExportFlavour } from '../exportMacros';

export interface PastingMacro {
  /** the macros that paste the name, all defined in `header` */
  macros: readonly string[];
  header: string;
  /** the argument the export's name comes from, or undefined when the name is not one these macros make */
  argOf: (name: string, flavour: ExportFlavour) => string | undefined;
  /**
   * For a macro that defines inline functions around the export (LV1_CALL(put_iopte, …) defines
   * lv1_put_iopte(), which calls _lv1_put_iopte): those functions' names. Their users are the
   * export's consumers, through them. The macro's own line is no use, and is not looked for: the
   * scanner reads `static inline int BTREE_FN(init)(…)` as no use of anything, and no other code
   * makes these names.
   */
  proxies?: (arg: string) => string[];
}

const pattern =
  (re: RegExp) =>
  (name: string, flavour: ExportFlavour): string | undefined =>
    flavour === 'tracepoint' ? undefined : re.exec(name)?.[1];

export const PASTING_MACROS: readonly PastingMacro[] = [
  {
    // #define LV1_CALL(name, in, out, num) … static inline int lv1_##name(…) {return _lv1_##name(…);}
    macros: ['LV1_CALL'],
    header: 'arch/powerpc/include/asm/lv1call.h',
    argOf: pattern(/^_lv1_(\w+)$/),
    proxies: (arg) => [`lv1_${arg}`],
  },
  {
    // #define BTREE_FN(name) BTREE_TP(btree_ ## name), pasted with BTREE_TYPE_SUFFIX, which
    // include/linux/btree.h sets to l, 32 and 64 and btree-128.h to 128 around its #include
    macros: ['BTREE_FN'],
    header: 'include/linux/btree-type.h',
    argOf: pattern(/^btree_(\w+)$/),
    proxies: (arg) => ['l', '32', '64', '128'].map((suffix) => `btree_${arg}${suffix}`),
  },
  {
    // #define module_param(name, type, perm) module_param_named(name, name, type, perm) ... &param_ops_##type
    macros: [
      'module_param',
      'module_param_named',
      'module_param_unsafe',
      'module_param_named_unsafe',
      'module_param_array',
      'module_param_array_named',
      'module_param_hw',
      'module_param_hw_named',
      'module_param_hw_array',
      'core_param',
      'core_param_unsafe',
    ],
    header: 'include/linux/moduleparam.h',
    argOf: pattern(/^param_ops_(\w+)$/),
  },
  {
    // # define tracepoint_enabled(tp) static_key_false(&(__tracepoint_##tp).key)
    macros: ['tracepoint_enabled'],
    header: 'include/linux/tracepoint-defs.h',
    argOf: (name, flavour) => (flavour === 'tracepoint' ? name : undefined),
  },
  {
    // #define BPF_DISPATCHER_FUNC(name) bpf_dispatcher_##name##_func
    macros: ['BPF_DISPATCHER_FUNC'],
    header: 'include/linux/bpf.h',
    argOf: pattern(/^bpf_dispatcher_(\w+)_func$/),
  },
  {
    // #define do_get_user_call(fn,x,ptr) … asm volatile("call __" #fn "_%P4" …), the size pasted in
    // by the assembler: get_user() makes __get_user_1 … __get_user_8, __get_user() the _nocheck ones
    macros: ['do_get_user_call', 'do_put_user_call'],
    header: 'arch/x86/include/asm/uaccess.h',
    argOf: pattern(/^__((?:get|put)_user(?:_nocheck)?)_\d+$/),
  },
  {
    // #define gov_attr_rw(_name) ... __ATTR(_name, 0644, _name##_show, _name##_store)
    macros: ['gov_attr_rw', 'gov_attr_ro', 'gov_attr_wo'],
    header: 'drivers/cpufreq/cpufreq_governor.h',
    argOf: pattern(/^(\w+)_(?:show|store)$/),
  },
];

export interface PastedUse {
  macro: string;
  arg: string;
  header: string;
  /** the inline functions the macro defines around the export, when it does (see PastingMacro.proxies) */
  proxies?: string[];
}

/** The macro uses that stand for a use of the export: each macro with the argument that makes its name. */
export function pastedUses(name: string, flavour: ExportFlavour): PastedUse[] {
  const out: PastedUse[] = [];
  for (const p of PASTING_MACROS) {
    const arg = p.argOf(name, flavour);
    if (!arg) continue;
    for (const macro of p.macros) out.push(p.proxies ? { macro, arg, header: p.header, proxies: p.proxies(arg) } : { macro, arg, header: p.header });
  }
  return out;
}

/**
 * Names a macro pastes together at its call site with `##`. `module_param(x, bint, 0644)` uses
 * param_ops_bint, which kernel/params.c exports; `tracepoint_enabled(mmap_lock_released)` uses the
 * tracepoint mmap_lock_released; `BPF_DISPATCHER_FUNC(xdp)` calls bpf_dispatcher_xdp_func. No use of
 * the export's name is written anywhere: the use is the macro and its argument on one line.
 *
 * These are the kernel's own macros, named here with the header that defines them; the index finds a
 * use where the macro and the argument stand on the same line (a call spread over lines is missed).
 */
import type { ExportFlavour } from './exportMacros';

export interface PastingMacro {
  /** the macros that paste the name, all defined in `header` */
  macros: readonly string[];
  header: string;
  /** the argument the export's name comes from, or undefined when the name is not one these macros make */
  argOf: (name: string, flavour: ExportFlavour) => string | undefined;
}

const pattern =
  (re: RegExp) =>
  (name: string, flavour: ExportFlavour): string | undefined =>
    flavour === 'tracepoint' ? undefined : re.exec(name)?.[1];

export const PASTING_MACROS: readonly PastingMacro[] = [
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
    // #define gov_attr_rw(_name) ... __ATTR(_name, 0644, _name##_show, _name##_store)
    macros: ['gov_attr_rw', 'gov_attr_ro', 'gov_attr_wo'],
    header: 'drivers/cpufreq/cpufreq_governor.h',
    argOf: pattern(/^(\w+)_(?:show|store)$/),
  },
];

/** The macro uses that stand for a use of the export: each macro with the argument that makes its name. */
export function pastedUses(name: string, flavour: ExportFlavour): { macro: string; arg: string; header: string }[] {
  const out: { macro: string; arg: string; header: string }[] = [];
  for (const p of PASTING_MACROS) {
    const arg = p.argOf(name, flavour);
    if (arg) for (const macro of p.macros) out.push({ macro, arg, header: p.header });
  }
  return out;
}

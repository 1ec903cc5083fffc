/**
 * The kernel's export macros and what each one exports, in Module.symvers' terms.
 * Export type = the Module.symvers column: EXPORT_SYMBOL or EXPORT_SYMBOL_GPL (plus the legacy types).
 */

export type ExportType = 'EXPORT_SYMBOL' | 'EXPORT_SYMBOL_GPL' | 'EXPORT_SYMBOL_GPL_FUTURE' | 'EXPORT_UNUSED_SYMBOL' | 'EXPORT_UNUSED_SYMBOL_GPL';

export type ExportFlavour = 'symbol' | 'per-cpu' | 'tracepoint' | 'static-call' | 'static-call-tramp' | 'kunit' | 'modules';

export interface ExportMacro {
  readonly name: string;
  readonly type: ExportType;
  readonly flavour: ExportFlavour;
  /** Index of the namespace argument, if the macro takes one. */
  readonly nsArg?: number;
  /** A namespace the macro itself implies. */
  readonly fixedNamespace?: string;
  /** Index of an argument holding the license ("GPL", "_gpl" or ""), for the kernel's internal macro. */
  readonly licenseArg?: number;
}

const table: ExportMacro[] = [
  { name: 'EXPORT_SYMBOL', type: 'EXPORT_SYMBOL', flavour: 'symbol' },
  { name: 'EXPORT_SYMBOL_GPL', type: 'EXPORT_SYMBOL_GPL', flavour: 'symbol' },
  { name: 'EXPORT_SYMBOL_NS', type: 'EXPORT_SYMBOL', flavour: 'symbol', nsArg: 1 },
  { name: 'EXPORT_SYMBOL_NS_GPL', type: 'EXPORT_SYMBOL_GPL', flavour: 'symbol', nsArg: 1 },
  { name: 'EXPORT_SYMBOL_FOR_MODULES', type: 'EXPORT_SYMBOL_GPL', flavour: 'modules', nsArg: 1 },
  { name: 'EXPORT_SYMBOL_GPL_FOR_MODULES', type: 'EXPORT_SYMBOL_GPL', flavour: 'modules', nsArg: 1 },
  // The internal macro the others expand to; wrappers such as pm.h's EXPORT_*_DEV_PM_OPS call it.
  { name: '__EXPORT_SYMBOL', type: 'EXPORT_SYMBOL', flavour: 'symbol', nsArg: 2, licenseArg: 1 },
  { name: 'EXPORT_DATA_SYMBOL', type: 'EXPORT_SYMBOL', flavour: 'symbol' },
  { name: 'EXPORT_DATA_SYMBOL_GPL', type: 'EXPORT_SYMBOL_GPL', flavour: 'symbol' },
  { name: 'EXPORT_PER_CPU_SYMBOL', type: 'EXPORT_SYMBOL', flavour: 'per-cpu' },
  { name: 'EXPORT_PER_CPU_SYMBOL_GPL', type: 'EXPORT_SYMBOL_GPL', flavour: 'per-cpu' },
  { name: 'EXPORT_TRACEPOINT_SYMBOL', type: 'EXPORT_SYMBOL', flavour: 'tracepoint' },
  { name: 'EXPORT_TRACEPOINT_SYMBOL_GPL', type: 'EXPORT_SYMBOL_GPL', flavour: 'tracepoint' },
  { name: 'EXPORT_STATIC_CALL', type: 'EXPORT_SYMBOL', flavour: 'static-call' },
  { name: 'EXPORT_STATIC_CALL_GPL', type: 'EXPORT_SYMBOL_GPL', flavour: 'static-call' },
  { name: 'EXPORT_STATIC_CALL_TRAMP', type: 'EXPORT_SYMBOL', flavour: 'static-call-tramp' },
  { name: 'EXPORT_STATIC_CALL_TRAMP_GPL', type: 'EXPORT_SYMBOL_GPL', flavour: 'static-call-tramp' },
  { name: 'EXPORT_SYMBOL_IF_KUNIT', type: 'EXPORT_SYMBOL', flavour: 'kunit', fixedNamespace: 'EXPORTED_FOR_KUNIT_TESTING' },
  { name: 'EXPORT_UNUSED_SYMBOL', type: 'EXPORT_UNUSED_SYMBOL', flavour: 'symbol' },
  { name: 'EXPORT_UNUSED_SYMBOL_GPL', type: 'EXPORT_UNUSED_SYMBOL_GPL', flavour: 'symbol' },
  { name: 'EXPORT_SYMBOL_GPL_FUTURE', type: 'EXPORT_SYMBOL_GPL_FUTURE', flavour: 'symbol' },
];

export const exportMacros: ReadonlyMap<string, ExportMacro> = new Map(table.map((m) => [m.name, m]));

export function isGplOnly(type: ExportType): boolean {
  return type === 'EXPORT_SYMBOL_GPL' || type === 'EXPORT_UNUSED_SYMBOL_GPL' || type === 'EXPORT_SYMBOL_GPL_FUTURE';
}

/** "GPL-only" or "any license", as the hover and the CLI say it. */
export function licenseWords(type: ExportType): string {
  return isGplOnly(type) ? 'GPL-only' : 'any license';
}

/** The GPL-only spelling of a macro, for the quick fix: EXPORT_SYMBOL -> EXPORT_SYMBOL_GPL, _NS -> _NS_GPL. */
export function gplVariant(macro: string): string | undefined {
  if (macro.endsWith('_GPL') || macro.endsWith('_FOR_MODULES') || macro.startsWith('_') || macro === 'EXPORT_SYMBOL_GPL_FUTURE') return undefined;
  const candidate = `${macro}_GPL`;
  return exportMacros.has(candidate) ? candidate : undefined;
}

/** The linker symbols one export produces, as Module.symvers lists them. */
export function linkerSymbols(flavour: ExportFlavour, name: string): string[] {
  switch (flavour) {
    case 'tracepoint':
      return [`__tracepoint_${name}`, `__traceiter_${name}`, `__SCK__tp_func_${name}`, `__SCT__tp_func_${name}`];
    case 'static-call':
      return [`__SCK__${name}`, `__SCT__${name}`];
    case 'static-call-tramp':
      return [`__SCT__${name}`];
    default:
      return [name];
  }
}

/** Identifiers whose use in C consumes the export: generated names for tracepoints, the call name for static calls. */
export function consumerNames(flavour: ExportFlavour, name: string): string[] {
  switch (flavour) {
    case 'tracepoint':
      return [
        `trace_${name}`,
        `trace_${name}_enabled`,
        `trace_${name}_rcuidle`,
        `register_trace_${name}`,
        `register_trace_prio_${name}`,
        `unregister_trace_${name}`,
        `__tracepoint_${name}`,
        `__traceiter_${name}`,
      ];
    default:
      return [name];
  }
}

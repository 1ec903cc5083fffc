/** What the index holds and answers: exports as the kernel sees them, consumers, the files' records. */
import type { Cancellation } from '../cancel';
import type { ExportFlavour, ExportType } from '../exportMacros';
import type { Definition, ImportNs, IncludeRef, LocalMacro, RawExport, WrapperCandidate } from '../scan/scanTypes';
import type { Skipped } from '../scan/scanFile';
import type { ConsumerClass } from './classify';

export interface Export {
  /** The C identifier the macro names (for a tracepoint, the tracepoint's name). */
  name: string;
  /** Linker symbols, as Module.symvers lists them. */
  symbols: string[];
  /**
   * The linker name a header of the exporting file renames `name` to with an object-like #define
   * (`#define ieee80211_rx ieee80211_rx_rsl`): `symbols` are made from it.
   */
  linkerName?: string;
  /** The header line that renames it (see linkerName). */
  renamedBy?: { file: string; line: number };
  type: ExportType;
  /** The export macro, after expanding any wrapper. */
  macro: string;
  /** The wrapper macro written at the call site, if any. */
  wrapper?: string;
  flavour: ExportFlavour;
  namespace?: string;
  /** EXPORT_SYMBOL_FOR_MODULES' module list. */
  modules?: string[];
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  cond: string;
  definition?: Definition;
  /** The export call in an included file that this export's #include line stands for (see resolveInclude). */
  includedFrom?: { file: string; line: number };
  /** A DEFAULT_SYMBOL_NAMESPACE the file defines after an #include: <linux/export.h> ignored it. */
  ignoredNamespace?: { name: string; line: number };
  /**
   * What the export is in other configs: the wrapper it goes through has other definitions in the
   * same file (#if/#else), which export it with another license or namespace. include/linux/fw_table.h
   * gives cdat_table_parse namespace ACPI, or CXL when CONFIG_CXL_BUS is set.
   */
  byConfig?: ConfigVariant[];
  /**
   * The file prints this export call into a file it generates at build time (lib/raid6/mktables.c
   * writes lib/raid6/tables.c): the symbol is defined there, not in `file`.
   */
  generated?: true;
}

export interface ConfigVariant {
  type: ExportType;
  namespace?: string;
  /** The wrapper definition that makes it so. */
  file: string;
  line: number;
}

export interface Unresolved {
  file: string;
  line: number;
  macro: string;
  reason: string;
}

export interface Via {
  name: string;
  file: string;
  line: number;
  /** A header macro or inline function (a proxy), or a helper function of a consumer file (see helpers.ts). */
  kind: 'macro' | 'inline' | 'function';
}

export interface Consumer {
  file: string;
  line: number;
  cls: ConsumerClass;
  /** The header inline function or macro through which the file uses the export, or the helper function. */
  via?: Via;
}

export interface IndexedFile {
  path: string;
  size: number;
  stamp: number;
  alive: boolean;
  lines: number;
  exports: RawExport[];
  /** Definitions of the names this file exports. */
  defs: Definition[];
  imports: ImportNs[];
  wrappers: WrapperCandidate[];
  /** Small macros that may build export names (exporting and including files only). */
  localMacros?: LocalMacro[];
  /** Includes whose files may export through this file's macros. */
  includes?: IncludeRef[];
  proxyStart: number;
  proxyCount: number;
  skipped?: Skipped;
}

export interface IndexOptions {
  exclude?: readonly string[];
  maxFileBytes?: number;
  workers?: number;
  workerScript?: string;
  /** Tests' knobs for the scan pool: files per chunk, names per worker table (see scanPool.ts). */
  chunkFiles?: number;
  workerNameLimit?: number;
  /** false: scan with the wasm build even where the addon was built (tests compare the two). */
  native?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Called after each build phase with its wall time, for the bench. */
  onPhase?: (phase: string, ms: number) => void;
  token?: Cancellation;
}

export interface IndexStats {
  files: number;
  bytes: number;
  skipped: Skipped[];
  symlinks: number;
  excluded: number;
  unreadableDirs: string[];
}

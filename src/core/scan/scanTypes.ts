/** What a scan yields, as both builds of the scanner (src/scanner) give it: types only, and the context of a definition. */
export interface RawExport {
  /** The export macro or wrapper macro called. */
  macro: string;
  /** Argument texts with white space removed; string literals keep their quotes. */
  args: string[];
  line: number;
  /** 0-based column of the macro name, and of the end of the call on the line where it ends. */
  col: number;
  endLine: number;
  endCol: number;
  /** Preprocessor branch path, for telling alternatives from duplicates: "3.0/5.1". */
  cond: string;
  /** The DEFAULT_SYMBOL_NAMESPACE in force at this line, if defined in the file. */
  fileNamespace?: string;
  /** Where it was defined, and whether an #include came before: then <linux/export.h> ignored it. */
  fileNamespaceLine?: number;
  fileNamespaceLate?: boolean;
  /**
   * The call is text in a string literal that a program prints, `printf("EXPORT_SYMBOL(raid6_gfmul);\n")`:
   * a host program writing the source of a file it generates at build time (lib/raid6/mktables.c).
   */
  printed?: true;
}

/** A macro of the file whose body is only identifiers and pasting: it may build an export's name. */
export interface LocalMacro {
  name: string;
  params: string[] | null;
  body: string;
  line: number;
}

export type DefKind = 'function' | 'variable' | 'macro-variable' | 'asm-label';

export interface Definition {
  name: string;
  line: number;
  endLine: number;
  isStatic: boolean;
  kind: DefKind;
}

/** A proxy's kind in FileScan.proxies, as the postings keep it: a macro, or a header's inline function. */
export const PROXY_MACRO = 0;
export const PROXY_INLINE = 1;

export interface WrapperCandidate {
  name: string;
  params: string[];
  line: number;
  body: string;
  /** The `#undef` that ends it in its own file: a wrapper for the files included meanwhile, not tree-wide. */
  undefLine?: number;
}

/**
 * An `#include` whose file may export through this one's macros: a `.c` file (a second compile with
 * other macros, as lib/lzo and kernel/locking/qspinlock.c do), or any file included while this file
 * defines a wrapper (arch/x86/lib/retpoline.S around <asm/GEN-for-each-reg.h>).
 */
export interface IncludeRef {
  target: string;
  /** `<...>` rather than `"..."`. */
  system: boolean;
  line: number;
  col: number;
  endCol: number;
}

export interface ImportNs {
  ns: string;
  line: number;
}

/** The context of a posting that is a non-static definition, not a use. */
export const DEF_CTX = 0xffffffff;

export interface FileScan {
  exports: RawExport[];
  defs: Definition[];
  /**
   * Header inline functions and macros whose bodies' uses are the context numbers of `uses`: triples
   * (name id, first line, PROXY_MACRO or PROXY_INLINE), numbers as the uses' are (the pool maps both).
   */
  proxies: Uint32Array;
  wrappers: WrapperCandidate[];
  imports: ImportNs[];
  /** Small macros of a .c or .S file (see LocalMacro); kept only by files that export or include (see IncludeRef). */
  localMacros: LocalMacro[];
  includes: IncludeRef[];
  /** Triples (identifier id, line, context): 0 a direct use, N a use in proxy N, DEF_CTX a definition. */
  uses: Uint32Array;
  lines: number;
}

export type SkipReason = 'binary' | 'too-large' | 'unreadable';

export interface Skipped {
  path: string;
  reason: SkipReason;
  detail: string;
}

export interface ScannedFile {
  path: string;
  size: number;
  stamp: number;
  scan?: FileScan;
  skipped?: Skipped;
}

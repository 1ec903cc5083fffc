/**
 * The scanner: one pass over a C, header or assembly file's bytes. It never throws on bad input:
 * unterminated comments and strings end at EOF or the line end, stray bytes are skipped, and every
 * loop advances.
 *
 * What it yields per file:
 *  - export macro calls (and calls of known wrapper macros), with their arguments;
 *  - file-scope definitions (functions, variables, DEFINE_*() variables, asm labels);
 *  - identifier uses, first line per (identifier, context), where the context is 0 for a direct use or
 *    the 1-based index of the header inline function / macro whose body holds the use (a proxy);
 *  - macro definitions whose body calls an export macro (wrapper candidates);
 *  - DEFAULT_SYMBOL_NAMESPACE definitions and MODULE_IMPORT_NS() calls.
 */
import { fnv1a, Interner } from './interner';
import { grown } from './typed';

export const enum SourceKind {
  C = 0,
  Header = 1,
  Asm = 2,
}

export { DEF_CTX } from './scanTypes';
export type { RawExport, LocalMacro, DefKind, Definition, ProxyDef, WrapperCandidate, IncludeRef, ImportNs, FileScan } from './scanTypes';
import { DEF_CTX, type Definition, type DefKind, type FileScan, type ImportNs, type IncludeRef, type LocalMacro, type ProxyDef, type RawExport, type WrapperCandidate } from './scanTypes';

export interface ScanOptions {
  kind: SourceKind;
  /** Record header inline/macro bodies as proxies (headers outside tools/ and scripts/). */
  proxies: boolean;
  /** Keep definitions even when the file has no export (the editor wants them). */
  keepDefs?: boolean;
  /** Extra macro names to treat as export calls: wrapper macros found elsewhere in the tree. */
  wrapperNames?: ReadonlySet<string>;
}

// Character classes.
const C_IDSTART = 1,
  C_DIGIT = 2,
  C_SPACE = 3,
  C_NL = 4;
const cls = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) cls[c] = C_IDSTART;
  else if (c >= 48 && c <= 57) cls[c] = C_DIGIT;
  else if (c === 32 || c === 9 || c === 13 || c === 11 || c === 12) cls[c] = C_SPACE;
  else if (c === 10) cls[c] = C_NL;
}
const isIdChar = new Uint8Array(256);
for (let c = 0; c < 256; c++) isIdChar[c] = cls[c] === C_IDSTART || cls[c] === C_DIGIT ? 1 : 0;

// Previous-token classes.
const P_NONE = 0, // start of a file-scope statement
  P_IDENT = 1,
  P_STAR = 2,
  P_MEMBER = 3, // . or ->
  P_OTHER = 4,
  P_RPAREN = 5,
  P_HASH = 6; // # or ## in a macro body

// Brace-body kinds at depth 1.
const B_NONE = 0,
  B_FUNCTION = 1,
  B_AGGREGATE = 2,
  B_OTHER = 3;

// Per-identifier flags.
const F_EXPORT = 1,
  F_WRAPPER = 2,
  F_IMPORT = 4,
  F_STORAGE = 8, // static extern typedef inline const: never a macro call at file scope
  F_QUALIFIER = 16, // const volatile inline ...: never a declarator
  F_AGGREGATE = 32; // struct union enum

const EXPORT_WORD = Buffer.from('EXPORT');

const DEF_KINDS: DefKind[] = ['function', 'variable', 'macro-variable', 'asm-label'];

/** Everything the scanner keeps per interner: identifier flags, keyword ids, dedupe stamps, a use buffer. */
const CACHE_BITS = 14;
const CACHE_MASK = (1 << CACHE_BITS) - 1;

class Vocabulary {
  /**
   * A direct-mapped cache in front of the interner, keyed by two independent 32-bit hashes and the
   * length: the interner holds millions of names and most of its probes miss the CPU caches, while
   * most identifiers repeat within a file. It also mirrors each cached id's flags and dedupe stamp.
   */
  readonly cH1 = new Int32Array(1 << CACHE_BITS);
  readonly cH2 = new Int32Array(1 << CACHE_BITS);
  readonly cLen = new Uint16Array(1 << CACHE_BITS);
  readonly cId = new Int32Array(1 << CACHE_BITS);
  readonly cFlags = new Uint8Array(1 << CACHE_BITS);
  readonly cSeen = new Uint32Array(1 << CACHE_BITS);
  flags = new Uint8Array(1 << 16);
  /** Dedupe stamps: the file's stamp for direct uses, a proxy's stamp for uses in its body. */
  seen = new Uint32Array(1 << 16);
  seenCtx = new Uint32Array(1 << 16);
  stampNext = 1;
  sink = new Uint32Array(1 << 16);
  readonly kStatic: number;
  readonly kExtern: number;
  readonly kTypedef: number;
  readonly kDefine: number;
  readonly kIf: number;
  readonly kIfdef: number;
  readonly kIfndef: number;
  readonly kElif: number;
  readonly kElse: number;
  readonly kEndif: number;
  readonly kUndef: number;
  readonly kInclude: number;
  /** The export macros, for export calls printed in string literals (see RawExport.printed). */
  readonly exportNames: ReadonlySet<string>;

  constructor(
    readonly interner: Interner,
    exportNames: readonly string[],
  ) {
    this.exportNames = new Set(exportNames);
    const id = (w: string, f = 0): number => {
      const v = interner.intern(w);
      this.grow(v + 1);
      this.flags[v]! |= f;
      return v;
    };
    this.kStatic = id('static', F_STORAGE);
    this.kExtern = id('extern', F_STORAGE);
    this.kTypedef = id('typedef', F_STORAGE);
    id('inline', F_STORAGE | F_QUALIFIER);
    id('const', F_STORAGE | F_QUALIFIER);
    for (const q of ['volatile', '__inline', '__inline__', '__always_inline']) id(q, F_QUALIFIER);
    for (const a of ['struct', 'union', 'enum']) id(a, F_AGGREGATE);
    this.kDefine = id('define');
    this.kIf = id('if');
    this.kIfdef = id('ifdef');
    this.kIfndef = id('ifndef');
    this.kElif = id('elif');
    this.kElse = id('else');
    this.kEndif = id('endif');
    this.kUndef = id('undef');
    this.kInclude = id('include');
    id('MODULE_IMPORT_NS', F_IMPORT);
    for (const n of exportNames) id(n, F_EXPORT);
  }

  grow(size: number): void {
    if (size <= this.flags.length) return;
    this.flags = grown(this.flags, size);
    this.seen = grown(this.seen, size);
    this.seenCtx = grown(this.seenCtx, size);
  }

  stamp(): number {
    if (this.stampNext >= 0xfffffff0) {
      this.seen.fill(0);
      this.seenCtx.fill(0);
      this.cSeen.fill(0);
      this.stampNext = 1;
    }
    return this.stampNext++;
  }

  /** Forget the cache: after identifier flags changed. */
  clearCache(): void {
    this.cLen.fill(0);
  }
}

const vocabularies = new WeakMap<Interner, Vocabulary>();

export class Scanner {
  private readonly voc: Vocabulary;

  constructor(
    readonly interner: Interner,
    exportNames: readonly string[],
  ) {
    let v = vocabularies.get(interner);
    if (!v) vocabularies.set(interner, (v = new Vocabulary(interner, exportNames)));
    this.voc = v;
  }

  scan(buf: Uint8Array, opts: ScanOptions): FileScan {
    const voc = this.voc;
    const wrapperIds: number[] = [];
    if (opts.wrapperNames) {
      for (const w of opts.wrapperNames) {
        const id = this.interner.intern(w);
        voc.grow(id + 1);
        if (!(voc.flags[id]! & F_WRAPPER)) {
          voc.flags[id]! |= F_WRAPPER;
          wrapperIds.push(id);
        }
      }
    }
    if (!Buffer.isBuffer(buf)) buf = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (wrapperIds.length) voc.clearCache();
    try {
      const st = new ScanState(buf, opts, voc);
      run(st);
      return st.result();
    } finally {
      for (const id of wrapperIds) voc.flags[id]! &= ~F_WRAPPER;
      if (wrapperIds.length) voc.clearCache();
    }
  }
}

/** Scanner state that the rare paths (directives, export calls, statement ends) share with the loop. */
class ScanState {
  readonly n: number;
  readonly interner: Interner;
  readonly isAsm: boolean;
  readonly proxyMode: boolean;
  line = 1;
  useCount = 0;
  fileStamp: number;
  ctxStamp = 0;

  // C-level state.
  brace = 0;
  paren = 0;
  prev = P_NONE;
  bodyKind = B_NONE;
  ctx = 0;
  // File-scope statement state.
  stmtStatic = false;
  stmtSkip = false; // extern, typedef
  stmtAggregate = false;
  stmtHasEq = false;
  declId = -1;
  declLine = 0;
  inParams = false;
  paramsParen = 0;
  fnName = -1;
  fnLine = 0;
  pendingFn = -1;
  pendingFnLine = 0;
  fnDefIndex = -1;
  macroCallParen = 0;
  macroDefines = false;
  macroSkip = false;
  stmtDefStart = 0;
  /** The previous file-scope identifier was static, extern, inline or const. */
  prevStorage = false;
  /** A function body opened in the first branch of an #if, to be reopened by the #else branch. */
  altFnDef = -1;
  altFnCtx = 0;
  altFnStamp = 0;

  // Preprocessor.
  readonly condIds: number[] = [];
  readonly condBranch: number[] = [];
  readonly condBrace: number[] = [];
  readonly condBraceAfterFirst: number[] = [];
  condCounter = 0;
  fileNamespace: string | undefined;
  fileNamespaceLine = 0;
  fileNamespaceLate = false;
  seenInclude = false;
  readonly localMacros: LocalMacro[] = [];
  readonly includes: IncludeRef[] = [];
  inDefine = false;
  defineCtx = 0;
  defineParams: number[] | null = null;
  definePrev = P_OTHER;
  defineHasExport = false;
  /** The first "EXPORT" at or after exportSearchFrom (-1: none): define bodies share one forward search. */
  private nextExport = -1;
  private exportSearchFrom = Number.MAX_SAFE_INTEGER;
  defineBodyStart = 0;
  defineNameStart = 0;
  defineNameEnd = 0;
  defineLine = 0;
  defineParamNames: string[] = [];
  defineIsNamespace = false;

  // Outputs.
  readonly exports: RawExport[] = [];
  readonly proxies: ProxyDef[] = [];
  readonly wrappers: WrapperCandidate[] = [];
  readonly imports: ImportNs[] = [];
  readonly defIds: number[] = [];
  readonly defMeta: number[] = []; // line, endLine, static, kind

  constructor(
    readonly buf: Uint8Array,
    readonly opts: ScanOptions,
    readonly voc: Vocabulary,
  ) {
    this.n = buf.length;
    this.interner = voc.interner;
    this.isAsm = opts.kind === SourceKind.Asm;
    this.proxyMode = opts.proxies;
    this.fileStamp = voc.stamp();
  }

  record(id: number, line: number, ctx: number): void {
    const voc = this.voc;
    if (ctx === 0) {
      if (voc.seen[id] === this.fileStamp) return;
      voc.seen[id] = this.fileStamp;
    } else {
      if (voc.seenCtx[id] === this.ctxStamp) return;
      voc.seenCtx[id] = this.ctxStamp;
    }
    this.push(id, line, ctx);
  }

  addDef(id: number, ln: number, endLn: number, isStatic: boolean, kind: number): number {
    this.defIds.push(id);
    this.defMeta.push(ln, endLn, isStatic ? 1 : 0, kind);
    // A definition other files can link to is a posting too, so that "defined but not exported" is
    // one lookup away (review's undefined! check).
    if (!isStatic) this.push(id, ln, DEF_CTX);
    return this.defIds.length - 1;
  }

  private push(id: number, line: number, ctx: number): void {
    const voc = this.voc;
    if (this.useCount + 3 > voc.sink.length) voc.sink = grown(voc.sink, this.useCount + 3);
    const sink = voc.sink;
    sink[this.useCount] = id;
    sink[this.useCount + 1] = line;
    sink[this.useCount + 2] = ctx;
    this.useCount += 3;
  }

  condPath(): string {
    let s = '';
    for (let k = 0; k < this.condIds.length; k++) s += (k ? '/' : '') + this.condIds[k] + '.' + this.condBranch[k];
    return s;
  }

  resetStmt(): void {
    this.stmtStatic = false;
    this.stmtSkip = false;
    this.stmtAggregate = false;
    this.stmtHasEq = false;
    this.declId = -1;
    this.inParams = false;
    this.pendingFn = -1;
    this.macroCallParen = 0;
    this.macroDefines = false;
    this.macroSkip = false;
    this.prev = P_NONE;
    this.prevStorage = false;
    this.stmtDefStart = this.defIds.length;
  }

  endDefine(end: number): void {
    const buf = this.buf;
    // A body that calls another wrapper (`_EXPORT_DEV_PM_OPS` -> `_EXPORT_PM_OPS`) is a candidate too.
    if (!this.defineHasExport) {
      // Searching from each body to wherever the next "EXPORT" is made a file of many defines quadratic.
      const from = this.defineBodyStart;
      if (from < this.exportSearchFrom || (this.nextExport >= 0 && this.nextExport < from)) {
        this.nextExport = (buf as Buffer).indexOf(EXPORT_WORD, from);
        this.exportSearchFrom = from;
      }
      this.defineHasExport = this.nextExport >= 0 && this.nextExport < end;
    }
    if (this.defineHasExport) {
      const body = latin1(buf, this.defineBodyStart, end).replace(/\\\r?\n/g, ' ');
      this.wrappers.push({ name: latin1(buf, this.defineNameStart, this.defineNameEnd), params: this.defineParamNames, line: this.defineLine, body });
    }
    if (this.defineIsNamespace) {
      const body = latin1(buf, this.defineBodyStart, end)
        .replace(/\/\*.*?\*\//g, '')
        .replace(/\/\/.*$/, '')
        .trim();
      this.fileNamespace = body.replace(/^"(.*)"$/, '$1');
      this.fileNamespaceLine = this.defineLine;
      this.fileNamespaceLate = this.seenInclude;
    } else if (!this.proxyMode && end - this.defineBodyStart < 96) {
      const body = latin1(buf, this.defineBodyStart, end).trim();
      if (/^[\w\s#]+$/.test(body) && /[A-Za-z_]/.test(body)) {
        this.localMacros.push({ name: latin1(buf, this.defineNameStart, this.defineNameEnd), params: this.defineParams ? this.defineParamNames : null, body, line: this.defineLine });
      }
    }
    this.inDefine = false;
    this.defineParams = null;
    this.defineHasExport = false;
    this.defineIsNamespace = false;
  }

  /**
   * A string literal from `s` (after its quote) to `e` (its closing quote) that holds assembly:
   * `call NAME` or `jmp NAME` at its start, or after a `\t`, `\n`, `;` or a label's `:`, is a use of
   * NAME (ALTERNATIVE("", "call entry_untrain_ret", X86_FEATURE_UNRET)). Prose ("cannot call foo") is not.
   */
  asmStringUses(s: number, e: number, line: number): void {
    const buf = this.buf;
    for (let j = s; j + 5 < e; j++) {
      const c = buf[j]!;
      if (c !== 99 /* c */ && c !== 106 /* j */) continue;
      const before = j === s ? 34 : buf[j - 1]!;
      const at = before === 34 || before === 59 || before === 9 || (before === 116 || before === 110 ? buf[j - 2] === 92 : before === 32 && j - 2 >= s && buf[j - 2] === 58);
      if (!at) continue;
      let k = j;
      if (c === 99 && buf[k + 1] === 97 && buf[k + 2] === 108 && buf[k + 3] === 108) k += 4;
      else if (c === 106 && buf[k + 1] === 109 && buf[k + 2] === 112) k += 3;
      else continue;
      if (buf[k] === 113 /* q */) k++;
      const gap = k;
      while (k < e && (buf[k] === 32 || buf[k] === 9 || (buf[k] === 92 && buf[k + 1] === 116))) k += buf[k] === 92 ? 2 : 1;
      if (k === gap || k >= e || isIdChar[buf[k]!] !== 1 || (buf[k]! >= 48 && buf[k]! <= 57)) continue;
      const from = k;
      while (k < e && isIdChar[buf[k]!] === 1) k++;
      const id = this.interner.internBytes(buf, from, k, fnv1a(buf, from, k));
      if (id >= this.voc.flags.length) this.voc.grow(this.interner.size + 4096);
      if (this.inDefine) {
        if (this.proxyMode && this.defineCtx === 0) this.openMacroProxy();
        this.record(id, line, this.defineCtx);
      } else this.record(id, line, this.ctx);
      j = k;
    }
  }

  /** The first identifier use in a header macro body makes the macro a proxy. */
  openMacroProxy(): void {
    this.proxies.push({ name: latin1(this.buf, this.defineNameStart, this.defineNameEnd), line: this.defineLine, kind: 'macro' });
    this.defineCtx = this.proxies.length;
    this.ctxStamp = this.voc.stamp();
  }

  /** Skip white space, newlines and comments; returns the next index. */
  skipBlank(j: number): number {
    const buf = this.buf;
    const n = this.n;
    while (j < n) {
      const c = buf[j]!;
      if (c === 10) {
        this.line++;
        j++;
      } else if (cls[c] === C_SPACE) j++;
      else if (c === 92 && buf[j + 1] === 10) {
        this.line++;
        j += 2;
      } else if (c === 47 && buf[j + 1] === 42) j = this.skipComment(j + 2);
      else if (c === 47 && buf[j + 1] === 47) {
        while (j < n && buf[j] !== 10) j++;
      } else break;
    }
    return j;
  }

  /**
   * From just inside a block comment to just after it. One pass over the bytes: searching for the
   * next '*' and the next newline separately rescanned a long comment without leading '*' once per
   * line, which made such comments quadratic.
   */
  skipComment(j: number): number {
    const buf = this.buf;
    const n = this.n;
    let line = this.line;
    for (; j < n; j++) {
      const c = buf[j]!;
      if (c === 10) line++;
      else if (c === 42 && buf[j + 1] === 47) {
        this.line = line;
        return j + 2;
      }
    }
    this.line = line;
    return n;
  }

  /** Skip to the end of a logical line (continuations, comments); stops at the newline. */
  skipLine(j: number): number {
    const buf = this.buf;
    const n = this.n;
    while (j < n) {
      const c = buf[j]!;
      if (c === 10) return j;
      if (c === 92 && buf[j + 1] === 10) {
        this.line++;
        j += 2;
      } else if (c === 47 && buf[j + 1] === 42) j = this.skipComment(j + 2);
      else j++;
    }
    return n;
  }

  /** Parse a parenthesised argument list starting at `(`; returns the args and sets `argsEnd`. */
  argsEnd = 0;
  parseArgs(j: number): string[] {
    const buf = this.buf;
    const n = this.n;
    const args: string[] = [];
    let cur = '';
    let depth = 0;
    const limit = Math.min(n, j + 4096);
    while (j < limit) {
      const c = buf[j]!;
      if (c === 40) {
        if (depth > 0) cur += '(';
        depth++;
        j++;
      } else if (c === 41) {
        depth--;
        j++;
        if (depth === 0) {
          args.push(cur);
          this.argsEnd = j;
          return args;
        }
        cur += ')';
      } else if (c === 44 && depth === 1) {
        args.push(cur);
        cur = '';
        j++;
      } else if (c === 34) {
        const s = j;
        j++;
        while (j < n && buf[j] !== 34 && buf[j] !== 10) j += buf[j] === 92 ? 2 : 1;
        j++;
        cur += latin1(buf, s, Math.min(j, n));
      } else if (c === 10 || cls[c] === C_SPACE || c === 47 || (c === 92 && buf[j + 1] === 10)) {
        const before = j;
        j = this.skipBlank(j);
        if (j === before) {
          cur += '/';
          j++;
        }
      } else {
        cur += String.fromCharCode(c);
        j++;
      }
    }
    this.argsEnd = Math.min(j, n);
    args.push(cur);
    return args;
  }

  /** Reads a directive at `j` (just after `#`); returns the index to continue from. */
  directive(j: number): number {
    const buf = this.buf;
    const n = this.n;
    const voc = this.voc;
    const hashAt = j - 1;
    j = skipSpaces(buf, j, n);
    const s = j;
    while (j < n && isIdChar[buf[j]!]) j++;
    if (j === s) return this.skipLine(j); // null directive or `# 1 "file"`
    const id = this.interner.internBytes(buf, s, j, fnv1a(buf, s, j));
    if (id === voc.kDefine) {
      j = skipSpaces(buf, j, n);
      const ns = j;
      while (j < n && isIdChar[buf[j]!]) j++;
      if (j === ns) return this.skipLine(j);
      this.defineNameStart = ns;
      this.defineNameEnd = j;
      this.defineLine = this.line;
      this.defineParamNames = [];
      this.defineParams = null;
      if (buf[j] === 40) {
        const params: number[] = [];
        j++;
        while (j < n && buf[j] !== 41 && buf[j] !== 10) {
          const c = buf[j]!;
          if (cls[c] === C_IDSTART) {
            const ps = j;
            while (j < n && isIdChar[buf[j]!]) j++;
            const pid = this.interner.internBytes(buf, ps, j, fnv1a(buf, ps, j));
            params.push(pid);
            this.defineParamNames.push(this.interner.name(pid));
          } else if (c === 92 && buf[j + 1] === 10) {
            this.line++;
            j += 2;
          } else j++;
        }
        if (buf[j] === 41) j++;
        this.defineParams = params;
      }
      if (this.defineParams === null && isPlainNumberBody(buf, j, n)) return this.skipLine(j);
      this.inDefine = true;
      this.definePrev = P_OTHER;
      this.defineBodyStart = j;
      this.defineIsNamespace = j - ns === 24 && startsWithAscii(buf, ns, 'DEFAULT_SYMBOL_NAMESPACE');
      // The macro becomes a proxy lazily, at the first identifier its body uses: generated register
      // headers define millions of names whose bodies are plain numbers.
      this.defineCtx = 0;
      return j;
    }
    if (id === voc.kIf || id === voc.kIfdef || id === voc.kIfndef) {
      this.condIds.push(++this.condCounter);
      this.condBranch.push(0);
      this.condBrace.push(this.brace);
      this.condBraceAfterFirst.push(this.brace);
      if (id === voc.kIf && isZeroCondition(buf, j, n)) return this.skipFalseBranch(j);
      return this.skipLine(j);
    }
    if (id === voc.kElif || id === voc.kElse) {
      const top = this.condIds.length - 1;
      if (top >= 0) {
        if (this.condBranch[top] === 0) {
          this.condBraceAfterFirst[top] = this.brace;
          // `#ifdef A / int f(int a) { / #else / int f(long a) { / #endif`: the else branch reopens
          // the same function body.
          if (this.condBrace[top] === 0 && this.brace > 0 && this.bodyKind === B_FUNCTION) {
            this.altFnDef = this.fnDefIndex;
            this.altFnCtx = this.ctx;
            this.altFnStamp = this.ctxStamp;
            this.bodyKind = B_NONE;
            this.ctx = 0;
            this.resetStmt();
          }
        }
        this.condBranch[top]!++;
        this.brace = this.condBrace[top]!;
      }
      return this.skipLine(j);
    }
    if (id === voc.kEndif) {
      const top = this.condIds.length - 1;
      if (top >= 0) {
        if (this.condBranch[top]! > 0) {
          this.brace = this.condBraceAfterFirst[top]!;
          if (this.altFnDef >= 0) this.reopenAltFn();
        }
        this.popCond();
      }
      return this.skipLine(j);
    }
    if (id === voc.kInclude) {
      this.seenInclude = true;
      if (!this.proxyMode) this.include(hashAt, skipSpaces(buf, j, n));
    }
    if (id === voc.kUndef) {
      const t = skipSpaces(buf, j, n);
      if (startsWithAscii(buf, t, 'DEFAULT_SYMBOL_NAMESPACE')) this.fileNamespace = undefined;
      let e = t;
      while (e < n && isIdChar[buf[e]!]) e++;
      if (this.wrappers.length && e > t) {
        const name = latin1(buf, t, e);
        for (const w of this.wrappers) if (w.name === name && w.undefLine === undefined) w.undefLine = this.line;
      }
    }
    return this.skipLine(j);
  }

  /** Records an #include (see IncludeRef); `hash` is the index of its `#`, `j` of what follows `include`. */
  include(hash: number, j: number): void {
    const buf = this.buf;
    const close = buf[j] === 34 ? 34 : buf[j] === 60 ? 62 : -1;
    if (close < 0) return;
    let e = j + 1;
    while (e < this.n && buf[e] !== close && buf[e] !== 10) e++;
    if (buf[e] !== close) return;
    const target = latin1(buf, j + 1, e);
    if (!target.endsWith('.c') && this.wrappers.length === 0) return;
    const lineStart = lineStartOf(buf, hash);
    this.includes.push({ target, system: close === 62, line: this.line, col: hash - lineStart, endCol: e + 1 - lineStart });
  }

  reopenAltFn(): void {
    this.fnDefIndex = this.altFnDef;
    this.ctx = this.altFnCtx;
    this.ctxStamp = this.altFnStamp;
    this.bodyKind = B_FUNCTION;
    this.altFnDef = -1;
    this.resetStmt();
  }

  popCond(): void {
    this.condIds.pop();
    this.condBranch.pop();
    this.condBrace.pop();
    this.condBraceAfterFirst.pop();
  }

  /** In an `#if 0` group: skip to the matching #else/#elif (branch continues) or #endif (popped). */
  skipFalseBranch(j: number): number {
    const buf = this.buf;
    const n = this.n;
    let nest = 0;
    j = this.skipLine(j);
    while (j < n) {
      // j is at a newline
      j++;
      this.line++;
      const t = skipSpaces(buf, j, n);
      if (buf[t] === 35) {
        const ds = skipSpaces(buf, t + 1, n);
        let de = ds;
        while (de < n && isIdChar[buf[de]!]) de++;
        const word = latin1(buf, ds, de);
        if (word === 'if' || word === 'ifdef' || word === 'ifndef') nest++;
        else if (word === 'endif') {
          if (nest === 0) {
            this.popCond();
            return this.skipLine(de);
          }
          nest--;
        } else if ((word === 'else' || word === 'elif') && nest === 0) {
          const top = this.condIds.length - 1;
          if (top >= 0) this.condBranch[top]!++;
          if (word === 'elif' && isZeroCondition(buf, de, n)) {
            j = this.skipLine(de);
            continue;
          }
          return this.skipLine(de);
        }
        j = this.skipLine(de);
      } else {
        // a plain line: only a comment or a continuation can hide a newline we must count
        j = t;
        while (j < n && buf[j] !== 10) {
          if (buf[j] === 47 && buf[j + 1] === 42) j = this.skipComment(j + 2);
          else if (buf[j] === 92 && buf[j + 1] === 10) {
            this.line++;
            j += 2;
          } else j++;
        }
      }
    }
    return n;
  }

  /**
   * `EXPORT_SYMBOL(name);` at the start of a string literal, `s` after its quote: an export call a
   * program prints, taken when the macro is an export macro, its arguments are identifiers and a `;`
   * ends it, all on the literal's own line. The call's place is the literal's text.
   */
  printedExport(s: number, line: number): void {
    const buf = this.buf;
    const n = this.n;
    let j = s;
    while (j < n && isIdChar[buf[j]!] === 1) j++;
    if (buf[j] !== 40) return;
    const macro = latin1(buf, s, j);
    if (!this.voc.exportNames.has(macro)) return;
    const open = j + 1;
    j = open;
    while (j < n && (isIdChar[buf[j]!] === 1 || buf[j] === 44 || buf[j] === 32 || buf[j] === 9)) j++;
    // A whole statement, `);` and all: a literal that merely names a call is no source text.
    if (buf[j] !== 41 || buf[skipSpaces(buf, j + 1, n)] !== 59) return;
    const args = latin1(buf, open, j)
      .split(',')
      .map((a) => a.trim());
    if (!args.every((a) => cls[a.charCodeAt(0)] === C_IDSTART && !/[ \t]/.test(a))) return;
    const col = s - lineStartOf(buf, s);
    this.exports.push({ macro, args, line, col, endLine: line, endCol: col + (j + 1 - s), cond: this.condPath(), printed: true });
  }

  /** An export macro or wrapper call at `s..i`; returns the index after it. */
  exportCall(id: number, s: number, i: number): number {
    const buf = this.buf;
    const startLine = this.line;
    const col = s - lineStartOf(buf, s);
    const j = this.skipBlank(i);
    if (buf[j] !== 40) {
      this.prev = P_IDENT;
      return j;
    }
    const args = this.parseArgs(j);
    const after = this.argsEnd;
    const exp: RawExport = {
      macro: this.interner.name(id),
      args,
      line: startLine,
      col,
      endLine: this.line,
      endCol: after - lineStartOf(buf, Math.max(0, after - 1)),
      cond: this.condPath(),
    };
    if (this.fileNamespace !== undefined) {
      exp.fileNamespace = this.fileNamespace;
      exp.fileNamespaceLine = this.fileNamespaceLine;
      if (this.fileNamespaceLate) exp.fileNamespaceLate = true;
    }
    this.exports.push(exp);
    this.prev = P_OTHER;
    // The export ends the statement for checkpatch's purposes.
    if (this.brace === 0 && this.paren === 0) this.resetStmt();
    return after;
  }

  importCall(i: number): number {
    const j = this.skipBlank(i);
    if (this.buf[j] !== 40) return j;
    const line = this.line;
    const args = this.parseArgs(j);
    this.imports.push({ ns: (args[0] ?? '').replace(/^"(.*)"$/, '$1'), line });
    this.prev = P_OTHER;
    return this.argsEnd;
  }

  /** An identifier at file scope outside parentheses. */
  fileScopeIdent(id: number, flags: number, i: number): void {
    const voc = this.voc;
    this.fileScopeIdentInner(id, flags, i, voc);
    this.prevStorage = (flags & F_STORAGE) !== 0;
  }

  private fileScopeIdentInner(id: number, flags: number, i: number, voc: Vocabulary): void {
    if (id === voc.kStatic) this.stmtStatic = true;
    else if (id === voc.kExtern || id === voc.kTypedef) this.stmtSkip = true;
    else if (flags & F_AGGREGATE) this.stmtAggregate = true;
    if (this.stmtHasEq) {
      if (!this.stmtSkip) this.record(id, this.line, this.ctx);
    } else if ((this.prev === P_IDENT || this.prev === P_STAR) && !(flags & F_QUALIFIER) && !(this.prevStorage && this.buf[skipSpaces(this.buf, i, this.n)] === 40)) {
      this.declId = id;
      this.declLine = this.line;
    } else if (this.prev === P_NONE || this.prev === P_OTHER || this.prevStorage) {
      const t = skipSpaces(this.buf, i, this.n);
      if (this.buf[t] === 40 && !(flags & F_STORAGE)) {
        // A macro call at file scope: DEFINE_*() and *_HEAD() define variables, DECLARE_*() declares.
        const name = this.interner.name(id);
        // The macro's name is a use (a wrapper call is found through it); DECLARE_*()'s arguments are not.
        if (!this.stmtSkip) this.record(id, this.line, this.ctx);
        if (name.startsWith('DECLARE_')) this.macroSkip = true;
        else if (name.startsWith('DEFINE_') || name.endsWith('_HEAD')) this.macroDefines = true;
        this.macroCallParen = 1;
      }
    }
  }

  asmIdent(id: number, i: number): number {
    const buf = this.buf;
    if (buf[i] === 58 && this.brace === 0) {
      this.addDef(id, this.line, this.line, false, 3);
    } else {
      const name = this.interner.name(id);
      const t = skipSpaces(buf, i, this.n);
      if (buf[t] === 40 && isAsmDefMacro(name)) {
        const args = this.parseArgs(t);
        const target = args[0];
        if (target && /^[A-Za-z_]\w*$/.test(target)) this.addDef(this.interner.intern(target), this.line, this.line, false, 3);
        this.prev = P_OTHER;
        return this.argsEnd;
      }
      this.record(id, this.line, 0);
    }
    this.prev = P_IDENT;
    return i;
  }

  punct(c: number, i: number): number {
    const buf = this.buf;
    switch (c) {
      case 40: // (
        if (this.brace === 0 && this.paren === 0 && this.declId >= 0 && this.prev === P_IDENT && !this.stmtHasEq && !this.macroCallParen) {
          this.inParams = true;
          this.paramsParen = 1;
          this.fnName = this.declId;
          this.fnLine = this.declLine;
          this.declId = -1;
        }
        this.paren++;
        this.prev = P_OTHER;
        break;
      case 41: // )
        if (this.paren > 0) this.paren--;
        if (this.inParams && this.paren < this.paramsParen) {
          this.inParams = false;
          this.pendingFn = this.fnName;
          this.pendingFnLine = this.fnLine;
        }
        if (this.paren === 0) this.macroCallParen = 0;
        this.prev = P_RPAREN;
        break;
      case 123: // {
        if (this.brace === 0) {
          if (this.pendingFn >= 0 && !this.stmtHasEq && this.altFnDef >= 0) {
            this.reopenAltFn();
          } else if (this.pendingFn >= 0 && !this.stmtHasEq) {
            this.bodyKind = B_FUNCTION;
            this.fnDefIndex = this.addDef(this.pendingFn, this.pendingFnLine, this.line, this.stmtStatic, 0);
            if (this.proxyMode) {
              this.proxies.push({ name: this.interner.name(this.pendingFn), line: this.pendingFnLine, kind: 'inline' });
              this.ctx = this.proxies.length;
              this.ctxStamp = this.voc.stamp();
            }
          } else if (this.stmtHasEq) this.bodyKind = B_OTHER;
          else if (this.stmtAggregate) this.bodyKind = B_AGGREGATE;
          else this.bodyKind = B_OTHER;
        }
        this.brace++;
        this.prev = P_OTHER;
        break;
      case 125: // }
        if (this.brace > 0) this.brace--;
        if (this.brace === 0) {
          if (this.bodyKind === B_FUNCTION) {
            if (this.fnDefIndex >= 0) this.defMeta[this.fnDefIndex * 4 + 1] = this.line;
            this.fnDefIndex = -1;
            this.ctx = 0;
            this.bodyKind = B_NONE;
            this.resetStmt();
            break;
          }
          this.bodyKind = B_NONE;
        }
        this.prev = P_OTHER;
        break;
      case 59: // ;
        if (this.brace === 0 && this.paren === 0) {
          if (this.declId >= 0 && !this.stmtSkip) this.addDef(this.declId, this.declLine, this.line, this.stmtStatic, 1);
          for (let d = this.stmtDefStart; d < this.defIds.length; d++) this.defMeta[d * 4 + 1] = this.line;
          this.resetStmt();
          break;
        }
        this.prev = P_OTHER;
        break;
      case 61: // =
        if (this.brace === 0 && this.paren === 0 && buf[i + 1] !== 61) {
          if (this.declId >= 0 && !this.stmtSkip && !this.stmtHasEq) this.addDef(this.declId, this.declLine, this.line, this.stmtStatic, 1);
          this.declId = -1;
          this.stmtHasEq = true;
        }
        this.prev = P_OTHER;
        break;
      case 44: // ,
        if (this.brace === 0 && this.paren === 0) {
          if (this.declId >= 0 && !this.stmtSkip && !this.stmtHasEq) this.addDef(this.declId, this.declLine, this.line, this.stmtStatic, 1);
          this.declId = -1;
          this.stmtHasEq = false;
        }
        this.prev = P_OTHER;
        break;
      case 91: // [
        if (this.brace === 0 && this.paren === 0 && this.declId >= 0 && !this.stmtSkip && !this.stmtHasEq) {
          this.addDef(this.declId, this.declLine, this.line, this.stmtStatic, 1);
          this.declId = -1;
        }
        this.prev = P_OTHER;
        break;
      case 42: // *
        this.prev = P_STAR;
        break;
      case 46: // .
        this.prev = P_MEMBER;
        break;
      case 45: // - or ->
        if (buf[i + 1] === 62) {
          this.prev = P_MEMBER;
          return i + 2;
        }
        this.prev = P_OTHER;
        break;
      default:
        this.prev = P_OTHER;
    }
    return i + 1;
  }

  result(): FileScan {
    const defs: Definition[] = [];
    if (this.exports.length > 0 || this.opts.keepDefs) {
      const { defIds, defMeta } = this;
      for (let d = 0; d < defIds.length; d++) {
        defs.push({
          name: this.interner.name(defIds[d]!),
          line: defMeta[d * 4]!,
          endLine: Math.max(defMeta[d * 4 + 1]!, defMeta[d * 4]!),
          isStatic: defMeta[d * 4 + 2] === 1,
          kind: DEF_KINDS[defMeta[d * 4 + 3]!]!,
        });
      }
    }
    return {
      exports: this.exports,
      defs,
      proxies: this.proxies,
      wrappers: this.wrappers,
      imports: this.imports,
      localMacros: this.exports.length || this.includes.length ? this.localMacros : [],
      includes: this.includes,
      uses: this.voc.sink.slice(0, this.useCount),
      lines: this.line,
    };
  }
}

/** The hot loop. Only `i` and `line` live in locals; the rare paths go through `st`. */
function run(st: ScanState): void {
  const buf = st.buf;
  const n = st.n;
  const interner = st.interner;
  const voc = st.voc;
  const isAsm = st.isAsm;
  const { cH1, cH2, cLen, cId, cFlags, cSeen } = voc;
  let i = 0;
  let line = 1;
  let atLineStart = true;

  while (i < n) {
    const c = buf[i]!;
    const k = cls[c]!;

    if (k === C_IDSTART) {
      const s = i;
      // Identifiers that are never recorded are not interned: members after . or ->, names in
      // struct/union bodies and in file-scope parameter lists, stringified macro arguments.
      if (st.inDefine ? st.definePrev === P_MEMBER || st.definePrev === P_HASH : st.prev === P_MEMBER || (st.brace > 0 ? st.bodyKind === B_AGGREGATE : st.inParams)) {
        do i++;
        while (i < n && isIdChar[buf[i]!] === 1);
        atLineStart = false;
        if (st.inDefine) st.definePrev = P_IDENT;
        else st.prev = P_IDENT;
        continue;
      }
      let h = 0x811c9dc5;
      let h2 = 0;
      do {
        const b = buf[i]!;
        h = Math.imul(h ^ b, 0x01000193);
        h2 = (Math.imul(h2, 31) + b) | 0;
        i++;
      } while (i < n && isIdChar[buf[i]!] === 1);
      atLineStart = false;
      const slot = (h ^ (h >>> 15)) & CACHE_MASK;
      let id: number;
      let flags: number;
      if (cH1[slot] === h && cH2[slot] === h2 && cLen[slot] === i - s) {
        id = cId[slot]!;
        flags = cFlags[slot]!;
      } else {
        id = interner.internBytes(buf, s, i, h >>> 0);
        if (id >= voc.flags.length) voc.grow(interner.size + 4096);
        flags = voc.flags[id]!;
        cH1[slot] = h;
        cH2[slot] = h2;
        cLen[slot] = i - s;
        cId[slot] = id;
        cFlags[slot] = flags;
        cSeen[slot] = voc.seen[id]!;
      }

      if (st.inDefine) {
        if (flags & F_EXPORT) st.defineHasExport = true;
        const dp = st.definePrev;
        st.definePrev = P_IDENT;
        if (dp === P_MEMBER || dp === P_HASH) continue;
        if (st.defineParams !== null && st.defineParams.includes(id)) continue;
        if (nextIsPaste(buf, i, n)) continue;
        if (st.proxyMode && st.defineCtx === 0) st.openMacroProxy();
        st.record(id, line, st.defineCtx);
        continue;
      }

      if (flags & (F_EXPORT | F_WRAPPER | F_IMPORT)) {
        if (st.prev !== P_MEMBER) {
          st.line = line;
          i = flags & F_IMPORT ? st.importCall(i) : st.exportCall(id, s, i);
          line = st.line;
          continue;
        }
      }

      if (st.prev === P_MEMBER) {
        st.prev = P_IDENT;
        continue;
      }

      if (isAsm) {
        st.line = line;
        i = st.asmIdent(id, i);
        line = st.line;
        continue;
      }

      if (st.brace === 0) {
        st.line = line;
        if (st.paren === 0) st.fileScopeIdent(id, flags, i);
        else if (!st.inParams && !st.stmtSkip && !st.macroSkip) {
          st.record(id, line, st.ctx);
          if (st.macroDefines && st.paren === st.macroCallParen) st.addDef(id, line, line, st.stmtStatic, 2);
        }
      } else {
        // inlined record() for the common case: direct uses in function bodies and initializers
        if (st.ctx !== 0) st.record(id, line, st.ctx);
        else if (cSeen[slot] !== st.fileStamp) {
          st.record(id, line, 0);
          cSeen[slot] = st.fileStamp;
        }
      }
      st.prev = P_IDENT;
      continue;
    }

    if (k === C_SPACE) {
      i++;
      continue;
    }
    if (k === C_NL) {
      line++;
      i++;
      atLineStart = true;
      if (st.inDefine) st.endDefine(i - 1);
      continue;
    }
    if (k === C_DIGIT) {
      // pp-number: digits, letters, dots, and e+/p- exponents
      i++;
      while (i < n) {
        const d = buf[i]!;
        if (isIdChar[d] === 1 || d === 46) i++;
        else if ((d === 43 || d === 45) && (buf[i - 1] === 101 || buf[i - 1] === 69 || buf[i - 1] === 112 || buf[i - 1] === 80)) i++;
        else break;
      }
      atLineStart = false;
      if (st.inDefine) st.definePrev = P_OTHER;
      else st.prev = P_OTHER;
      continue;
    }

    if (c === 47) {
      const d = buf[i + 1];
      if (d === 42) {
        st.line = line;
        i = st.skipComment(i + 2);
        line = st.line;
        continue;
      }
      if (d === 47) {
        // line comment; a continuation extends it
        for (;;) {
          const nl = buf.indexOf(10, i);
          if (nl < 0) {
            i = n;
            break;
          }
          if (!isAsm && nl > 0 && buf[nl - 1] === 92) {
            line++;
            i = nl + 1;
            continue;
          }
          i = nl;
          break;
        }
        continue;
      }
    }
    if (c === 92 && (buf[i + 1] === 10 || (buf[i + 1] === 13 && buf[i + 2] === 10))) {
      i += buf[i + 1] === 10 ? 2 : 3;
      line++;
      continue;
    }
    if (c === 35) {
      if (atLineStart && !st.inDefine) {
        st.line = line;
        i = st.directive(i + 1);
        line = st.line;
        continue;
      }
      if (st.inDefine) st.definePrev = P_HASH;
      i++;
      continue;
    }
    atLineStart = false;
    if (c === 34) {
      // "E": perhaps an export call that a host program prints into a file it generates.
      if (buf[i + 1] === 69 && !isAsm && !st.inDefine) st.printedExport(i + 1, line);
      const start = i + 1;
      const startLine = line;
      i++;
      while (i < n) {
        const d = buf[i]!;
        if (d === 34 || d === 10) break;
        if (d === 92) {
          if (buf[i + 1] === 10) line++;
          i += 2;
        } else i++;
      }
      if (!isAsm && i - start > 5 && !st.stmtSkip) st.asmStringUses(start, Math.min(i, n), startLine);
      if (i < n && buf[i] === 34) i++;
      if (st.inDefine) st.definePrev = P_OTHER;
      else st.prev = P_OTHER;
      continue;
    }
    if (c === 39) {
      i++;
      if (!isAsm) {
        const limit = Math.min(n, i + 12);
        while (i < limit && buf[i] !== 39 && buf[i] !== 10) i += buf[i] === 92 ? 2 : 1;
        if (i < n && buf[i] === 39) i++;
      }
      continue;
    }

    if (st.inDefine) {
      const arrow = c === 45 && buf[i + 1] === 62;
      st.definePrev = c === 46 || arrow ? P_MEMBER : P_OTHER;
      i += arrow ? 2 : 1;
      continue;
    }
    st.line = line;
    i = st.punct(c, i);
  }
  if (i > n) i = n;
  st.line = line;
  if (st.inDefine) st.endDefine(n);
}

function skipSpaces(buf: Uint8Array, j: number, n: number): number {
  while (j < n && (buf[j] === 32 || buf[j] === 9 || buf[j] === 13)) j++;
  return j;
}

function nextIsPaste(buf: Uint8Array, j: number, n: number): boolean {
  j = skipSpaces(buf, j, n);
  return buf[j] === 35 && buf[j + 1] === 35;
}

function isZeroCondition(buf: Uint8Array, j: number, n: number): boolean {
  j = skipSpaces(buf, j, n);
  while (buf[j] === 40) j = skipSpaces(buf, j + 1, n);
  if (buf[j] !== 48) return false;
  j++;
  while (buf[j] === 41) j++;
  j = skipSpaces(buf, j, n);
  return j >= n || buf[j] === 10 || buf[j] === 47;
}

function startsWithAscii(buf: Uint8Array, j: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (buf[j + k] !== word.charCodeAt(k)) return false;
  return !isIdChar[buf[j + word.length] ?? 0];
}

/** `#define NAME 0x1234` (optionally `(0x1234)`, `1UL`, a trailing comment): nothing to record. */
function isPlainNumberBody(buf: Uint8Array, j: number, n: number): boolean {
  j = skipSpaces(buf, j, n);
  if (buf[j] === 40) j++;
  if (j >= n || cls[buf[j]!] !== C_DIGIT) return false;
  while (j < n && (isIdChar[buf[j]!] === 1 || buf[j] === 46)) j++;
  if (buf[j] === 41) j++;
  j = skipSpaces(buf, j, n);
  return j >= n || buf[j] === 10 || (buf[j] === 47 && (buf[j + 1] === 42 || buf[j + 1] === 47) && !hasContinuation(buf, j, n));
}

function hasContinuation(buf: Uint8Array, j: number, n: number): boolean {
  const nl = buf.indexOf(10, j);
  const end = nl < 0 ? n : nl;
  let k = end - 1;
  if (buf[k] === 13) k--;
  return buf[k] === 92;
}

function lineStartOf(buf: Uint8Array, j: number): number {
  while (j > 0 && buf[j - 1] !== 10) j--;
  return j;
}

function latin1(buf: Uint8Array, s: number, e: number): string {
  return (buf as Buffer).toString('latin1', s, Math.max(s, e));
}

function isAsmDefMacro(name: string): boolean {
  return (name.startsWith('SYM_') && name.includes('_START')) || name === 'ENTRY' || name === 'GLOBAL' || name === 'SYM_FUNC_ALIAS';
}

/** The kind of source a path holds, by its name; undefined for anything else. */
export function sourceKindOf(path: string): SourceKind | undefined {
  if (path.endsWith('.c') || path.endsWith('.c_shipped')) return SourceKind.C;
  if (path.endsWith('.h')) return SourceKind.Header;
  if (path.endsWith('.S')) return SourceKind.Asm;
  return undefined;
}

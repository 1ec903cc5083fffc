/**
 * Kconfig, read as scripts/kconfig reads it, for what the build model needs of each symbol: its type
 * (bool or tristate), the architectures that define it, the `choice` it belongs to, and what must hold
 * when it is set: its `depends on` (with the enclosing `if`, `menu` and `choice`), and for a symbol
 * with no prompt, the `default`s and `select`s that can set it. `def_bool !64BIT` (sparc's SPARC32)
 * then says SPARC32 implies !64BIT, and `default y if !PREEMPTION && !SMP` (TINY_RCU) that TINY_RCU
 * implies !SMP.
 *
 * Every architecture's tree is read at once: `source "arch/$(SRCARCH)/Kconfig"` reads each arch/NAME.
 */
import { ALWAYS, and, type Cond, lit, M, MAX_TERMS, N, NEVER, or, SET, Y } from './cond';
import type { Unknown } from './unknown';

export type SymbolType = 'bool' | 'tristate' | 'other';

export interface KSymbol {
  name: string;
  type?: SymbolType;
  /** architectures whose Kconfig defines it; undefined: a Kconfig outside arch/ does (every arch) */
  archs?: Set<string>;
  /** where it is defined (`config NAME`) */
  defs: { file: string; line: number }[];
  prompt: boolean;
  /** OR over its definitions of their dependencies */
  deps: Cond;
  /** the defaults' conditions under which it is set */
  defaults: Cond;
  /** the conditions under which a `select` sets it, one per select line */
  selects: Cond[];
  /** the `choice` blocks it is an entry of (x86's and loongarch's unwinder choices both hold UNWINDER_GUESS) */
  choices?: number[];
  /** impliedBy()'s answer, once asked */
  implied?: Cond;
}

export interface Kconfig {
  symbols: Map<string, KSymbol>;
  /** Kconfig files read, tree-relative */
  files: string[];
  /** architectures (arch/NAME with a Kconfig) */
  arches: string[];
  unknown: Unknown[];
}

export type ReadText = (path: string) => string | undefined;
/** A Kconfig file's bytes (a byte a character, as latin1), or its text. */
export type ReadKconfig = (path: string) => Uint8Array | string | undefined;

// ---- expressions ----

type Expr = { k: 'sym'; name: string } | { k: 'str'; text: string } | { k: 'not'; e: Expr } | { k: 'and' | 'or'; a: Expr; b: Expr } | { k: 'cmp'; op: string; l: Expr; r: Expr };

const TOKEN = /\s*(\|\||&&|!=|<=|>=|[()!=<>]|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z0-9_.-]+)/y;

function tokenize(text: string): string[] | undefined {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    while (at < text.length && (text[at] === ' ' || text[at] === '\t')) at++;
    if (at >= text.length) break;
    if (text.startsWith('$(', at)) {
      // Kconfig's macro language, $(success,…) and $(cc-option,…): a toolchain test, either value possible
      let depth = 0;
      let k = at;
      for (; k < text.length; k++) {
        if (text[k] === '(') depth++;
        else if (text[k] === ')' && --depth === 0) break;
      }
      out.push('$()');
      at = k + 1;
      continue;
    }
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(text);
    if (!m) return undefined;
    out.push(m[1]!);
    at = TOKEN.lastIndex;
  }
  return out;
}

export function parseExpr(text: string): Expr | undefined {
  const toks = tokenize(text);
  if (!toks || toks.length === 0) return undefined;
  let p = 0;
  // one loop for both binary operators: `||` over `&&` terms, `&&` over unary ones
  const binary = (op: '||' | '&&', k: 'or' | 'and', operand: () => Expr | undefined) => (): Expr | undefined => {
    let a = operand();
    while (a && toks[p] === op) {
      p++;
      const b = operand();
      if (!b) return undefined;
      a = { k, a, b };
    }
    return a;
  };
  const andE = binary('&&', 'and', () => unary());
  const orE = binary('||', 'or', andE);
  const unary = (): Expr | undefined => {
    if (toks[p] === '!') {
      p++;
      const e = unary();
      return e && { k: 'not', e };
    }
    return cmp();
  };
  const cmp = (): Expr | undefined => {
    const l = atom();
    if (!l) return undefined;
    const op = toks[p];
    if (op === '=' || op === '!=' || op === '<' || op === '>' || op === '<=' || op === '>=') {
      p++;
      const r = atom();
      return r && { k: 'cmp', op, l, r };
    }
    return l;
  };
  const atom = (): Expr | undefined => {
    const t = toks[p++];
    if (t === undefined) return undefined;
    if (t === '(') {
      const e = orE();
      if (toks[p++] !== ')') return undefined;
      return e;
    }
    if (t === '$()') return { k: 'str', text: '' };
    if (t.startsWith('"') || t.startsWith("'")) return { k: 'str', text: t.slice(1, -1) };
    if (/^[A-Za-z0-9_.$-]+$/.test(t)) return { k: 'sym', name: t };
    return undefined;
  };
  const e = orE();
  return p === toks.length ? e : undefined;
}

function constValue(e: Expr): string | undefined {
  if (e.k === 'str') return e.text;
  if (e.k === 'sym' && (e.name === 'y' || e.name === 'm' || e.name === 'n')) return e.name;
  return undefined;
}

const VALUE_MASK: Record<string, number> = { y: Y, m: M, n: N };

/** What `config` and `menuconfig` take as a name. */
const CONFIG_NAME = /^[A-Za-z0-9_-]+$/;

/** A config symbol's name: letters, digits and '_' (64BIT too), but no number (100, 0x10). */
const SYMBOL_NAME = /^(?!\d+$)(?!0x[0-9a-fA-F]+$)[A-Za-z0-9_]+$/;

/**
 * When the expression is not n, as a condition on symbols. What cannot be said as one (a comparison
 * of numbers or strings) is left free: the condition is widened, never narrowed.
 */
export function exprCond(e: Expr, negate = false): Cond {
  switch (e.k) {
    case 'sym': {
      if (e.name === 'y' || e.name === 'm') return negate ? (e.name === 'm' ? ALWAYS : NEVER) : ALWAYS;
      if (e.name === 'n') return negate ? ALWAYS : NEVER;
      if (!SYMBOL_NAME.test(e.name)) return ALWAYS;
      // !S is not n when S is n (y) or m (m)
      return [lit(e.name, negate ? N | M : SET)];
    }
    case 'str':
      return ALWAYS;
    case 'not':
      return exprCond(e.e, !negate);
    case 'and':
      return negate ? or(exprCond(e.a, true), exprCond(e.b, true)) : and(exprCond(e.a), exprCond(e.b));
    case 'or':
      return negate ? and(exprCond(e.a, true), exprCond(e.b, true)) : or(exprCond(e.a), exprCond(e.b));
    case 'cmp': {
      if (e.op !== '=' && e.op !== '!=') return ALWAYS;
      let sym: Expr = e.l;
      let val = constValue(e.r);
      if (val === undefined) {
        sym = e.r;
        val = constValue(e.l);
      }
      const mask = val === undefined ? undefined : VALUE_MASK[val];
      if (mask === undefined || sym.k !== 'sym' || !SYMBOL_NAME.test(sym.name) || constValue(sym) !== undefined) return ALWAYS;
      const equal = (e.op === '=') !== negate;
      return [lit(sym.name, equal ? mask : (N | M | Y) & ~mask)];
    }
  }
}

/** Expressions repeat (`depends on PCI` thousands of times): each text is read once per readKconfig(). */
type CondMemo = Map<string, Cond | undefined>;

function condOf(text: string, file: string, line: number, unknown: Unknown[], memo: CondMemo): Cond {
  let c = memo.get(text);
  if (c === undefined && !memo.has(text)) {
    const e = parseExpr(text);
    c = e && exprCond(e);
    memo.set(text, c);
  }
  if (!c) {
    unknown.push({ file, line, what: `Kconfig expression "${text.trim()}"` });
    return ALWAYS;
  }
  return c;
}

// ---- files ----

interface Block {
  kind: 'if' | 'menu' | 'choice';
  deps: Cond;
  choice?: number;
}

interface Def {
  sym: KSymbol;
  deps: Cond;
  defaults: Cond;
  prompt: boolean;
}

const ARCH_OF = /^arch\/([^/]+)\//;

/** Reads every Kconfig file reachable from the tree's top Kconfig, for every architecture. */
export function readKconfig(read: ReadKconfig, arches: readonly string[]): Kconfig {
  const symbols = new Map<string, KSymbol>();
  const unknown: Unknown[] = [];
  const files: string[] = [];
  const seen = new Set<string>();
  const pendingSelects: { target: string; cond: Cond }[] = [];
  let choices = 0;
  const memo: CondMemo = new Map();

  const symbol = (name: string): KSymbol => {
    let s = symbols.get(name);
    if (!s) {
      s = { name, defs: [], prompt: false, deps: NEVER, defaults: NEVER, selects: [] };
      symbols.set(name, s);
    }
    return s;
  };

  const readFile = (path: string, blocks: Block[]): void => {
    if (seen.has(path)) return;
    const got = read(path);
    if (got === undefined) return;
    seen.add(path);
    files.push(path);
    // the file is gone over as bytes: help text, comments and blank lines (half of Kconfig's lines)
    // never become strings, and a line's text is a string of its own, not a slice that keeps the file alive
    const text = typeof got === 'string' ? Buffer.from(got, 'latin1') : Buffer.from(got.buffer, got.byteOffset, got.byteLength);
    const lines = new LineTable(text);
    const arch = ARCH_OF.exec(path)?.[1];
    let def: Def | undefined;
    const stack: Block[] = blocks.slice();
    let menuPending: Block | undefined;
    let outerMemo: Cond | undefined;
    const outer = (): Cond => {
      if (outerMemo) return outerMemo;
      let c: Cond = ALWAYS;
      for (const b of stack) c = and(c, b.deps);
      return (outerMemo = c);
    };
    const close = (): void => {
      if (!def) return;
      const s = def.sym;
      s.deps = or(s.deps, def.deps);
      s.defaults = or(s.defaults, and(def.deps, def.defaults));
      s.prompt ||= def.prompt;
      def = undefined;
    };
    for (let i = 0; i < lines.count; i++) {
      if (lines.ignorable(i)) continue;
      let raw = lines.text(i);
      const lineNo = i + 1;
      while (raw.endsWith('\\') && i + 1 < lines.count) raw = raw.slice(0, -1) + ' ' + lines.text(++i);
      const body = stripComment(raw).trim();
      if (body === '') continue;
      const sp = body.search(/\s/);
      const kw = sp < 0 ? body : body.slice(0, sp);
      const rest = sp < 0 ? '' : body.slice(sp + 1).trim();
      switch (kw) {
        case 'config':
        case 'menuconfig': {
          close();
          menuPending = undefined;
          // scripts/kconfig's words: letters, digits, '_' and '-'; anything else is a damaged line
          if (!CONFIG_NAME.test(rest)) {
            unknown.push({ file: path, line: lineNo, what: `${kw} with no symbol name: "${rest.slice(0, 60)}"` });
            continue;
          }
          const s = symbol(rest);
          s.defs.push({ file: path, line: lineNo });
          if (arch === undefined) s.archs = undefined;
          else if (s.defs.length === 1 || s.archs) (s.archs ??= new Set()).add(arch);
          let choice: number | undefined;
          for (const b of stack) if (b.kind === 'choice') choice = b.choice;
          if (choice !== undefined) (s.choices ??= []).push(choice);
          def = { sym: s, deps: outer(), defaults: NEVER, prompt: false };
          continue;
        }
        case 'help':
        case '---help---': {
          // the help text runs while lines are blank or indented at least as deep as its first line
          let indent = -1;
          while (i + 1 < lines.count) {
            if (lines.blank(i + 1)) {
              i++;
              continue;
            }
            const w = lines.indent(i + 1);
            if (indent < 0) indent = w;
            if (w < indent || indent === 0) break;
            i++;
          }
          continue;
        }
        case 'choice':
        case 'menu': {
          // the block's own `depends on` lines follow it
          close();
          const b: Block = kw === 'choice' ? { kind: 'choice', deps: ALWAYS, choice: ++choices } : { kind: 'menu', deps: ALWAYS };
          stack.push(b);
          menuPending = b;
          outerMemo = undefined;
          continue;
        }
        case 'if': {
          close();
          menuPending = undefined;
          stack.push({ kind: 'if', deps: condOf(rest, path, lineNo, unknown, memo) });
          outerMemo = undefined;
          continue;
        }
        case 'endif':
        case 'endmenu':
        case 'endchoice': {
          close();
          menuPending = undefined;
          const want = kw === 'endif' ? 'if' : kw === 'endmenu' ? 'menu' : 'choice';
          const top = stack.length > blocks.length ? stack[stack.length - 1] : undefined;
          outerMemo = undefined;
          if (top?.kind === want) stack.pop();
          else unknown.push({ file: path, line: lineNo, what: `${kw} without its ${want}` });
          continue;
        }
        case 'source':
        case 'osource':
        case 'rsource':
        case 'orsource': {
          close();
          menuPending = undefined;
          const target = rest.replace(/^"|"$/g, '');
          const base = kw === 'rsource' || kw === 'orsource' ? dirOf(path) : '';
          for (const p of sourcePaths(target, arches)) readFile(base ? `${base}/${p}` : p, stack);
          continue;
        }
        case 'comment':
        case 'mainmenu':
          close();
          menuPending = undefined;
          continue;
      }
      // attributes: of the current config entry, or of the menu/choice just opened
      const deps = /^depends\s+on\s+(.*)$/.exec(body);
      if (deps) {
        const c = condOf(deps[1]!, path, lineNo, unknown, memo);
        if (def) def.deps = and(def.deps, c);
        else if (menuPending) {
          menuPending.deps = and(menuPending.deps, c);
          outerMemo = undefined;
        }
        continue;
      }
      if (!def) continue;
      const typed = /^(bool|tristate|boolean|def_bool|def_tristate|int|hex|string)\b\s*(.*)$/.exec(body);
      if (typed) {
        const t = typed[1]!;
        const type: SymbolType = t.includes('tristate') ? 'tristate' : t.includes('bool') ? 'bool' : 'other';
        // a symbol defined tristate anywhere can be a module
        if (def.sym.type === undefined || def.sym.type === 'other' || type === 'tristate') def.sym.type = type;
        const arg = typed[2]!;
        if (t.startsWith('def_')) def.defaults = or(def.defaults, defaultCond(arg, path, lineNo, unknown, memo));
        else if (/^"/.test(arg)) def.prompt = true;
        continue;
      }
      if (/^prompt\b/.test(body)) {
        def.prompt = true;
        continue;
      }
      const dflt = /^default\s+(.*)$/.exec(body);
      if (dflt) {
        def.defaults = or(def.defaults, defaultCond(dflt[1]!, path, lineNo, unknown, memo));
        continue;
      }
      const sel = /^select\s+([A-Za-z0-9_]+)\s*(?:if\s+(.*))?$/.exec(body);
      if (sel) {
        const when = sel[2] ? condOf(sel[2], path, lineNo, unknown, memo) : ALWAYS;
        pendingSelects.push({ target: sel[1]!, cond: and(and(def.deps, when), [lit(def.sym.name, SET)]) });
      }
    }
    close();
    if (stack.length > blocks.length) unknown.push({ file: path, line: lines.count, what: `${stack.length - blocks.length} unclosed if/menu/choice block(s)` });
  };

  readFile('Kconfig', []);
  for (const { target, cond } of pendingSelects) {
    const s = symbols.get(target);
    if (s) s.selects.push(cond);
  }
  return { symbols, files, arches: [...arches], unknown };
}

function defaultCond(text: string, file: string, line: number, unknown: Unknown[], memo: CondMemo): Cond {
  const m = /^(.*?)\s+if\s+(.*)$/.exec(text);
  const value = m ? m[1]! : text;
  const when = m ? condOf(m[2]!, file, line, unknown, memo) : ALWAYS;
  // a default that is no expression (a number, a string) sets a non-bool symbol: free
  if (!memo.has(value)) {
    const e = parseExpr(value);
    memo.set(value, e && exprCond(e));
  }
  const v = memo.get(value);
  return v ? and(v, when) : when;
}

function stripComment(line: string): string {
  if (!line.includes('#')) return line;
  let q = '';
  for (let k = 0; k < line.length; k++) {
    const c = line[k];
    if (q) {
      if (c === '\\') k++;
      else if (c === q) q = '';
    } else if (c === '"' || c === "'") q = c;
    else if (c === '#') return line.slice(0, k);
  }
  return line;
}

const TAB = 0x09;
const NL = 0x0a;
const SPACE = 0x20;
const HASH = 0x23;
const BACKSLASH = 0x5c;

/** What a JavaScript \\s matches among latin1's characters: tab to carriage return, space and no-break space. */
function isSpace(c: number): boolean {
  return c === SPACE || (c >= TAB && c <= 0x0d) || c === 0xa0;
}

/** A file's lines as split('\\n') gives them, as ranges of its bytes; text only for the lines asked. */
class LineTable {
  private readonly starts: number[] = [0];

  constructor(private readonly buf: Buffer) {
    for (let at = buf.indexOf(NL); at >= 0; at = buf.indexOf(NL, at + 1)) this.starts.push(at + 1);
  }

  get count(): number {
    return this.starts.length;
  }

  private end(i: number): number {
    return i + 1 < this.starts.length ? this.starts[i + 1]! - 1 : this.buf.length;
  }

  text(i: number): string {
    return this.buf.toString('latin1', this.starts[i]!, this.end(i));
  }

  /** Nothing but spaces (as \\s reads them). */
  blank(i: number): boolean {
    const end = this.end(i);
    for (let k = this.starts[i]!; k < end; k++) if (!isSpace(this.buf[k]!)) return false;
    return true;
  }

  /** A line with nothing to read: blank, or a comment that no backslash continues. */
  ignorable(i: number): boolean {
    const end = this.end(i);
    let k = this.starts[i]!;
    while (k < end && isSpace(this.buf[k]!)) k++;
    if (k === end) return true;
    return this.buf[k] === HASH && this.buf[end - 1] !== BACKSLASH;
  }

  /** The width of its leading spaces and tabs, a tab to the next multiple of 8. */
  indent(i: number): number {
    const end = this.end(i);
    let w = 0;
    for (let k = this.starts[i]!; k < end; k++) {
      const c = this.buf[k];
      if (c === SPACE) w++;
      else if (c === TAB) w = (w + 8) & ~7;
      else break;
    }
    return w;
  }
}

function dirOf(path: string): string {
  const k = path.lastIndexOf('/');
  return k < 0 ? '' : path.slice(0, k);
}

/** `arch/$(SRCARCH)/Kconfig` for each architecture; other variables are not known here. */
function sourcePaths(target: string, arches: readonly string[]): string[] {
  if (!target.includes('$')) return [target];
  if (/\$\((SRCARCH|ARCH|HEADER_ARCH|SUBARCH)\)/.test(target)) return arches.map((a) => target.replace(/\$\((SRCARCH|ARCH|HEADER_ARCH|SUBARCH)\)/g, a));
  return [];
}

/**
 * What must hold when the symbol is set (not n): its dependencies, and for a symbol the user cannot
 * set (no prompt), a default or a select that sets it. Undefined symbols are never set.
 */
export function impliedBy(sym: KSymbol | undefined): Cond {
  if (!sym) return NEVER;
  if (sym.defs.length === 0) return NEVER;
  if (sym.implied) return sym.implied;
  if (sym.prompt) return (sym.implied = sym.deps);
  // a symbol many others select could be set by any of them: nothing narrower to say
  if (sym.selects.length > MAX_TERMS) return (sym.implied = ALWAYS);
  let c = and(sym.deps, sym.defaults);
  for (const s of sym.selects) c = or(c, s);
  return (sym.implied = c);
}

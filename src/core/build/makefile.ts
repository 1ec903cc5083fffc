/**
 * One Kbuild Makefile, evaluated the way make would for every config at once, without running make.
 *
 * A variable's value is a list of items, each present under a condition (a Term). Assignments under
 * `ifdef`/`ifeq` blocks, and to names built from config symbols (`obj-$(CONFIG_FOO)`, whose name is
 * obj-y when FOO=y and obj-m when FOO=m), add items under those conditions; `:=` and `=` replace the
 * items that were there where the new condition holds (mm/Makefile's `mmu-y := nommu.o` then
 * `mmu-$(CONFIG_MMU) := … vmalloc.o` leaves nommu.o under !MMU). A reference expands to its items,
 * or, inside a word, to alternatives (alpha's `$(ev6-y)memcpy.o` is ev6-memcpy.o under ALPHA_EV6 and
 * memcpy.o otherwise).
 *
 * Recipes, `define` blocks and includes are passed over; functions other than addprefix, addsuffix,
 * patsubst, subst, filter, filter-out, strip and if are reported as not understood where they decide
 * what is built.
 */
import { ALWAYS, and, andTerm, type Cond, lit, M, N, NEVER, not, notTerm, or, SET, type Term, TRUE, Y } from './cond';
import type { Unknown } from './unknown';
import { assignmentAt, eqArgs, patMatch, patsubst, referenceAt, splitArgs, stripComment, topLevelIndex, topLevelWords } from './makeText';

export interface Item {
  text: string;
  /** the file that assigns it, when not the Makefile itself (an included one) */
  file?: string;
  term: Term;
  /** the text is still to be expanded (`=` and `+=` are expanded where used, as make does) */
  raw: boolean;
  line: number;
  /** the config symbol in the assigned name: FOO for `obj-$(CONFIG_FOO) += …` */
  gate?: string;
}

/** Where a Makefile's evaluation finds the variables it did not set: the architecture's head, and obj and src. */
export type Lookup = (name: string) => Item[] | undefined;

/**
 * A variable's value: the items resolved so far, then the assignments not yet applied. `=` and `:=`
 * narrow every earlier item to where the new one does not hold, which grows with each assignment
 * (mips' Kbuild.platforms sets load-y a hundred times); most variables are never read as a list, so
 * assignments are applied when the variable is first read.
 */
interface VarState {
  items: Item[];
  /** the items start from the outer value (the architecture's), taken when first resolved */
  inherit: boolean;
  pending: { fresh: Item[]; replace?: Term }[];
}

export interface Word {
  word: string;
  file?: string;
  term: Term;
  line: number;
  gate?: string;
}

/** A Word, always of one shape (an object spread made a new one each time, and was slow). */
function word(text: string, term: Term, line: number, gate: string | undefined, file: string | undefined): Word {
  return { word: text, term, line, gate, file };
}

interface Alt {
  text: string;
  term: Term;
}

/** Past this many alternatives a word's expansion stops (and says so). */
const MAX_ALTS = 64;
const MAX_DEPTH = 24;
/**
 * Past this many expansion steps (a word of a list, a reference in a text, an item of a variable)
 * a Makefile's evaluation stops expanding, and says so. The most in linux-6.1 and 6.12 is 4,470; a
 * damaged one with a thousand references to a long list in one word ran for minutes.
 */
const MAX_STEPS = 50_000;
/** Files included in files included …: this many deep at most. */
const MAX_INCLUDE_DEPTH = 4;
/** Past this many files included in one Makefile's evaluation, no more are (and it says so); the most in linux-6.1 and 6.12 is 65. */
const MAX_INCLUDES = 1024;

export class MakeEval {
  private readonly vars = new Map<string, VarState>();
  readonly unknown: Unknown[] = [];
  private line = 0;
  private reported = new Set<string>();
  private steps = 0;
  /** files included so far, and those being read now: the Makefile, then each file included in the one before */
  private included = 0;
  private readonly including: string[] = [];

  constructor(
    readonly file: string,
    private readonly globals: Lookup = () => undefined,
    private readonly base: Term = TRUE,
    /** reads a file the Makefile includes (`include $(srctree)/virt/kvm/Makefile.kvm`) */
    private readonly read?: (path: string) => string | undefined,
  ) {
    this.including.push(file);
  }

  /** the file being read: the Makefile, or a file it includes */
  private get current(): string {
    return this.including[this.including.length - 1]!;
  }

  private unknownAt(what: string, line = this.line): void {
    const key = `${line}:${what}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.unknown.push({ file: this.current, line, what });
  }

  /** Counts a step of expansion; false once there have been too many (said once). */
  private step(): boolean {
    if (++this.steps <= MAX_STEPS) return true;
    if (this.steps === MAX_STEPS + 1) this.unknownAt(`expansions of more than ${MAX_STEPS} steps: what is left of this Makefile's values is left out`);
    return false;
  }

  /** Whether the Makefile (or a file it includes) assigns the variable. */
  has(name: string): boolean {
    return this.vars.has(name);
  }

  /** A variable's items, its assignments applied; the outer value when the Makefile does not assign it. */
  itemsOf(name: string): Item[] | undefined {
    const v = this.vars.get(name);
    if (!v) return this.globals(name);
    if (v.inherit) {
      v.inherit = false;
      const g = this.globals(name);
      if (g) v.items.unshift(...g);
    }
    if (v.pending.length) {
      const ops = v.pending;
      v.pending = [];
      for (const op of ops) {
        if (op.replace) {
          // = and := replace what was there where the new assignment's term holds
          const keep = notTerm(op.replace, this.base.arch);
          const kept: Item[] = [];
          for (const it of v.items) {
            for (const k of keep) {
              const t = andTerm(it.term, k);
              if (t) kept.push(t === it.term ? it : { ...it, term: t });
            }
          }
          v.items = kept;
        }
        v.items.push(...op.fresh);
      }
    }
    return v.items;
  }

  /** Reads the Makefile's text: assignments and conditionals; everything else is passed over. */
  run(text: string, outer: Cond = [this.base]): this {
    const lines = text.split('\n');
    // each open conditional: the condition of its current branch, and of the branches taken before it
    const frames: { current: Cond; taken: Cond }[] = [];
    let context: Cond = outer;
    const recompute = (): void => {
      let c: Cond = outer;
      for (const f of frames) c = and(c, f.current);
      context = c;
    };
    let inRule = false;
    for (let i = 0; i < lines.length; i++) {
      const first = i + 1;
      let raw = lines[i]!;
      while (raw.endsWith('\\') && i + 1 < lines.length) raw = raw.slice(0, -1) + ' ' + lines[++i]!;
      this.line = first;
      if (raw.startsWith('\t') && inRule) continue;
      const body = stripComment(raw).trim();
      if (body === '') continue;
      inRule = false;
      const dm = /^(ifdef|ifndef|ifeq|ifneq|else|endif|define|endef|include|-include|sinclude|export|unexport|override|undefine|vpath)\b\s*(.*)$/.exec(body);
      if (dm) {
        const [, kw, rest] = dm as unknown as [string, string, string];
        if (kw === 'ifdef' || kw === 'ifndef' || kw === 'ifeq' || kw === 'ifneq') {
          const c = this.condition(kw, rest);
          frames.push({ current: c, taken: c });
          recompute();
          continue;
        }
        if (kw === 'else') {
          const f = frames[frames.length - 1];
          if (!f) {
            this.unknownAt('else without if');
            continue;
          }
          const chained = /^(ifdef|ifndef|ifeq|ifneq)\b\s*(.*)$/.exec(rest);
          const otherwise = not(f.taken, this.base.arch);
          if (chained) {
            const c = this.condition(chained[1]!, chained[2]!);
            f.current = and(otherwise, c);
            f.taken = or(f.taken, c);
          } else f.current = otherwise;
          recompute();
          continue;
        }
        if (kw === 'endif') {
          if (!frames.pop()) this.unknownAt('endif without if');
          recompute();
          continue;
        }
        if (kw === 'define') {
          while (i + 1 < lines.length && !/^\s*endef\b/.test(lines[i + 1]!)) i++;
          i++;
          continue;
        }
        if ((kw === 'include' || kw === '-include' || kw === 'sinclude') && this.read && this.including.length <= MAX_INCLUDE_DEPTH) {
          this.include(rest, context, kw === 'include');
          continue;
        }
        if (kw === 'export' || kw === 'override') {
          if (this.assignment(rest, context)) continue;
          continue;
        }
        continue;
      }
      if (this.assignment(body, context)) continue;
      if (/^\$\((eval|call|foreach|info|warning|error)\b/.test(body)) {
        if (/\bobj-|lib-/.test(body)) this.unknownAt(`"${body.slice(0, 60)}"`);
        continue;
      }
      // a rule: its recipe lines follow, indented by a tab
      if (topLevelIndex(body, ':') >= 0) inRule = true;
    }
    if (frames.length) this.unknownAt(`${frames.length} unclosed conditional(s)`, lines.length);
    return this;
  }

  /** A tree file the Makefile includes, read in place; scripts/ and generated files are passed over. */
  private include(rest: string, context: Cond, required: boolean): void {
    const line = this.line;
    for (const a of this.expandAlts(rest.trim(), TRUE)) {
      for (const word of a.text.split(/\s+/)) {
        const path = word.replace(/^(\.\/)+/, '');
        if (!path || path.startsWith('/') || path.startsWith('scripts/') || path.startsWith('include/config/') || path.includes('..')) continue;
        // make would include a file that includes itself until it fails; a file that includes
        // another many times made the evaluation grow as a power of the count
        if (this.including.includes(path)) {
          this.unknownAt(`include of ${path}, which includes itself`, line);
          continue;
        }
        if (++this.included > MAX_INCLUDES) {
          if (this.included === MAX_INCLUDES + 1) this.unknownAt(`more than ${MAX_INCLUDES} includes: the rest are left out`, line);
          continue;
        }
        const text = this.read!(path);
        if (text === undefined) {
          if (required && !path.includes('$')) this.unknownAt(`include of ${path}, which is not in the tree`, line);
          continue;
        }
        this.including.push(path);
        this.run(text, and(context, [a.term]));
        this.including.pop();
        this.line = line;
      }
    }
  }

  /** An assignment line, or false when the line is none. */
  private assignment(body: string, context: Cond): boolean {
    const at = assignmentAt(body);
    if (!at) return false;
    const [nameText, op, value] = at;
    if (op === '!=') return true;
    const names = this.expandAlts(nameText.trim(), TRUE);
    for (const ctx of context) {
      for (const n of names) {
        const name = n.text.trim();
        if (!name || /\s/.test(name)) continue;
        const term = andTerm(ctx, n.term);
        if (!term) continue;
        const gate = gateOf(nameText);
        this.assign(name, op, value, term, gate);
      }
    }
    return true;
  }

  private assign(name: string, op: string, value: string, term: Term, gate: string | undefined): void {
    let v = this.vars.get(name);
    if (!v) this.vars.set(name, (v = { items: [], inherit: true, pending: [] }));
    // `:=` expands at once only where the value reads the variable itself (x := $(filter-out a.o,$(x)));
    // elsewhere the value is kept and expanded where a list is read, so that flags nobody reads as a
    // list ($(call cc-option,…)) are never expanded, nor reported.
    const immediate = (op === ':=' || op === '::=') && (value.includes(`$(${name})`) || value.includes(`\${${name}}`));
    const make = (text: string, t: Term, raw: boolean): Item => {
      const it: Item = { text, term: t, raw, line: this.line };
      if (this.current !== this.file) it.file = this.current;
      if (gate) it.gate = gate;
      return it;
    };
    const fresh: Item[] = [];
    if (immediate) for (const w of this.expandList(value, term)) fresh.push(make(w.word, w.term, false));
    else if (value.trim()) fresh.push(make(value, term, true));
    if (op === '+=') {
      if (v.pending.length) v.pending.push({ fresh });
      else v.items.push(...fresh);
      return;
    }
    if (op === '?=') {
      if ((this.itemsOf(name) ?? []).length === 0) v.items.push(...fresh);
      return;
    }
    v.pending.push({ fresh, replace: term });
  }

  /** ifdef/ifndef/ifeq/ifneq as a condition (the then-branch's). */
  private condition(kw: string, rest: string): Cond {
    if (kw === 'ifdef' || kw === 'ifndef') {
      const name = rest.trim();
      const set = this.definedCond(name);
      return kw === 'ifdef' ? set : not(set, this.base.arch);
    }
    const args = eqArgs(rest);
    if (!args) {
      this.unknownAt(`${kw} ${rest}`);
      return ALWAYS;
    }
    this.lastUnknown = false;
    const l = this.expandAlts(args[0], TRUE);
    const r = this.expandAlts(args[1], TRUE);
    if (this.lastUnknown) {
      this.lastUnknown = false;
      this.unknownAt(`${kw} ${rest.slice(0, 80)}`);
      return ALWAYS;
    }
    let eq: Cond = NEVER;
    for (const a of l)
      for (const b of r) {
        if (a.text.trim() !== b.text.trim()) continue;
        const t = andTerm(a.term, b.term);
        if (t) eq = or(eq, [t]);
      }
    return kw === 'ifeq' ? eq : not(eq, this.base.arch);
  }

  private definedCond(name: string): Cond {
    const cfg = /^CONFIG_([A-Za-z0-9_]+)$/.exec(name);
    if (cfg && !this.itemsOf(name)) return [lit(cfg[1]!, SET)];
    const items = this.itemsOf(name);
    if (!items) return NEVER;
    let c: Cond = NEVER;
    for (const it of items) if (it.text.trim()) c = or(c, [it.term]);
    return c;
  }

  /** Set when an expansion met something it could not follow ($(shell), an unknown function). */
  private lastUnknown = false;

  /** The words of a list (obj-y's value), each under its condition. */
  expandList(text: string, term: Term, depth = 0): Word[] {
    const out: Word[] = [];
    if (depth > MAX_DEPTH) {
      this.unknownAt('variables that expand themselves');
      return out;
    }
    for (const tok of topLevelWords(text)) {
      if (!this.step()) break;
      const whole = /^\$[({]([^()${}:]+)[)}]$/.exec(tok);
      if (whole && !whole[1]!.includes(' ') && !whole[1]!.startsWith('CONFIG_')) {
        // a list variable as a whole word: its items, each under its own condition
        const items = this.itemsOf(whole[1]!);
        for (const it of items ?? []) {
          if (!this.step()) break;
          const t = andTerm(term, it.term);
          if (!t) continue;
          if (it.raw) for (const w of this.expandList(it.text, t, depth + 1)) out.push(word(w.word, w.term, it.line, w.gate ?? it.gate, it.file));
          else out.push(word(it.text, t, it.line, it.gate, it.file));
        }
        continue;
      }
      const fn = /^\$[({](addprefix|addsuffix|patsubst|filter|filter-out)\s+(.*)[)}]$/s.exec(tok);
      if (fn) {
        const args = splitArgs(fn[2]!);
        const list = args[args.length - 1] ?? '';
        const words = this.expandList(list, term, depth + 1);
        if (fn[1] === 'addprefix' || fn[1] === 'addsuffix') {
          for (const p of this.expandAlts(args[0] ?? '', term, depth + 1)) {
            const fix = p.text.trim();
            for (const w of words) {
              const t = andTerm(w.term, p.term);
              if (t) out.push(word(fn[1] === 'addprefix' ? fix + w.word : w.word + fix, t, w.line, w.gate, w.file));
            }
          }
        } else if (fn[1] === 'patsubst') {
          const pat = (args[0] ?? '').trim();
          const rep = (args[1] ?? '').trim();
          for (const w of words) out.push(word(patsubst(pat, rep, w.word), w.term, w.line, w.gate, w.file));
        } else {
          const pats = (args[0] ?? '').trim().split(/\s+/);
          const keep = fn[1] === 'filter';
          for (const w of words) if (pats.some((p) => patMatch(p, w.word) !== undefined) === keep) out.push(w);
        }
        continue;
      }
      for (const a of this.expandAlts(tok, term, depth + 1)) {
        for (const w of a.text.split(/\s+/)) if (w) out.push(word(w, a.term, this.line, undefined, undefined));
      }
    }
    return out;
  }

  /** A text's possible values, each under its condition: references inside words, ifeq's sides. */
  expandAlts(text: string, term: Term, depth = 0): Alt[] {
    let alts: Alt[] = [{ text: '', term }];
    let at = 0;
    while (at < text.length) {
      const k = text.indexOf('$', at);
      const lit = k < 0 ? text.slice(at) : text.slice(at, k);
      if (lit) for (const a of alts) a.text += lit;
      if (k < 0) break;
      const ref = referenceAt(text, k);
      if (!ref) {
        for (const a of alts) a.text += '$';
        at = k + 1;
        continue;
      }
      at = ref.end;
      const next: Alt[] = [];
      for (const a of alts) {
        if (!this.step()) return alts;
        for (const v of this.refAlts(ref.body, a.term, depth + 1)) {
          const t = andTerm(a.term, v.term);
          if (t) next.push({ text: a.text + v.text, term: t });
        }
      }
      if (next.length > MAX_ALTS) {
        this.unknownAt(`more than ${MAX_ALTS} values for "${text.slice(0, 60)}"`);
        alts = next.slice(0, MAX_ALTS);
      } else alts = next;
    }
    return alts;
  }

  private refAlts(body: string, term: Term, depth: number): Alt[] {
    if (depth > MAX_DEPTH) {
      this.unknownAt('variables that expand themselves');
      return [{ text: '', term: TRUE }];
    }
    const fn = /^([a-z-]+)\s+([\s\S]*)$/.exec(body);
    if (fn) return this.functionAlts(fn[1]!, fn[2]!, term, depth);
    // $(VAR:a=b), a substitution reference
    const sub = /^([^:=]+):([^=]*)=(.*)$/.exec(body);
    const name = sub ? sub[1]! : body;
    const cfg = /^CONFIG_([A-Za-z0-9_]+)$/.exec(name);
    let alts: Alt[];
    if (cfg && !this.itemsOf(name)) {
      const s = cfg[1]!;
      alts = [
        { text: 'y', term: lit(s, Y) },
        { text: 'm', term: lit(s, M) },
        { text: '', term: lit(s, N) },
      ];
    } else alts = this.varAlts(name, term, depth);
    if (sub) {
      const from = sub[2]!;
      const to = sub[3]!;
      alts = alts.map((a) => ({
        ...a,
        text: a.text
          .split(/\s+/)
          .map((w) => (from.includes('%') ? patsubst(from, to, w) : w.endsWith(from) ? w.slice(0, w.length - from.length) + to : w))
          .join(' '),
      }));
    }
    return alts;
  }

  /** A variable inside a word: each of its items is an alternative, and so is empty where none holds. */
  private varAlts(name: string, term: Term, depth: number): Alt[] {
    const items = this.itemsOf(name);
    if (!items || items.length === 0) return [{ text: '', term: TRUE }];
    const out: Alt[] = [];
    let covered: Cond = NEVER;
    for (const it of items) {
      if (!this.step()) break;
      const t = andTerm(term, it.term);
      if (!t) continue;
      covered = or(covered, [it.term]);
      if (it.raw) out.push(...this.expandAlts(it.text, t, depth));
      else out.push({ text: it.text, term: t });
    }
    for (const t of not(covered, term.arch ?? this.base.arch)) out.push({ text: '', term: t });
    return out;
  }

  private functionAlts(fn: string, argText: string, term: Term, depth: number): Alt[] {
    const args = splitArgs(argText);
    const one = (k: number): Alt[] => this.expandAlts(args[k] ?? '', term, depth);
    switch (fn) {
      case 'subst':
      case 'patsubst':
        return cross(one(0), one(1), one(2), (f, t, x) =>
          fn === 'subst'
            ? x.split(f).join(t)
            : x
                .split(/\s+/)
                .filter(Boolean)
                .map((w) => patsubst(f.trim(), t.trim(), w))
                .join(' '),
        );
      case 'strip':
        return one(0).map((a) => ({ ...a, text: a.text.trim().replace(/\s+/g, ' ') }));
      case 'addprefix':
      case 'addsuffix':
        return cross(one(0), one(1), [{ text: '', term: TRUE }], (p, list) =>
          list
            .split(/\s+/)
            .filter(Boolean)
            .map((w) => (fn === 'addprefix' ? p.trim() + w : w + p.trim()))
            .join(' '),
        );
      case 'filter':
      case 'filter-out':
        return cross(one(0), one(1), [{ text: '', term: TRUE }], (p, list) => {
          const pats = p.trim().split(/\s+/);
          return list
            .split(/\s+/)
            .filter((w) => w && pats.some((q) => patMatch(q, w) !== undefined) === (fn === 'filter'))
            .join(' ');
        });
      case 'if': {
        const out: Alt[] = [];
        for (const c of one(0)) {
          for (const v of c.text.trim() ? one(1) : one(2)) {
            const t = andTerm(c.term, v.term);
            if (t) out.push({ text: v.text, term: t });
          }
        }
        return out;
      }
      default:
        this.lastUnknown = true;
        this.unknownAt(`$(${fn} …)`);
        return [{ text: '', term: TRUE }];
    }
  }
}

function cross(a: Alt[], b: Alt[], c: Alt[], f: (a: string, b: string, c: string) => string): Alt[] {
  const out: Alt[] = [];
  for (const x of a)
    for (const y of b)
      for (const z of c) {
        const t1 = andTerm(x.term, y.term);
        const t = t1 && andTerm(t1, z.term);
        if (t) out.push({ text: f(x.text, y.text, z.text), term: t });
        if (out.length > MAX_ALTS) return out;
      }
  return out;
}

/** The symbol of a name built as `obj-$(CONFIG_FOO)` or `foo-$(CONFIG_BAR)`. */
function gateOf(nameText: string): string | undefined {
  return /\$[({](?:subst\s+m,y,)?\$?[({]?CONFIG_([A-Za-z0-9_]+)/.exec(nameText)?.[1];
}

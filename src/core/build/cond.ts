/**
 * Config conditions as Kbuild and Kconfig write them, reduced to what the build model needs: for each
 * config symbol the values it may take (a mask of n, m and y), and the architecture.
 *
 * A Term is a conjunction; a Cond is a disjunction of terms (DNF). `ifdef CONFIG_MMU` gives the term
 * MMU ∈ {m, y}; its `else` branch MMU ∈ {n}. `obj-$(CONFIG_FOO) += foo.o` puts foo.o in obj-y under
 * FOO ∈ {y} and in obj-m under FOO ∈ {m}.
 */

export const N = 1;
export const M = 2;
export const Y = 4;
export const ANY = N | M | Y;
export const SET = M | Y;

export interface Term {
  /** config symbol (without CONFIG_) -> the values it may take; a symbol not named is free */
  readonly lits: ReadonlyMap<string, number>;
  /** the architecture (arch/NAME) the term is limited to; undefined: any */
  readonly arch?: string;
}

/** A disjunction of terms; [] is false, [TRUE] is true. */
export type Cond = readonly Term[];

export const TRUE: Term = { lits: new Map() };
export const ALWAYS: Cond = [TRUE];
export const NEVER: Cond = [];

/** Beyond this many terms a condition is widened to its first terms' common part (never narrowed). */
export const MAX_TERMS = 24;

export function lit(sym: string, mask: number): Term {
  return { lits: new Map([[sym, mask]]) };
}

export function archTerm(arch: string): Term {
  return { lits: new Map(), arch };
}

/** a ∧ b, or undefined when they contradict. */
export function andTerm(a: Term, b: Term): Term | undefined {
  if (a.arch && b.arch && a.arch !== b.arch) return undefined;
  if (b.lits.size === 0 && (b.arch === undefined || a.arch === b.arch)) return a;
  if (a.lits.size === 0 && (a.arch === undefined || a.arch === b.arch)) return b.arch || !a.arch ? b : { lits: b.lits, arch: a.arch };
  // most conjunctions add nothing new to one side: answer it without a copy
  let narrows = false;
  for (const [s, m] of b.lits) {
    const v = (a.lits.get(s) ?? ANY) & m;
    if (v === 0) return undefined;
    if (v !== (a.lits.get(s) ?? ANY)) narrows = true;
  }
  const arch = a.arch ?? b.arch;
  if (!narrows) return arch === a.arch ? a : { lits: a.lits, arch };
  const lits = new Map(a.lits);
  for (const [s, m] of b.lits) lits.set(s, (lits.get(s) ?? ANY) & m);
  return { lits, arch };
}

export function and(a: Cond, b: Cond): Cond {
  const out: Term[] = [];
  for (const x of a)
    for (const y of b) {
      const t = andTerm(x, y);
      if (t) out.push(t);
    }
  return simplify(out);
}

export function andWith(a: Cond, t: Term): Cond {
  return and(a, [t]);
}

export function or(a: Cond, b: Cond): Cond {
  return simplify([...a, ...b]);
}

/** ¬t as a disjunction: ¬l1 ∨ (l1 ∧ ¬l2) ∨ … (disjoint terms). An arch is not negated: the result is widened. */
export function notTerm(t: Term, within?: string): Cond {
  // inside one architecture's Makefiles its arch is given: ¬(arch=A ∧ l) is ¬l there
  if (within !== undefined && t.arch === within) return notTerm({ lits: t.lits }).map((x) => ({ lits: x.lits, arch: within }));
  const out: Term[] = [];
  const prefix = new Map<string, number>();
  for (const [s, m] of t.lits) {
    const neg = ANY & ~m;
    if (neg) {
      const lits = new Map(prefix);
      lits.set(s, neg);
      out.push({ lits, arch: t.arch });
    }
    prefix.set(s, m);
  }
  // ¬(arch=A) cannot be written as a term: any architecture stays possible (widened, never narrowed).
  if (t.arch) out.push({ lits: new Map(), arch: undefined });
  return simplify(out);
}

export function not(c: Cond, within?: string): Cond {
  let out: Cond = ALWAYS;
  for (const t of c) {
    out = and(out, notTerm(t, within));
    if (out.length === 0) break;
  }
  return out;
}

/** Whether `a` implies `b` as terms: every literal of b is at least as wide in a. */
function subsumes(wide: Term, narrow: Term): boolean {
  if (wide.arch && wide.arch !== narrow.arch) return false;
  for (const [s, m] of wide.lits) {
    const n = narrow.lits.get(s) ?? ANY;
    if ((n & ~m) !== 0) return false;
  }
  return true;
}

/**
 * Drops terms another one covers, merges terms that differ in one symbol's mask only
 * (FOO ∈ {y} ∨ FOO ∈ {m} → FOO ∈ {m, y}), and widens past MAX_TERMS.
 */
export function simplify(terms: Term[]): Term[] {
  if (terms.length < 2) return terms;
  if (terms.length > MAX_TERMS) return [widen(terms)];
  const list = terms.slice();
  for (let changed = true; changed;) {
    changed = false;
    outer: for (let i = 0; i < list.length; i++) {
      for (let j = 0; j < list.length; j++) {
        if (i === j) continue;
        const a = list[i]!;
        const b = list[j]!;
        if (subsumes(a, b)) {
          list.splice(j, 1);
          changed = true;
          break outer;
        }
        const merged = mergeOne(a, b);
        if (merged) {
          list[i] = merged;
          list.splice(j, 1);
          changed = true;
          break outer;
        }
      }
    }
  }
  return list;
}

function mergeOne(a: Term, b: Term): Term | undefined {
  if (a.arch !== b.arch) return undefined;
  let diff: string | undefined;
  for (const [s, m] of a.lits) {
    if ((b.lits.get(s) ?? ANY) !== m) {
      if (diff !== undefined) return undefined;
      diff = s;
    }
  }
  for (const [s, m] of b.lits) {
    if (!a.lits.has(s) && m !== ANY) {
      if (diff !== undefined && diff !== s) return undefined;
      diff = s;
    }
  }
  if (diff === undefined) return a;
  const lits = new Map(a.lits);
  const m = (a.lits.get(diff) ?? ANY) | (b.lits.get(diff) ?? ANY);
  if (m === ANY) lits.delete(diff);
  else lits.set(diff, m);
  return { lits, arch: a.arch };
}

/** The widest single term that every term implies: the literals all share, each as wide as any. */
function widen(terms: Term[]): Term {
  const first = terms[0]!;
  const lits = new Map<string, number>();
  for (const [s] of first.lits) {
    let m = 0;
    let everywhere = true;
    for (const t of terms) {
      const v = t.lits.get(s);
      if (v === undefined) everywhere = false;
      else m |= v;
    }
    if (everywhere && m !== ANY) lits.set(s, m);
  }
  const arch = terms.every((t) => t.arch === first.arch) ? first.arch : undefined;
  return { lits, arch };
}

export function maskWords(m: number): string {
  const v: string[] = [];
  if (m & Y) v.push('y');
  if (m & M) v.push('m');
  if (m & N) v.push('n');
  return v.join('|');
}

/** CONFIG_FOO, !CONFIG_BAR, CONFIG_BAZ=m: how Kbuild readers say it. */
export function termText(t: Term): string {
  const parts: string[] = [];
  if (t.arch) parts.push(`ARCH=${t.arch}`);
  for (const [s, m] of [...t.lits].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (m === SET) parts.push(`CONFIG_${s}`);
    else if (m === N) parts.push(`!CONFIG_${s}`);
    else if ((m & N) === 0) parts.push(`CONFIG_${s}=${maskWords(m)}`);
    else parts.push(`CONFIG_${s}!=${maskWords(ANY & ~m)}`);
  }
  return parts.length ? parts.join(' && ') : 'always';
}

export function condText(c: Cond): string {
  if (c.length === 0) return 'never';
  if (c.length === 1) return termText(c[0]!);
  return c.map((t) => (t.lits.size + (t.arch ? 1 : 0) > 1 ? `(${termText(t)})` : termText(t))).join(' || ');
}

/** Plain data for the cache and JSON. */
export type TermData = [arch: string | null, lits: [string, number][]];

export function termData(t: Term): TermData {
  return [t.arch ?? null, [...t.lits]];
}

export function termFromData(d: TermData): Term {
  return { lits: new Map(d[1]), arch: d[0] ?? undefined };
}

/**
 * Reading an export's name off a file: the macros that build it, the wrappers in force, the
 * definition it names. Shared by the export table's resolution (exports.ts) and the index.
 */
import type { Definition, LocalMacro, WrapperCandidate } from '../scan/scanTypes';
import { expand, type Wrapper } from './wrappers';

export const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
export const TRACEPOINT_NAME = /^\w+$/;
/** NULL, FOO_NONE: a macro's constant, never a function or variable the linker sees. */
export const CONSTANT = /^[A-Z0-9_]+$/;

export type WrapperLookup = Pick<ReadonlyMap<string, Wrapper>, 'get'>;

/** Wrappers parsed from a file's candidates, once each. */
export const parsedWrappers = new WeakMap<WrapperCandidate, Wrapper | undefined>();

/** The tree-wide wrappers, with some replaced by a file's own definitions (no copy of the tree's map). */
export function withWrappers(wrappers: WrapperLookup, own: readonly Wrapper[]): WrapperLookup {
  return { get: (name) => own.find((w) => w.name === name) ?? wrappers.get(name) };
}

/**
 * Expands an export argument built by the file's own small macros: `#define queued_spin_lock_slowpath
 * native_queued_spin_lock_slowpath`, `#define LZO_SAFE(name) name`. For an export call the first
 * definition before its line wins, as in the first branch of an #if; for an #include that compiles a
 * file again, the last one, which a second compile redefines for it.
 */
export function expandLocal(arg: string, macros: readonly LocalMacro[] | undefined, line: number, pick: 'first' | 'last' = 'first'): string {
  if (!macros) return arg;
  let cur = arg;
  for (let round = 0; round < 4; round++) {
    const call = /^([A-Za-z_]\w*)\s*\((.*)\)$/.exec(cur);
    const name = call ? call[1]! : cur;
    const fits = (x: LocalMacro): boolean => x.name === name && x.line < line && (x.params === null) === !call;
    const same = named(macros, name);
    const m = pick === 'first' ? same.find(fits) : same.findLast(fits);
    if (!m) return cur;
    cur =
      m.params === null
        ? m.body
        : expand(
            m.body,
            m.params,
            call![2]!.split(',').map((a) => a.trim()),
          );
    cur = cur.replace(/\s+/g, '');
  }
  return cur;
}

/** Whether a tree path lies under one of the paths (any path when none are given). */
export function underPaths(paths: readonly string[]): (file: string) => boolean {
  const prefixes = paths.map((p) => p.replace(/^\.\//, '').replace(/\/$/, ''));
  if (prefixes.length === 0 || prefixes.some((p) => p === '' || p === '.')) return () => true;
  return (file) => prefixes.some((p) => file === p || file.startsWith(`${p}/`));
}

export function unquote(s: string): string {
  const t = s.trim();
  if (t.startsWith('"')) return t.replace(/"\s*"/g, '').replace(/^"|"$/g, '');
  return t;
}

/** A file's named records grouped by name, made once per list: a file can export 30,000 names. */
export const byNameCache = new WeakMap<readonly { name: string }[], Map<string, { name: string }[]>>();
export function named<T extends { name: string }>(list: readonly T[], name: string): readonly T[] {
  let m = byNameCache.get(list);
  if (!m) {
    m = new Map();
    for (const x of list) {
      const l = m.get(x.name);
      if (l) l.push(x);
      else m.set(x.name, [x]);
    }
    byNameCache.set(list, m);
  }
  return (m.get(name) ?? []) as T[];
}

/** The definition an export names: the last one before the export line, else the first after it. */
export function pickDefinition(defs: readonly Definition[], name: string, line: number): Definition | undefined {
  let best: Definition | undefined;
  for (const d of named(defs, name)) {
    if (d.line <= line && (!best || d.line > best.line || best.line > line)) best = d;
    else if (!best) best = d;
  }
  return best;
}

/**
 * Wrapper macros: a macro defined in the tree whose body exports one of its parameters, such as
 *   #define ACPI_EXPORT_SYMBOL(symbol) EXPORT_SYMBOL(symbol);
 *   #define EXPORT_FOO(name) EXPORT_SYMBOL_GPL(foo_##name)
 * Their call sites are exports. Wrappers of wrappers resolve too, to a bounded depth.
 */
import { exportMacros } from '../exportMacros';
import type { WrapperCandidate } from '../scan/scanTypes';

export interface WrapperExport {
  /** The export macro (or inner wrapper) the body calls. */
  macro: string;
  /** The argument templates, each a `##`-joined list of parts. */
  args: string[];
}

export interface Wrapper {
  name: string;
  params: string[];
  file: string;
  line: number;
  calls: WrapperExport[];
}

const CALL = /\b([A-Za-z_]\w*)\s*\(/g;

/** Where the export macros themselves are defined: their definitions are no wrappers. */
const definingFiles = /^(include\/linux\/export[\w-]*\.h|include\/asm-generic\/export\.h|tools\/|scripts\/)/;

/** Parses a candidate; undefined when it is no wrapper (an export macro's own definition, no parameter exported). */
export function parseWrapper(c: WrapperCandidate, file: string): Wrapper | undefined {
  if (exportMacros.has(c.name) || definingFiles.test(file)) return undefined;
  const calls: WrapperExport[] = [];
  for (const m of c.body.matchAll(CALL)) {
    const macro = m[1]!;
    if (!exportMacros.has(macro) && !/EXPORT/.test(macro)) continue;
    const args = splitArgs(c.body, m.index! + m[0].length);
    if (!args) continue;
    const first = args[0] ?? '';
    if (!c.params.some((p) => new RegExp(`(^|##|\\W)${p}($|##|\\W)`).test(first))) continue;
    calls.push({ macro, args });
  }
  if (calls.length === 0) return undefined;
  return { name: c.name, params: c.params, file, line: c.line, calls };
}

function splitArgs(body: string, start: number): string[] | undefined {
  const args: string[] = [];
  let depth = 1;
  let cur = '';
  for (let k = start; k < body.length; k++) {
    const ch = body[k]!;
    if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) {
        args.push(cur.trim());
        return args;
      }
    } else if (ch === ',' && depth === 1) {
      args.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  return undefined;
}

/** Substitutes call arguments into a template: `foo_##name` with name=bar gives `foo_bar`. */
export function expand(template: string, params: readonly string[], actual: readonly string[]): string {
  // #param stringifies the argument
  const strung = template.replace(/(^|[^#])#\s*([A-Za-z_]\w*)/g, (m, pre: string, p: string) => {
    const k = params.indexOf(p);
    return k >= 0 ? `${pre}"${(actual[k] ?? '').trim().replace(/^"(.*)"$/, '$1')}"` : m;
  });
  const parts = strung.split('##').map((part) => {
    const p = part.trim();
    const k = params.indexOf(p);
    return k >= 0 ? (actual[k] ?? '').trim() : p;
  });
  if (parts.length === 1) {
    // plain substitution of whole-word parameters inside a larger expression
    return params.reduce((text, p, k) => text.replace(new RegExp(`\\b${p}\\b`, 'g'), actual[k] ?? ''), parts[0]!);
  }
  return parts.join('');
}

export interface ExpandedExport {
  macro: string;
  args: string[];
}

/** The export macro calls one wrapper call stands for, following wrappers of wrappers. */
export function expandWrapperCall(wrappers: Pick<ReadonlyMap<string, Wrapper>, 'get'>, name: string, actual: readonly string[], depth = 0): ExpandedExport[] {
  const w = wrappers.get(name);
  if (!w || depth > 4) return [];
  const out: ExpandedExport[] = [];
  for (const call of w.calls) {
    const args = call.args.map((t) => expand(t, w.params, actual));
    if (exportMacros.has(call.macro)) out.push({ macro: call.macro, args });
    else out.push(...expandWrapperCall(wrappers, call.macro, args, depth + 1));
  }
  return out;
}

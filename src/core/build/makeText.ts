/** Make's text, as the model reads it: references, words, patterns, assignments, comments. */

export function patMatch(pat: string, word: string): string | undefined {
  const k = pat.indexOf('%');
  if (k < 0) return pat === word ? '' : undefined;
  const pre = pat.slice(0, k);
  const suf = pat.slice(k + 1);
  if (word.length < pre.length + suf.length || !word.startsWith(pre) || !word.endsWith(suf)) return undefined;
  return word.slice(pre.length, word.length - suf.length);
}

export function patsubst(pat: string, rep: string, word: string): string {
  const stem = patMatch(pat, word);
  if (stem === undefined) return word;
  return rep.includes('%') ? rep.replace('%', stem) : rep;
}

/** The line without its comment: '#' outside $(...), not escaped (make takes it literally inside a reference). */
export function stripComment(line: string): string {
  const k = topLevelIndex(line, '#', true);
  return k < 0 ? line : line.slice(0, k);
}

/** The index of the first of `chars` outside $(...) and ${...}, or -1; with `escapes`, a backslash hides the next character. */
export function topLevelIndex(text: string, chars: string, escapes = false): number {
  let depth = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text[k]!;
    if (escapes && c === '\\') k++;
    else if (c === '$' && (text[k + 1] === '(' || text[k + 1] === '{')) {
      depth++;
      k++;
    } else if (c === '(' || c === '{') {
      if (depth > 0) depth++;
    } else if ((c === ')' || c === '}') && depth > 0) depth--;
    else if (depth === 0 && chars.includes(c)) return k;
  }
  return -1;
}

/** [name, op, value] of an assignment line, or undefined for a rule or anything else. */
export function assignmentAt(body: string): [string, string, string] | undefined {
  const k = topLevelIndex(body, '=:');
  if (k < 0) return undefined;
  if (body[k] === '=') {
    const prev = body[k - 1];
    if (prev === '+' || prev === '?' || prev === '!') return [body.slice(0, k - 1), `${prev}=`, body.slice(k + 1).trim()];
    return [body.slice(0, k), '=', body.slice(k + 1).trim()];
  }
  if (body[k + 1] === '=') return [body.slice(0, k), ':=', body.slice(k + 2).trim()];
  if (body[k + 1] === ':' && body[k + 2] === '=') return [body.slice(0, k), '::=', body.slice(k + 3).trim()];
  return undefined;
}

/** The reference starting at text[k] === '$': its body and where it ends. */
export function referenceAt(text: string, k: number): { body: string; end: number } | undefined {
  const open = text[k + 1];
  if (open === '$') return { body: '$', end: k + 2 };
  if (open !== '(' && open !== '{') {
    return open && /[A-Za-z0-9_@<^*]/.test(open) ? { body: open, end: k + 2 } : undefined;
  }
  const close = open === '(' ? ')' : '}';
  let depth = 1;
  for (let j = k + 2; j < text.length; j++) {
    const c = text[j];
    if (c === open) depth++;
    else if (c === close && --depth === 0) return { body: text.slice(k + 2, j), end: j + 1 };
  }
  return undefined;
}

/** Function arguments split at top-level commas. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text[k];
    if (c === '(' || c === '{') depth++;
    else if (c === ')' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(from, k));
      from = k + 1;
    }
  }
  out.push(text.slice(from));
  return out;
}

/** Whitespace-separated words, a $(...) counting as part of its word whatever it holds. */
export function topLevelWords(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text[k]!;
    if (c === '$' && (text[k + 1] === '(' || text[k + 1] === '{')) {
      depth++;
      cur += c + text[k + 1];
      k++;
      continue;
    }
    if (depth > 0) {
      if (c === '(' || c === '{') depth++;
      else if (c === ')' || c === '}') depth--;
      cur += c;
      continue;
    }
    if (c === ' ' || c === '\t') {
      if (cur) out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

/** ifeq's two arguments: (a,b), "a" "b" or 'a' 'b'. */
export function eqArgs(rest: string): [string, string] | undefined {
  const t = rest.trim();
  if (t.startsWith('(') && t.endsWith(')')) {
    const args = splitArgs(t.slice(1, -1));
    if (args.length === 2) return [args[0]!, args[1]!];
    return undefined;
  }
  const q = /^(["'])(.*?)\1\s+(["'])(.*?)\3$/.exec(t);
  return q ? [q[2]!, q[4]!] : undefined;
}

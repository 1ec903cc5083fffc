/**
 * MAINTAINERS read as scripts/get_maintainer.pl reads it, so that kexports names the same people and
 * lists for a file as `get_maintainer.pl --no-git --no-git-fallback --no-rolestats -f FILE` does:
 *   - F: and X: patterns, `*` and `?` globs, a pattern that names a directory matching below it, and
 *     a file pattern matching only at its own depth (file_match_pattern());
 *   - N: regexes on the path, K: keywords on the file's text;
 *   - the sections most specific first (the pattern's depth), M: and R: people, L: lists but
 *     subscribers-only ones, Linus left out as the "penguin chief", .mailmap and duplicates merged.
 * The files are read a byte a character, as Perl reads them; names that are not plain ASCII words are
 * quoted, as get_maintainer.pl quotes them.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { readRegularFile } from '../util/regularFile';

export interface Section {
  title: string;
  /** The section's lines in MAINTAINERS order, as [type letter, value]; F: and X: converted to regexes' text. */
  entries: [string, string][];
}

export interface Maintainers {
  sections: Section[];
  mailmap: Mailmap;
}

interface Mailmap {
  names: Map<string, string>;
  addresses: Map<string, string>;
}

export interface Responsible {
  /** "Name <address>" of each maintainer and reviewer, as get_maintainer.pl prints them. */
  people: { email: string; role: 'maintainer' | 'reviewer'; section: string }[];
  lists: { address: string; section: string }[];
  /** The sections that matched, most specific first. */
  sections: string[];
  /** Their S: status and T: trees, in that order, each once. */
  status: string[];
  trees: string[];
}

const MAX_BYTES = 16 * 1024 * 1024;
const PENGUIN_CHIEF = 'Linus Torvalds <torvalds@linux-foundation.org>';

/** MAINTAINERS is read a byte a character, as Perl reads it; a name or section title is shown as the UTF-8 it is. */
export function shownText(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** Reads MAINTAINERS and .mailmap of a tree; undefined where the tree has no MAINTAINERS. */
export function readMaintainers(root: string): Maintainers | undefined {
  let text: string;
  try {
    text = readRegularFile(join(root, 'MAINTAINERS'), { maxBytes: MAX_BYTES }).toString('latin1');
  } catch {
    return undefined;
  }
  let mailmap = '';
  try {
    mailmap = readRegularFile(join(root, '.mailmap'), { maxBytes: MAX_BYTES }).toString('latin1');
  } catch {
    // no .mailmap: names stay as MAINTAINERS writes them
  }
  return { sections: parseMaintainers(text, (dir) => isDir(join(root, dir))), mailmap: parseMailmap(mailmap) };
}

function isDir(abs: string): boolean {
  try {
    return statSync(abs).isDirectory();
  } catch {
    return false;
  }
}

/** The sections of a MAINTAINERS text; `isDir` says whether a converted F:/X: value names a directory (Perl's `-d`). */
export function parseMaintainers(text: string, isDir: (path: string) => boolean = () => false): Section[] {
  const sections: Section[] = [];
  let title = '';
  let current: Section | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const m = /^([A-Z]):\s*(.*)/.exec(line);
    if (m) {
      let value = m[2]!;
      if (m[1] === 'F' || m[1] === 'X') {
        value = value.replace(/\./g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.');
        // Perl's -d of the converted value: one with "\." or a glob in it names no directory, so it is not stat'ed
        if (!value.endsWith('/') && !/[\\.]/.test(value) && isDir(value)) value = value.replace(/([^/])$/, '$1/');
      }
      if (!current) sections.push((current = { title, entries: [] }));
      current.entries.push([m[1]!, value]);
    } else if (!/^\s*$/.test(line) && !/^\s*#/.test(line)) {
      title = line;
      current = undefined;
    }
  }
  return sections;
}

/**
 * An F:, X: or N: entry made ready to test a file against. F: and X: are get_maintainer.pl's
 * file_match_pattern(): anchored, and a file pattern matches only at its own depth (`slashes`; -1
 * for a directory pattern, which matches below it). N: is a regex anywhere in the path, depth 0.
 */
interface Matcher {
  /** the text a path starts with, for a pattern with no glob in it: no regex is needed */
  prefix: string | null;
  /** null for a pattern JS cannot read: it matches nothing */
  re: RegExp | null;
  slashes: number;
  /** how specific a match is: get_maintainer.pl's pattern depth */
  depth: number;
}

/** A section's entries that decide whether a file is its: X: first, then F: and N: in order. */
interface SectionMatchers {
  exclude: Matcher[];
  include: Matcher[];
}

function fileMatcher(pattern: string): Matcher {
  const dir = pattern.endsWith('/');
  const n = slashes(pattern);
  const match = { prefix: null, re: null, slashes: dir ? -1 : n, depth: pattern.startsWith('.*') ? -1 : n + (dir ? 0 : 1) };
  // most F: values name a file or a directory: only their dots were escaped
  if (!/[\\^$.*+?()[\]{}|]/.test(pattern.replace(/\\\./g, ''))) return { ...match, prefix: pattern.replace(/\\\./g, '.') };
  try {
    return { ...match, re: new RegExp(`^${pattern}`) };
  } catch {
    return match;
  }
}

function matchersOf(s: Section): SectionMatchers {
  const out: SectionMatchers = { exclude: [], include: [] };
  for (const [t, v] of s.entries) {
    if (t === 'X') out.exclude.push(fileMatcher(v));
    else if (t === 'F') out.include.push(fileMatcher(v));
    else if (t === 'N') out.include.push({ prefix: null, re: extended(v) ?? null, slashes: -1, depth: 0 });
  }
  return out;
}

function slashes(s: string): number {
  let n = 0;
  for (let at = s.indexOf('/'); at >= 0; at = s.indexOf('/', at + 1)) n++;
  return n;
}

/**
 * A Perl pattern as JS reads it, with /x (white space and # comments are not part of it). Perl's
 * inline `(?i)` and `(?i:...)` (K: \b(?i:clang|llvm)\b), which Node 20's RegExp lacks, make the whole
 * pattern case-insensitive: the patterns that use them hold nothing case-sensitive besides.
 */
const patterns = new Map<string, RegExp | undefined>();
function extended(pattern: string): RegExp | undefined {
  if (patterns.has(pattern)) return patterns.get(pattern);
  let re: RegExp | undefined;
  try {
    let src = pattern
      .replace(/\\#/g, '\u0000')
      .replace(/\s+|#.*$/g, '')
      .replace(/\u0000/g, '\\#');
    const insensitive = /\(\?i\)|\(\?i:/.test(src);
    src = src.replace(/\(\?i\)/g, '').replace(/\(\?i:/g, '(?:');
    re = new RegExp(src, insensitive ? 'i' : '');
  } catch {
    re = undefined;
  }
  patterns.set(pattern, re);
  return re;
}

/**
 * Each MAINTAINERS' section index (sectionIndex()), made when first asked for: testing 20,000
 * patterns for each file took most of a review's MAINTAINERS time.
 */
const indexes = new WeakMap<Maintainers, SectionIndex>();

/** The directory part of a converted F: pattern that is plain text: "drivers/net/dsa" of drivers/net/dsa/mt7530\.c. */
function literalDir(pattern: string): string {
  // the plain characters and escaped ones up to the first that makes it a pattern
  const text = /^(?:\\.|[^\\.*?[(|+^$])*/.exec(pattern)![0].replace(/\\(.)/g, '$1');
  const slash = text.lastIndexOf('/');
  return slash < 0 ? '' : text.slice(0, slash);
}

interface SectionIndex {
  /** sections by the literal directory of their F: patterns */
  under: Map<string, number[]>;
  /** sections with N: regexes that `anyName` stands for */
  named: number[];
  /** one regex that matches a path when any of theirs does */
  anyName: RegExp | null;
  /** sections with N: regexes that cannot be joined into it (a flag, a back reference): always tried */
  always: number[];
  matchers: (SectionMatchers | undefined)[];
}

function sectionIndex(m: Maintainers): SectionIndex {
  const under = new Map<string, number[]>();
  const named: number[] = [];
  const always: number[] = [];
  const sources: string[] = [];
  m.sections.forEach((s, k) => {
    const names: (RegExp | undefined)[] = [];
    for (const [t, v] of s.entries) {
      if (t === 'N') names.push(extended(v));
      if (t !== 'F') continue;
      const dir = literalDir(v);
      const list = under.get(dir);
      if (!list) under.set(dir, [k]);
      else if (list[list.length - 1] !== k) list.push(k);
    }
    if (!names.length) return;
    if (names.every((re) => re === undefined || (re.flags === '' && !/\\[1-9k]|\(\?<[^=!]/.test(re.source)))) {
      named.push(k);
      for (const re of names) if (re) sources.push(`(?:${re.source})`);
    } else always.push(k);
  });
  let anyName: RegExp | null = null;
  try {
    anyName = sources.length ? new RegExp(sources.join('|')) : null;
  } catch {
    always.push(...named.splice(0));
  }
  return { under, named, anyName, always, matchers: [] };
}

/**
 * The sections that can match the file, each with its matchers, made when first asked for: those
 * with an F: pattern whose literal directory holds the file, and those with an N: regex when one of
 * those regexes matches it (tried as one regex first: the 92 of linux-6.1, each compiled when first
 * run, took a review a millisecond a file).
 */
function candidates(m: Maintainers, file: string): [number, SectionMatchers][] {
  let index = indexes.get(m);
  if (!index) indexes.set(m, (index = sectionIndex(m)));
  const { matchers } = index;
  const out = [...index.always, ...(index.under.get('') ?? [])];
  if (index.anyName?.test(file)) out.push(...index.named);
  for (let at = file.indexOf('/'); at > 0; at = file.indexOf('/', at + 1)) out.push(...(index.under.get(file.slice(0, at)) ?? []));
  return [...new Set(out)].sort((a, b) => a - b).map((k) => [k, (matchers[k] ??= matchersOf(m.sections[k]!))]);
}

/**
 * Who is responsible for a tree file (a path from the tree's root), and which lists. With `text`, the
 * file's, its K: keywords count too, as `get_maintainer.pl --keywords-in-file` (and the default of
 * linux-6.1's script) has it.
 */
export function responsibleFor(m: Maintainers, file: string, text?: string): Responsible {
  return collect(m, matchingSections(m, file, text));
}

/** The sections of a file, most specific first (get_maintainer.pl's order), then those its K: keywords give. */
function matchingSections(m: Maintainers, file: string, text?: string): number[] {
  const depth = new Map<number, number>();
  const fileSlashes = slashes(file);
  const hit = (x: Matcher): boolean => (x.prefix !== null ? file.startsWith(x.prefix) : x.re !== null && x.re.test(file)) && (x.slashes < 0 || x.slashes === fileSlashes);
  for (const [k, s] of candidates(m, file)) {
    if (s.exclude.some(hit)) continue;
    // the last entry that matches gives the depth
    for (const x of s.include) if (hit(x)) depth.set(k, x.depth);
  }
  const order = [...depth.keys()].sort((a, b) => depth.get(b)! - depth.get(a)! || a - b);
  if (text !== undefined) order.push(...keywordSections(m, text));
  return order;
}

/** The sections whose K: keywords the text holds, in MAINTAINERS order. */
function keywordSections(m: Maintainers, text: string): number[] {
  const out: number[] = [];
  m.sections.forEach((s, k) => {
    for (const e of s.entries) if (e[0] === 'K' && extended(e[1])?.test(text)) return void out.push(k);
  });
  return out;
}

/** The people, lists, status and trees of the sections, in their order, each once. */
function collect(m: Maintainers, order: readonly number[]): Responsible {
  const out: Responsible = { people: [], lists: [], sections: [], status: [], trees: [] };
  const names = new Set<string>();
  const addresses = new Set<string>();
  const listsSeen = new Set<string>();
  for (const k of order) {
    const s = m.sections[k]!;
    out.sections.push(s.title);
    for (const [t, v] of s.entries) {
      if (t === 'S' && !out.status.includes(v)) out.status.push(v);
      else if (t === 'T' && !out.trees.includes(v)) out.trees.push(v);
      else if (t === 'L') {
        const [address, extra = ''] = /^(\S+)\s+(.*)$/.exec(v)?.slice(1) ?? [v, ''];
        // an empty L: prints an empty line in get_maintainer.pl: no list
        if (!address || /subscribers-only/.test(extra) || listsSeen.has(address.toLowerCase())) continue;
        listsSeen.add(address.toLowerCase());
        out.lists.push({ address, section: s.title });
      } else if (t === 'M' || t === 'R') {
        const { name, address } = parseEmail(v);
        if (!address) continue;
        // get_maintainer.pl's email_inuse(): a name or an address seen already is not added again
        if ((name && names.has(name.toLowerCase())) || addresses.has(address.toLowerCase())) continue;
        if (name) names.add(name.toLowerCase());
        addresses.add(address.toLowerCase());
        out.people.push({ email: formatEmail(name, address), role: t === 'M' ? 'maintainer' : 'reviewer', section: s.title });
      }
    }
  }
  out.people = out.people.filter((p) => !p.email.includes(PENGUIN_CHIEF));
  const dedup = deduplicator(m.mailmap);
  for (const p of out.people) p.email = dedup(p.email);
  for (const l of out.lists) l.address = dedup(l.address);
  // "L: Mali DP Maintainers <malidp@foss.arm.com>" is the list "Mali" to get_maintainer.pl, which has no
  // address and prints as an empty line: no list
  out.lists = out.lists.filter((l) => l.address !== '');
  return out;
}

/** get_maintainer.pl's parse_email(): the name, quoted when it is more than ASCII words, and the address. */
export function parseEmail(line: string): { name: string; address: string } {
  let name = '';
  let address = '';
  let m: RegExpExecArray | null;
  if ((m = /^([^<]+)<(.+@.*)>.*$/.exec(line))) [name, address] = [m[1]!, m[2]!];
  else if ((m = /^\s*<(.+@\S*)>.*$/.exec(line))) address = m[1]!;
  else if ((m = /^(.+@\S*).*$/.exec(line))) address = m[1]!;
  return { name: quotedName(name), address: address.trim() };
}

/** The name as both parse_email() and format_email() leave it: trimmed, and quoted when it is more than ASCII words. */
function quotedName(name: string): string {
  const n = name.trim().replace(/^"|"$/g, '');
  return /[^\w -]/.test(n) ? `"${n.replace(/(?<!\\)"/g, '\\"')}"` : n;
}

function formatEmail(name: string, address: string): string {
  const n = quotedName(name);
  const a = address.trim();
  return n === '' ? a : `${n} <${a}>`;
}

/** .mailmap as get_maintainer.pl's read_mailmap() takes it. */
export function parseMailmap(text: string): Mailmap {
  const names = new Map<string, string>();
  const addresses = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([^<]+)<([^>]+)>$/.exec(line))) {
      const e = parseEmail(`${m[1]!.trimEnd()} <${m[2]!}>`);
      names.set(e.address, e.name);
    } else if ((m = /^<([^>]+)>\s*<([^>]+)>$/.exec(line))) {
      addresses.set(m[2]!, m[1]!);
    } else if ((m = /^(.+)<([^>]+)>\s*<([^>]+)>$/.exec(line))) {
      const real = parseEmail(`${m[1]!.trimEnd()} <${m[2]!}>`);
      names.set(m[3]!, real.name);
      addresses.set(m[3]!, real.address);
    } else if ((m = /^(.+)<([^>]+)>\s*(.+)\s*<([^>]+)>$/.exec(line))) {
      const real = parseEmail(`${m[1]!.trimEnd()} <${m[2]!}>`);
      const wrong = parseEmail(`${m[3]!.trimEnd()} <${m[4]!}>`);
      const key = formatEmail(wrong.name, wrong.address);
      names.set(key, real.name);
      addresses.set(key, real.address);
    }
  }
  return { names, addresses };
}

function mailmapEmail(map: Mailmap, line: string): string {
  const { name, address } = parseEmail(line);
  const email = formatEmail(name, address);
  let realName = name;
  let realAddress = address;
  if (map.names.has(email) || map.addresses.has(email)) {
    realName = map.names.get(email) ?? realName;
    realAddress = map.addresses.get(email) ?? realAddress;
  } else {
    realName = map.names.get(address) ?? realName;
    realAddress = map.addresses.get(address) ?? realAddress;
  }
  return formatEmail(realName, realAddress);
}

/** get_maintainer.pl's deduplicate_email(), over one answer: the mailmap, then one spelling per name or address. */
function deduplicator(map: Mailmap): (email: string) => string {
  const byName = new Map<string, [string, string]>();
  const byAddress = new Map<string, [string, string]>();
  return (line) => {
    const given = parseEmail(line);
    let { name, address } = parseEmail(mailmapEmail(map, formatEmail(given.name, given.address)));
    const n = byName.get(name.toLowerCase());
    const a = byAddress.get(address.toLowerCase());
    if (name !== '' && n) [name, address] = n;
    else if (a) [name, address] = a;
    else {
      byName.set(name.toLowerCase(), [name, address]);
      byAddress.set(address.toLowerCase(), [name, address]);
    }
    return mailmapEmail(map, formatEmail(name, address));
  };
}

/**
 * The build model's cache file, laid out so that a question about one file decodes only what it
 * needs. A warm `kexports module FILE` or a review reads the file, checks it, and then decodes the
 * evaluated Makefiles that list objects in that file's directory, and the few Kconfig symbols and
 * terms they name; placements are derived from those as in a fresh model (derive.ts). A whole-tree
 * `check` decodes them all.
 *
 *   KEXPORTS-MODEL 7 <body bytes> <CRC-32 of the body>\n
 *   header (one JSON line: the files read and their stats, heads, the directories with objects)\n
 *   body:
 *     symbols  a JSON line per Kconfig symbol, sorted by name (found by binary search), its terms in place
 *     evals    a JSON line per evaluated Makefile, in the walk's order, with its directory's conditions;
 *              the line's distinct terms first, named by their place in it
 *
 * Terms are written where they are used. A table of the whole file's distinct terms (format 6) saved
 * 2 MB of 11, and finding each term in it took longer than writing the rest of the file.
 */
import { crc32 } from '../cache/crc32';
import { type Cond, type Term, type TermData, termData, termFromData } from './cond';
import type { Kconfig, KSymbol, SymbolType } from './kconfig';
import { type DirConds, type DirEval, type ObjEntry, Placements, type PlaceSource } from './derive';
import type { BuildModel } from './model';
import type { Unknown } from './unknown';

const MAGIC = 'KEXPORTS-MODEL 7';
const NL = 0x0a;

/** A file the model was read from, with what it was then: the cache holds while all are so. */
export type FileStat = [path: string, size: number, mtimeMs: number, ino: number];

interface Header {
  root: string;
  files: FileStat[];
  arches: string[];
  kconfigFiles: string[];
  heads: string[];
  headsUnknown: Unknown[];
  kconfigUnknown: Unknown[];
  unknown: Unknown[];
  makefiles: string[];
  /** each directory with objects, and the evals (by line) that list them */
  objectDirs: [dir: string, evals: number[]][];
  /** where each part starts in the body, and its end */
  parts: [symbols: number, evals: number, end: number];
}

type SymbolLine = [
  name: string,
  type: SymbolType | null,
  archs: string[] | null,
  defs: [string, number][],
  prompt: boolean,
  choices: number[] | null,
  deps: TermData[],
  defaults: TermData[],
  selects: TermData[][],
];
type EvalLine = [
  /** the terms the line names by number */
  terms: TermData[],
  dir: string,
  makefile: string,
  arch: string | null,
  edges: [dir: string, term: number, linked: boolean][],
  objects: [object: string, file: string | null, modular: boolean, term: number, gate: string | null, line: number, composite: string | null][],
  read: string[],
  unknown: Unknown[],
  /** built, linked; null when no edge reaches the directory */
  conds: [built: number[], linked: number[]] | null,
];

/** One Makefile's terms by their place in its line: objects of one Makefile line share a term. */
class LineTerms {
  readonly data: TermData[] = [];
  private readonly at = new Map<Term, number>();

  place(t: Term): number {
    let k = this.at.get(t);
    if (k === undefined) {
      this.at.set(t, (k = this.data.length));
      this.data.push(termData(t));
    }
    return k;
  }

  cond(c: Cond): number[] {
    return c.map((t) => this.place(t));
  }
}

/** A path in `dir` by its name there; any other by its whole path after a slash, which no tree path starts with. */
const inDir = (dir: string, path: string): string => (dir && path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : `/${path}`);
const fromDir = (dir: string, name: string): string => (name.startsWith('/') ? name.slice(1) : dir ? `${dir}/${name}` : name);

export function encodeModel(root: string, files: FileStat[], m: BuildModel): Buffer {
  const symbols = [...m.kconfig.symbols.values()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((s): string =>
      JSON.stringify([
        s.name,
        s.type ?? null,
        s.archs ? [...s.archs] : null,
        s.defs.slice(0, 4).map((d) => [d.file, d.line]),
        s.prompt,
        s.choices ?? null,
        s.deps.map(termData),
        s.defaults.map(termData),
        s.selects.map((c) => c.map(termData)),
      ] satisfies SymbolLine),
    );
  const source = m.placements.source;
  const lineOf = new Map<DirEval, number>();
  const evals = [...m.evals.values()].map((ev, k): string => {
    lineOf.set(ev, k);
    const conds = source.condsOf(ev);
    const terms = new LineTerms();
    const edges = ev.edges.map((e): [string, number, boolean] => [e.dir, terms.place(e.term), e.linked]);
    const objects = ev.objects.map((o): EvalLine[5][number] => [
      inDir(ev.dir, o.object),
      o.file ?? null,
      o.modular,
      terms.place(o.term),
      o.gate ?? null,
      o.line,
      o.composite ? inDir(ev.dir, o.composite) : null,
    ]);
    return JSON.stringify([
      terms.data,
      ev.dir,
      ev.makefile,
      ev.arch ?? null,
      edges,
      objects,
      ev.read,
      ev.unknown,
      conds ? [terms.cond(conds.built), terms.cond(conds.linked)] : null,
    ] satisfies EvalLine);
  });
  const objectDirs = source.objectDirs().map((dir): [string, number[]] => [dir, source.evalsFor(dir).map((ev) => lineOf.get(ev)!)]);
  const parts = [symbols, evals].map((lines) => Buffer.from(lines.length ? `${lines.join('\n')}\n` : ''));
  const starts: number[] = [];
  let at = 0;
  for (const p of parts) {
    starts.push(at);
    at += p.length;
  }
  const header: Header = {
    root,
    files,
    arches: m.kconfig.arches,
    kconfigFiles: m.kconfig.files,
    heads: m.heads,
    headsUnknown: m.headsUnknown,
    kconfigUnknown: m.kconfig.unknown,
    unknown: m.unknown,
    makefiles: m.makefiles,
    objectDirs,
    parts: [starts[0]!, starts[1]!, at],
  };
  const body = Buffer.concat(parts, at);
  return Buffer.concat([Buffer.from(`${MAGIC} ${at} ${crc32(body)}\n${JSON.stringify(header)}\n`), body]);
}

/** What was stored, or why it cannot be used; the files' stats are for the caller to check. */
export type Decoded = { files: FileStat[]; model: () => BuildModel } | { error: string; stale?: boolean };

/**
 * The cache file's header, checked: its magic, its body's length and CRC, its tree. The model comes
 * when asked (after the caller has checked the files), and decodes its parts as they are used.
 */
export function decodeModel(buf: Buffer, root: string): Decoded {
  const nl1 = buf.indexOf(NL);
  const first = buf.toString('latin1', 0, nl1 < 0 ? Math.min(buf.length, 64) : nl1);
  const m = /^KEXPORTS-MODEL (\d+) (\d+) (\d+)$/.exec(first);
  if (!m) return first.startsWith('KEXPORTS-MODEL ') || first.startsWith('{') ? { error: 'of another format', stale: true } : { error: 'not a build model cache' };
  if (`KEXPORTS-MODEL ${m[1]}` !== MAGIC) return { error: 'of another format', stale: true };
  const nl2 = buf.indexOf(NL, nl1 + 1);
  if (nl2 < 0) return { error: 'cut short in its header' };
  const bodyAt = nl2 + 1;
  if (buf.length - bodyAt !== Number(m[2])) return { error: `${buf.length - bodyAt} bytes where its header says ${m[2]}` };
  if (crc32(buf.subarray(bodyAt)) !== Number(m[3])) return { error: 'its CRC-32 does not match' };
  let h: Header;
  try {
    h = JSON.parse(buf.toString('utf8', nl1 + 1, nl2)) as Header;
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (h.root !== root) return { error: 'of another tree', stale: true };
  if (!Array.isArray(h.files) || !Array.isArray(h.parts) || h.parts.length !== 3) return { error: 'its header lacks parts' };
  return { files: h.files, model: () => lazyModel(buf, bodyAt, h) };
}

/** The lines of a part of the body, found when first asked. */
class Lines {
  private starts?: number[];

  constructor(
    private readonly buf: Buffer,
    private readonly from: number,
    private readonly to: number,
  ) {}

  get count(): number {
    return this.offsets().length;
  }

  text(k: number): string {
    const starts = this.offsets();
    const at = starts[k];
    if (at === undefined) throw new Error(`build model cache: no line ${k} in a part of ${starts.length}`);
    return this.buf.toString('utf8', at, this.buf.indexOf(NL, at));
  }

  /** The line whose leading `["NAME"` is `name`, the lines sorted by it; -1 when none is. */
  find(name: string): number {
    const starts = this.offsets();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const key = this.leadingString(starts[mid]! + 1);
      if (key === name) return mid;
      if (key < name) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * The JSON string that starts at `at` (its opening quote), decoded: a name JSON escaped (a control
   * character or a quote in a damaged Kconfig file) read as it is written put the binary search off.
   */
  private leadingString(at: number): string {
    let escaped = false;
    let end = at + 1;
    for (; end < this.to; end++) {
      const c = this.buf[end];
      if (c === 0x5c) {
        escaped = true;
        end++;
      } else if (c === 0x22) break;
    }
    return escaped ? (JSON.parse(this.buf.toString('utf8', at, end + 1)) as string) : this.buf.toString('utf8', at + 1, end);
  }

  private offsets(): number[] {
    if (this.starts) return this.starts;
    const starts: number[] = [];
    for (let at = this.from; at < this.to;) {
      starts.push(at);
      const nl = this.buf.indexOf(NL, at);
      at = nl < 0 || nl >= this.to ? this.to : nl + 1;
    }
    return (this.starts = starts);
  }
}

type SymbolConds = [deps: Cond, defaults: Cond, selects: Cond[]];

/**
 * A symbol from the cache, its conditions decoded when first read: placing a file asks only a
 * symbol's type, definitions and architectures, and every symbol's conditions decoded were 10 MB of
 * a bulk answer's model, kept to the end (canCoexist() and impliedBy() read them).
 */
class DecodedSymbol implements KSymbol {
  type?: SymbolType;
  archs?: Set<string>;
  choices?: number[];
  implied?: Cond;
  private conds?: SymbolConds;

  constructor(
    readonly name: string,
    readonly defs: { file: string; line: number }[],
    readonly prompt: boolean,
    private readonly decodeConds: () => SymbolConds,
  ) {}

  get deps(): Cond {
    return (this.conds ??= this.decodeConds())[0];
  }

  get defaults(): Cond {
    return (this.conds ??= this.decodeConds())[1];
  }

  get selects(): Cond[] {
    return (this.conds ??= this.decodeConds())[2];
  }
}

/** Kconfig's symbols, each decoded from its line when first looked up; all of them when iterated. */
class LazySymbols extends Map<string, KSymbol> {
  private all = false;
  private readonly missing = new Set<string>();

  constructor(
    private readonly lines: Lines,
    private readonly decode: (text: string, line: number) => KSymbol,
  ) {
    super();
  }

  override get(name: string): KSymbol | undefined {
    const known = super.get(name);
    if (known || this.all || this.missing.has(name)) return known;
    const k = this.lines.find(name);
    if (k < 0) {
      this.missing.add(name);
      return undefined;
    }
    const sym = this.decode(this.lines.text(k), k);
    super.set(name, sym);
    return sym;
  }

  override has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  override get size(): number {
    return this.all ? super.size : this.lines.count;
  }

  override keys(): MapIterator<string> {
    this.fill();
    return super.keys();
  }

  override values(): MapIterator<KSymbol> {
    this.fill();
    return super.values();
  }

  override entries(): MapIterator<[string, KSymbol]> {
    this.fill();
    return super.entries();
  }

  override [Symbol.iterator](): MapIterator<[string, KSymbol]> {
    return this.entries();
  }

  override forEach(fn: (value: KSymbol, key: string, map: Map<string, KSymbol>) => void, thisArg?: unknown): void {
    this.fill();
    super.forEach(fn, thisArg);
  }

  private fill(): void {
    if (this.all) return;
    for (let k = 0; k < this.lines.count; k++) {
      const sym = this.decode(this.lines.text(k), k);
      if (!super.has(sym.name)) super.set(sym.name, sym);
    }
    this.all = true;
  }
}

const DECODED_EVALS = 128;

function lazyModel(buf: Buffer, bodyAt: number, h: Header): BuildModel {
  const [s0, e0, end] = h.parts.map((x) => bodyAt + x) as [number, number, number];
  const cond = (list: TermData[]): Cond => list.map(termFromData);

  const symbolLines = new Lines(buf, s0, e0);
  const symbols = new LazySymbols(symbolLines, (text, k) => {
    const [name, type, archs, defs, prompt, choices] = JSON.parse(text) as SymbolLine;
    const conds = (): SymbolConds => {
      const [, , , , , , deps, defaults, selects] = JSON.parse(symbolLines.text(k)) as SymbolLine;
      return [cond(deps), cond(defaults), selects.map(cond)];
    };
    const sym = new DecodedSymbol(
      name,
      defs.map(([file, line]) => ({ file, line })),
      prompt,
      conds,
    );
    if (type) sym.type = type;
    if (archs) sym.archs = new Set(archs);
    if (choices) sym.choices = choices;
    return sym;
  });
  const kconfig: Kconfig = { symbols, files: h.kconfigFiles, arches: h.arches, unknown: h.kconfigUnknown };

  const evalLines = new Lines(buf, e0, end);
  // The Makefiles decoded last: placements are derived from them a directory at a time and kept,
  // so an evaluation is wanted again only by the next directory it lists objects in, if any. All of
  // them kept were 21 MB of a bulk answer's model.
  const decoded = new Map<number, DirEval>();
  const condsOf = new WeakMap<DirEval, DirConds | undefined>();
  const evalAt = (k: number): DirEval => {
    const known = decoded.get(k);
    if (known) return known;
    const [data, dir, makefile, arch, edges, objects, read, unknown, conds] = JSON.parse(evalLines.text(k)) as EvalLine;
    const terms = data.map(termFromData);
    const term = (t: number): Term => {
      const got = terms[t];
      if (!got) throw new Error(`build model cache: no term ${t} in the line of ${dir}`);
      return got;
    };
    const ev: DirEval = {
      dir,
      makefile,
      edges: edges.map(([d, t, linked]) => ({ dir: d, term: term(t), linked })),
      objects: objects.map(([name, file, modular, t, gate, line, comp]) => {
        const object = fromDir(dir, name);
        const composite = comp === null ? undefined : fromDir(dir, comp);
        const o: ObjEntry = { object, module: modular ? (composite ?? object).slice(0, -2) : 'vmlinux', modular, term: term(t), line };
        if (file) o.file = file;
        if (gate) o.gate = gate;
        if (composite) o.composite = composite;
        return o;
      }),
      read,
      unknown,
    };
    if (arch) ev.arch = arch;
    condsOf.set(ev, conds ? { built: conds[0].map(term), linked: conds[1].map(term) } : undefined);
    if (decoded.size >= DECODED_EVALS) decoded.delete(decoded.keys().next().value!);
    decoded.set(k, ev);
    return ev;
  };
  const byDir = new Map(h.objectDirs);
  const source: PlaceSource = {
    objectDirs: () => h.objectDirs.map(([dir]) => dir),
    evalsFor: (dir) => (byDir.get(dir) ?? []).map(evalAt),
    condsOf: (ev) => condsOf.get(ev),
  };

  let evals: Map<string, DirEval> | undefined;
  return {
    placements: new Placements(source, kconfig),
    kconfig,
    // every evaluated Makefile, for an edit to re-read some of them (updateModel)
    get evals(): Map<string, DirEval> {
      if (!evals) {
        evals = new Map();
        for (let k = 0; k < evalLines.count; k++) {
          const ev = evalAt(k);
          evals.set(ev.dir, ev);
        }
      }
      return evals;
    },
    heads: h.heads,
    headsUnknown: h.headsUnknown,
    makefiles: h.makefiles,
    unknown: h.unknown,
  };
}

/**
 * What `npm run fuzz` feeds kexports, and how one input is run: shared by scripts/fuzz.ts and by the
 * regression test that replays what the fuzzer saved. Inputs are made from (seed, target, k) alone,
 * so a failing one is made again from its number.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openIndex } from '../src/core/engine';
import type { KernelIndex } from '../src/core/index/index';
import { condText } from '../src/core/build/cond';
import { KCONFIG, MAKEFILE } from '../src/core/build/kbuild';
import { type BuildModel, buildModel } from '../src/core/build/model';
import { decodeModel, encodeModel } from '../src/core/build/modelCache';
import { reviewSeries, touchedPaths } from '../src/core/review/analyze';
import { parseDiff } from '../src/core/review/diff';
import { seriesFromTexts } from '../src/core/review/series';
import { nativeAddon, NativeScanner } from '../src/core/scan/nativeScanner';
import { newScanner, scanBuffer, scanPath, type Scanner } from '../src/core/scan/scanFile';
import { repoRoot, sampleTree, tempDir } from './helpers';

export type FuzzTarget = 'scanner' | 'diff' | 'mail' | 'review' | 'model';

/** Each target's share of the inputs: the scanner and the diff reader are cheap, review is not. */
export const fuzzTargets: { name: FuzzTarget; weight: number }[] = [
  { name: 'scanner', weight: 4 },
  { name: 'diff', weight: 2 },
  { name: 'mail', weight: 2 },
  { name: 'review', weight: 2 },
  { name: 'model', weight: 2 },
];

/** mulberry32: small, fast and good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(seed: number, target: string, k: number): number {
  let h = 2166136261 ^ seed;
  for (const c of `${target}:${k}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** The files under `root` whose names match, with their bytes, in the order the directories list them. */
function filesUnder(root: string, name: RegExp): { path: string; text: Buffer }[] {
  const out: { path: string; text: Buffer }[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else if (name.test(e.name)) out.push({ path: rel, text: readFileSync(join(root, rel)) });
    }
  };
  walk('');
  return out;
}

let sources: { path: string; text: Buffer }[] | undefined;
function corpus(): { path: string; text: Buffer }[] {
  return (sources ??= filesUnder(sampleTree, /\.[chS]$|Makefile$|Kbuild$/));
}

const C_TOKENS = [
  '{',
  '}',
  '(',
  ')',
  '"',
  "'",
  '/*',
  '*/',
  '//',
  '\\\n',
  '#if 0\n',
  '#ifdef CONFIG_X\n',
  '#else\n',
  '#endif\n',
  '#define X(a) a##_y\n',
  '#define EXPORT_SYMBOL(x)\n',
  '#include "hmm.c"\n',
  '#undef X\n',
  'EXPORT_SYMBOL(',
  'EXPORT_SYMBOL_GPL(x);\n',
  'EXPORT_SYMBOL_NS_GPL(a, B);\n',
  'EXPORT_SYMBOL_FOR_MODULES(a, "b");\n',
  'MODULE_IMPORT_NS(X);\n',
  'asm("call x");\n',
  '"\\tjmp __x_1\\n"',
  '"1: callq y"',
  '"call *%0"',
  '"; call z',
  '#define A ALTERNATIVE("", "call w", X)\n',
  '__asm__ volatile(',
  'static inline int f(void) { return g(); }\n',
  'DEFAULT_SYMBOL_NAMESPACE',
  'R"(',
  '\x00',
  '\xff',
  '\xc3\xa4',
  '\r\n',
  '\t',
  'printf("EXPORT_SYMBOL(y);\\n");\n',
  '.macro m\n',
  '.endm\n',
  'ENTRY(x)\n',
  'SYM_FUNC_START(x)\n',
];
/** The build model's sample tree: a file of it is replaced by a mutated one. */
const kbuildTree = join(repoRoot, 'test/fixtures/kbuild-tree');
let buildFiles: { path: string; text: Buffer }[] | undefined;
function buildCorpus(): { path: string; text: Buffer }[] {
  return (buildFiles ??= filesUnder(kbuildTree, /^(Makefile|Kbuild|Kconfig.*)$/).sort((a, b) => (a.path < b.path ? -1 : 1)));
}

const BUILD_TOKENS = [
  'obj-$(CONFIG_FOO) += foo.o\n',
  'obj-y += sub/\n',
  'obj-m += m.o\n',
  'foo-y := a.o b.o\n',
  'foo-$(CONFIG_BAR) += c.o\n',
  'x := $(x)\n',
  '$(ev6-y)copy.o',
  '$(',
  ')',
  '${',
  '}',
  'ifdef CONFIG_MMU\n',
  'ifeq ($(CONFIG_X),y)\n',
  'else\n',
  'endif\n',
  'include $(srctree)/mm/Makefile\n',
  '$(call cc-option,-x)',
  '$(patsubst %.o,%.c,$(obj-y))',
  '$(addprefix a/,$(obj-y))',
  '\\\n',
  '#',
  'config FOO\n',
  'menuconfig BAR\n',
  '\ttristate "foo"\n',
  '\tbool\n',
  '\tdef_bool y if MMU\n',
  '\tdepends on MMU && !SMP\n',
  '\tdepends on (A || B\n',
  '\tselect BAZ if X\n',
  '\tdefault m\n',
  '\thelp\n\t  text\n',
  'choice\n',
  'endchoice\n',
  'if X\n',
  'menu "m"\n',
  'endmenu\n',
  'source "arch/$(SRCARCH)/Kconfig"\n',
  'rsource "Kconfig"\n',
  '\xa0',
  '\x00',
  '\r\n',
];

/** A model as text, to compare one read afresh with the same decoded from its cache. */
function modelText(m: BuildModel): string {
  const out: string[] = [];
  for (const [stem, list] of m.placements) for (const p of list) out.push(`${stem} ${p.object} ${p.module} ${p.modular} [${condText(p.cond)}] ${p.gate} ${p.makefile}:${p.line} ${p.composite}`);
  for (const s of m.kconfig.symbols.values())
    out.push(`${s.name} ${s.type} ${[...(s.archs ?? [])].join()} ${s.prompt} ${s.choices?.join()} [${condText(s.deps)}] [${condText(s.defaults)}] ${s.selects.map(condText).join(';')}`);
  return out.sort().join('\n');
}

const MAIL_TOKENS = [
  'diff --git a/mm/hmm.c b/mm/hmm.c\n',
  '--- a/mm/hmm.c\n',
  '+++ b/mm/hmm.c\n',
  '--- /dev/null\n',
  '+++ /dev/null\n',
  '@@ -1,0 +1 @@\n',
  '@@ -1 +0,0 @@\n',
  '@@ -999999999,3 +1,3 @@\n',
  '@@ -2,3 +2,4 @@ f\n',
  '\\ No newline at end of file\n',
  '+EXPORT_SYMBOL(hmm_x);\n',
  '-EXPORT_SYMBOL(hmm_range_fault);\n',
  ' \n',
  '-- \n',
  'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n',
  'Subject: [PATCH 3/2] x\n',
  'Subject: =?utf-8?b?w6TDtg==?=\n',
  'Content-Type: multipart/mixed; boundary="b"\n',
  '--b\n',
  'Content-Transfer-Encoding: base64\n',
  'Content-Transfer-Encoding: quoted-printable\n',
  '=\n',
  '=3D',
  '\r\n',
  'rename from mm/hmm.c\nrename to mm/hmm2.c\n',
  'new file mode 100644\n',
  'deleted file mode 100644\n',
  'Binary files a/x.c and b/x.c differ\n',
  'GIT binary patch\nliteral 5\n',
  'diff --git a/../x.c b/../x.c\n',
  'diff --git "a/q\\tx.c" "b/q\\tx.c"\n',
  'Index: mm/hmm.c\n===================================================================\n',
  '>From \n',
  '\x1b[2J',
  '\x00',
  '\xff',
];

/** Applies a few random edits: flips, inserts of tokens, deletions, copies, truncation. */
function mutate(r: () => number, text: Buffer, tokens: readonly string[], edits: number): Buffer {
  let b = text;
  const pick = (n: number): number => Math.floor(r() * n);
  for (let e = 0; e < edits; e++) {
    const at = pick(b.length + 1);
    const kind = pick(8);
    if (kind === 0 && b.length) {
      b = Buffer.from(b);
      b[pick(b.length)] = pick(256);
    } else if (kind <= 2) b = Buffer.concat([b.subarray(0, at), Buffer.from(tokens[pick(tokens.length)]!, 'latin1'), b.subarray(at)]);
    else if (kind === 3) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + pick(200)))]);
    else if (kind === 4) {
      const from = pick(b.length + 1);
      b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + pick(400)), b.subarray(at)]);
    } else if (kind === 5) b = b.subarray(0, at);
    else if (kind === 6) b = Buffer.concat([b.subarray(0, at), Buffer.from(tokens[pick(tokens.length)]!.repeat(1 + pick(2000)), 'latin1'), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: pick(64) }, () => pick(256))), b.subarray(at)]);
  }
  return b;
}

/** A plausible patch of one sample file: a few lines changed, added or removed, as git writes it. */
function patchOf(r: () => number, file: { path: string; text: Buffer }): string {
  const lines = file.text.toString('latin1').split('\n');
  const at = Math.floor(r() * Math.max(1, lines.length - 4));
  const ctx = lines.slice(at, at + 3);
  const kind = Math.floor(r() * 3);
  const body =
    kind === 0
      ? [...ctx.map((l) => ` ${l}`), '+EXPORT_SYMBOL_GPL(fuzz_added);']
      : kind === 1
        ? [` ${ctx[0] ?? ''}`, `-${ctx[1] ?? ''}`, `+${(ctx[1] ?? '').replace('EXPORT_SYMBOL_GPL', 'EXPORT_SYMBOL')}`, ` ${ctx[2] ?? ''}`]
        : [` ${ctx[0] ?? ''}`, `-${ctx[1] ?? ''}`, ` ${ctx[2] ?? ''}`];
  const oldN = body.filter((l) => !l.startsWith('+')).length;
  const newN = body.filter((l) => !l.startsWith('-')).length;
  return `diff --git a/${file.path} b/${file.path}\nindex 1111111..2222222 100644\n--- a/${file.path}\n+++ b/${file.path}\n@@ -${at + 1},${oldN} +${at + 1},${newN} @@\n${body.join('\n')}\n`;
}

function mailOf(r: () => number, k: number, total: number, diff: string): string {
  const enc = r() < 0.2 ? 'base64' : r() < 0.2 ? 'quoted-printable' : '8bit';
  const body = `Some words on why.\n\nSigned-off-by: A <a@example.invalid>\n---\n${diff}-- \n2.39.5\n`;
  const text = enc === 'base64' ? Buffer.from(body).toString('base64').replace(/.{76}/g, '$&\n') : enc === 'quoted-printable' ? body.replace(/=/g, '=3D') : body;
  return `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nDate: Thu, 1 Jan 2026 00:00:00 +0000\nSubject: [PATCH ${k}/${total}] mm: change ${k}\nMessage-Id: <${k}@example.invalid>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: ${enc}\n\n${text}\n`;
}

/** Input k of a target, made again from its number alone. */
export function makeInput(target: FuzzTarget, seed: number, k: number): Buffer {
  const r = rng(seedOf(seed, target, k));
  if (target === 'model') {
    // the path of the build file it replaces, a NUL, then its new bytes
    const all = buildCorpus();
    const f = all[Math.floor(r() * all.length)]!;
    return Buffer.concat([Buffer.from(`${f.path}\0`), mutate(r, f.text, BUILD_TOKENS, 1 + Math.floor(r() * 8))]);
  }
  const files = corpus();
  const file = (): { path: string; text: Buffer } => files[Math.floor(r() * files.length)]!;
  if (target === 'scanner') {
    if (r() < 0.05) return Buffer.from(Array.from({ length: Math.floor(r() * 4000) }, () => Math.floor(r() * 256)));
    const base = r() < 0.2 ? Buffer.concat([file().text, file().text]) : file().text;
    return mutate(r, base, C_TOKENS, 1 + Math.floor(r() * 8));
  }
  const patches = 1 + Math.floor(r() * 4);
  if (target === 'diff') return mutate(r, Buffer.from(Array.from({ length: patches }, () => patchOf(r, file())).join(''), 'latin1'), MAIL_TOKENS, Math.floor(r() * 6));
  const mbox = Array.from({ length: patches }, (_, j) => mailOf(r, j + 1, patches, patchOf(r, file()))).join('');
  return mutate(r, Buffer.from(mbox, 'latin1'), MAIL_TOKENS, target === 'mail' ? 1 + Math.floor(r() * 8) : Math.floor(r() * 3));
}

let index: Promise<KernelIndex> | undefined;
let before: string | undefined;
const exportsOf = (i: KernelIndex): string =>
  i.exports
    .map((e) => `${e.file}:${e.line}:${e.name}:${e.type}:${e.namespace ?? ''}`)
    .sort()
    .join('\n');

let native: { dir: string; scanner: NativeScanner } | undefined | null;

function withScanner<T>(use: (s: Scanner) => T): T {
  const s = newScanner();
  try {
    return use(s);
  } finally {
    s.release();
  }
}

/**
 * Runs one input; throws on a crash. Returns what is wrong when the input ran but gave a wrong answer:
 * the two scanners disagree, or a review did not put the index back as it was.
 */
export async function runInput(target: FuzzTarget, input: Buffer): Promise<string | undefined> {
  if (target === 'scanner') {
    const path = 'mm/fuzz.c';
    // the editor's way, which keeps definitions, then the whole-tree ways: the addon against the wasm build.
    // Each wasm scanner is released at once: thousands of inputs in a row leave the garbage collector no
    // turn to free them, and past 4 GB of wasm memory every scan failed (input 7,137 of seed 310262).
    withScanner((s) => scanBuffer(s, path, input, undefined, true));
    if (native === undefined) {
      const addon = process.env.KEXPORTS_SCANNER === 'wasm' ? undefined : nativeAddon();
      native = addon ? { dir: tempDir('kexports-fuzz-'), scanner: new NativeScanner(addon) } : null;
      if (native) mkdirSync(join(native.dir, 'mm'));
    }
    if (!native) return undefined;
    writeFileSync(join(native.dir, path), input);
    const batch = native.scanner.scan(native.dir, [path], 1 << 26);
    const n = batch.files[0]!;
    const j = withScanner((s) => scanPath(s, native!.dir, path, 1 << 26));
    const shape = (f: typeof n): string =>
      JSON.stringify({
        skipped: f.skipped?.reason,
        exports: f.scan?.exports.map((e) => [e.macro, e.args, e.line]),
        defs: f.scan?.defs.length,
        imports: f.scan?.imports,
        uses: f.scan ? f.scan.uses.length : 0,
      });
    if (shape(n) !== shape(j)) return `the addon and the wasm build differ: ${shape(n).slice(0, 200)} against ${shape(j).slice(0, 200)}`;
    return undefined;
  }
  if (target === 'model') {
    // the sample tree with one Makefile, Kbuild or Kconfig file replaced: read, cached and decoded
    const nul = input.indexOf(0);
    const path = input.toString('latin1', 0, Math.max(0, nul));
    const bytes = input.subarray(nul + 1);
    const texts = new Map(buildCorpus().map((f) => [f.path, f.text]));
    texts.set(path, bytes);
    const readBytes = (p: string): Buffer | undefined => texts.get(p);
    const model = buildModel({ read: (p) => readBytes(p)?.toString('latin1'), readBytes, exists: (p) => texts.has(p), arches: ['bar', 'foo'] });
    const got = decodeModel(encodeModel('/fuzz', [], model), '/fuzz');
    if ('error' in got) return `its cache does not decode: ${got.error}`;
    const fresh = modelText(model);
    const cached = modelText(got.model());
    return fresh === cached ? undefined : `the model decoded from its cache differs from the model read: ${fresh.length} against ${cached.length} characters`;
  }
  const text = input.toString(target === 'diff' ? 'latin1' : 'utf8');
  if (target === 'diff') {
    parseDiff(text);
    return undefined;
  }
  const series = await seriesFromTexts([{ source: 'fuzz.mbox', text }]);
  if (target === 'mail') return undefined;
  index ??= openIndex(sampleTree, { workers: 0 });
  const idx = await index;
  before ??= exportsOf(idx);
  const baseText = (p: string): string | undefined => {
    try {
      return readFileSync(join(sampleTree, p), 'latin1');
    } catch {
      return undefined;
    }
  };
  try {
    reviewSeries(idx, series, { gplOnlyPaths: ['mm/'], testsCountAsConsumers: true, baseText });
  } finally {
    // put the tree back as the server does after a review
    for (const p of touchedPaths(series)) {
      if (MAKEFILE.test(p)) idx.setMakefile(p, baseText(p));
      else if (!KCONFIG.test(p)) idx.rescanFile(p, 1 << 26); // a Kconfig file went to the build model only
    }
  }
  const after = exportsOf(idx);
  if (after !== before) {
    const a = new Set(before.split('\n'));
    const b = new Set(after.split('\n'));
    const gone = [...a].filter((x) => !b.has(x));
    const extra = [...b].filter((x) => !a.has(x));
    // what follows starts from a fresh index, so that one fault is not counted again
    index = undefined;
    before = undefined;
    return `the index was not put back after the review: ${gone.length} exports lost (${gone.slice(0, 3).join(', ')}), ${extra.length} gained (${extra.slice(0, 3).join(', ')})`;
  }
  return undefined;
}

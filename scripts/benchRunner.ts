/**
 * One bench measurement in a fresh process, so that peak RSS is its own. Prints one JSON line.
 *   benchRunner cold TREE CACHE    full index from nothing, then save the cache
 *   benchRunner warm TREE CACHE    open from the cache; then lookups, many symbols, check, one-file update
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openIndex } from '../src/core/engine';
import { nativeAddon, nativeLoadError } from '../src/core/scan/nativeScanner';
import { checkExports, defaultGplOnlyPaths } from '../src/core/findings/findings';
import { reviewSeries, touchedPaths } from '../src/core/review/analyze';
import { readSeries, seriesFromTexts } from '../src/core/review/series';

const [mode, tree, cacheDir, workerScript, mt7530] = process.argv.slice(2) as [string, string, string, string, string | undefined];
const phases: Record<string, number> = {};
const t0 = performance.now();
// As the language server opens a tree: the index is handed out before its cache file is on disk.
let written: Promise<number> | undefined;
let writtenAt!: (ms: number) => void;
if (mode === 'cold') written = new Promise((r) => (writtenAt = r));
const index = await openIndex(tree, {
  cacheDir,
  workerScript,
  onPhase: (p, ms) => (phases[p] = Math.round(ms)),
  cacheWrite: 'background',
  onCacheWritten: (e) => {
    if (e) throw e;
    writtenAt(performance.now() - t0);
  },
});
const openMs = performance.now() - t0;
// Which scanner indexed the tree: an addon that did not load would make every figure the JavaScript scanner's.
const scanner = process.env.KEXPORTS_SCANNER === 'wasm' ? 'js' : nativeAddon() ? 'native' : `js (${nativeLoadError() ?? 'no addon'})`;
const out: Record<string, unknown> = { mode, scanner, openMs: Math.round(openMs), phases, exports: index.exports.length, files: index.stats.files, bytes: index.stats.bytes };
if (written) out.cacheWrittenMs = Math.round(await written);

if (mode === 'warm') {
  // lookups of single symbols
  const sample = index.exports.filter((_, k) => k % Math.max(1, Math.floor(index.exports.length / 2000)) === 0);
  const times: number[] = [];
  for (const e of sample) {
    const t = performance.now();
    index.consumers(e);
    times.push((performance.now() - t) * 1000);
  }
  times.sort((a, b) => a - b);
  const pct = (p: number): number => Math.round(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!);
  out.lookup = { n: times.length, p50us: pct(50), p90us: pct(90), p99us: pct(99), maxUs: Math.round(times[times.length - 1]!) };
  for (const name of ['hmm_range_fault', 'devmap_managed_key', '_printk']) {
    const e = index.exportsNamed(name)[0];
    if (!e) continue;
    const t = performance.now();
    const c = index.consumers(e);
    out[`lookup ${name}`] = { us: Math.round((performance.now() - t) * 1000), consumers: c.length };
  }
  // every export's consumers, as `kexports consumers -` with all names
  let t = performance.now();
  let total = 0;
  for (const e of index.exports) total += index.consumers(e).length;
  out.allConsumers = { ms: Math.round(performance.now() - t), exports: index.exports.length, consumerFiles: total };
  // findings for the whole tree
  t = performance.now();
  const f = checkExports(index, [], { gplOnlyPaths: defaultGplOnlyPaths, severity: {}, testsCountAsConsumers: true });
  out.checkTree = { ms: Math.round(performance.now() - t), findings: f.length };
  // one file re-scanned, as an editor edit does
  const path = 'mm/hmm.c';
  const text = readFileSync(join(tree, path));
  const runs: number[] = [];
  for (let k = 0; k < 20; k++) {
    t = performance.now();
    index.updateFile(path, text);
    checkExports(index, [path], { gplOnlyPaths: defaultGplOnlyPaths, severity: {}, testsCountAsConsumers: true });
    runs.push(performance.now() - t);
  }
  runs.sort((a, b) => a - b);
  out.updateHmmC = { medianMs: +runs[10]!.toFixed(2), maxMs: +runs[19]!.toFixed(2) };
}
if (mode === 'warm') {
  // a 15-patch series over real files: each patch relaxes or tightens one export and adds a new one
  const files = index
    .exportsUnder(['mm'])
    .filter((e, k, all) => e.macro.startsWith('EXPORT_SYMBOL') && all.findIndex((x) => x.file === e.file) === k)
    .slice(0, 15);
  const mails = files.map((e, k) => {
    const lines = readFileSync(join(tree, e.file), 'latin1').split('\n');
    const old = lines[e.line - 1]!;
    const neu = old.includes('_GPL(') ? old.replace('_GPL(', '(') : old.replace(/^(EXPORT_SYMBOL\w*)\(/, '$1_GPL(');
    const real = lines.length - (lines.at(-1) === '' ? 1 : 0);
    const ctx = lines.slice(e.line, Math.min(e.line + 2, real));
    const diff = [
      `diff --git a/${e.file} b/${e.file}`,
      `--- a/${e.file}`,
      `+++ b/${e.file}`,
      `@@ -${e.line},${1 + ctx.length} +${e.line},${4 + ctx.length} @@`,
      `-${old}`,
      `+${neu}`,
      `+int bench_new_export_${k}(void)`,
      `+{ return ${k}; }`,
      `+EXPORT_SYMBOL_GPL(bench_new_export_${k});`,
      ...ctx.map((c) => ` ${c}`),
    ].join('\n');
    return `From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: Bench <bench@example.invalid>\nSubject: [PATCH ${k + 1}/15] ${e.file}: bench change ${k + 1}\n\n---\n${diff}\n`;
  });
  const t = performance.now();
  const series = await seriesFromTexts([{ source: 'bench.mbox', text: mails.join('\n') }]);
  const parsedMs = performance.now() - t;
  const review = reviewSeries(index, series, {
    gplOnlyPaths: defaultGplOnlyPaths,
    testsCountAsConsumers: true,
    baseText: (p) => readFileSync(join(tree, p), 'latin1'),
  });
  out.review15 = {
    ms: Math.round(performance.now() - t),
    parseMs: Math.round(parsedMs),
    patches: review.patches.length,
    findings: review.findings.length,
    problems: review.problems.length,
    problemMessages: review.problems.map((p) => p.message),
  };
  // the real 15-patch mt7530 series, read from its mbox as the CLI reads it, over the live index
  if (mt7530 && existsSync(mt7530) && /linux-6\.1$/.test(tree)) {
    const times: number[] = [];
    let last: ReturnType<typeof reviewSeries> | undefined;
    for (let k = 0; k < 5; k++) {
      // as runReview() does for a mail file (it is not bundled here: it brings simple-git along)
      const t0 = performance.now();
      const series = await readSeries(mt7530);
      last = reviewSeries(index, series, {
        gplOnlyPaths: defaultGplOnlyPaths,
        testsCountAsConsumers: true,
        baseText: (p) => (existsSync(join(tree, p)) ? readFileSync(join(tree, p), 'latin1') : undefined),
      });
      times.push(performance.now() - t0);
      for (const p of touchedPaths(series)) index.rescanFile(p, 64 << 20);
    }
    times.sort((a, b) => a - b);
    out.reviewMt7530 = { medianMs: Math.round(times[2]!), minMs: Math.round(times[0]!), maxMs: Math.round(times[4]!), patches: last!.patches.length, findings: last!.findings.length };
  }
}
out.maxRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(JSON.stringify(out));

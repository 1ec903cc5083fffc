// npm run bench: kexports on a real kernel tree beside rg and git grep, in the same run.
//   KEXPORTS_BENCH_TREE=DIR npm run bench     any tree; default: linux-6.1 from ../shared/tools/get-kernel.sh
//   KEXPORTS_BENCH_HISTORY=DIR|skip           the two-release repository for export history; default:
//                                             ../shared/tools/make-kernel-history.sh (builds it once)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tree = process.env.KEXPORTS_BENCH_TREE ?? execFileSync(resolve(repo, '../shared/tools/get-kernel.sh'), ['6.1'], { encoding: 'utf8' }).trim();
await build({ entryPoints: [join(repo, 'scripts/benchRunner.ts')], bundle: true, platform: 'node', format: 'esm', outfile: join(repo, '.bench/benchRunner.mjs'), logLevel: 'warning' });
await build({ entryPoints: [join(repo, 'scripts/benchLsp.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: join(repo, '.bench/benchLsp.cjs'), logLevel: 'warning' });
await build({ entryPoints: [join(repo, 'scripts/benchModel.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: join(repo, '.bench/benchModel.cjs'), logLevel: 'warning' });
await build({ entryPoints: [join(repo, 'scripts/benchScan.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: join(repo, '.bench/benchScan.cjs'), logLevel: 'warning' });
await build({ entryPoints: [join(repo, 'scripts/benchHistory.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: join(repo, '.bench/benchHistory.cjs'), logLevel: 'warning' });
const runner = join(repo, '.bench/benchRunner.mjs');
// The bundles in .bench/ find the scanner's builds in dist/ through these, as their children do.
process.env.KEXPORTS_ADDON ??= join(repo, 'dist/kexports-scanner.node');
process.env.KEXPORTS_WASM ??= join(repo, 'dist/kexports-scanner.wasm');
const worker = join(repo, 'dist/scanWorker.js');

/** The comparison tools, from Debian's packages: installed here when missing (the bench runs as root on this project's machines), else a clear stop. */
function need(tool, pkg) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0) return;
  const root = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
  if (root) {
    console.error(`bench: ${tool} is missing; apt-get install ${pkg}`);
    const apt = (...args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
    // The package lists are empty on a fresh machine: update once when the install fails.
    if (apt('install', '-y', '-qq', pkg) || (apt('update', '-qq') && apt('install', '-y', '-qq', pkg))) return;
  }
  console.error(`bench: ${tool} is needed for the comparison; install Debian's ${pkg} (apt-get install ${pkg})`);
  process.exit(2);
}
need('rg', 'ripgrep');
need('git', 'git');
need('/usr/bin/time', 'time');

/** Runs a command, returns wall ms and peak RSS (MB, from /usr/bin/time). */
function timed(cmd, args, opts = {}) {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  const ms = performance.now() - t;
  // A tool that did not run (or failed, beyond grep's 'nothing found') would make a row of nonsense.
  if (r.error || r.status === null || r.status > 1)
    throw new Error(`bench: ${[cmd, ...args].join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  const rss = Math.round(Number(r.stderr.trim().split('\n').pop()) / 1024);
  return { ms: Math.round(ms), rss, stdout: r.stdout, status: r.status };
}

function runner_(mode, cacheDir, env = {}) {
  const r = spawnSync(process.execPath, [runner, mode, tree, cacheDir, worker, resolve(repo, '../shared/real-series/mt7530.mbox')], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: { ...process.env, KEXPORTS_ADDON: join(repo, 'dist/kexports-scanner.node'), KEXPORTS_WASM: join(repo, 'dist/kexports-scanner.wasm'), ...env },
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/**
 * lexer.ts, the JavaScript scanner the wasm build replaced, from the commit before its removal, bundled
 * for the single-file comparison; undefined in a clone without that commit (shallow).
 */
async function oldLexer() {
  const rev = '535d9ee';
  const src = spawnSync('git', ['show', `${rev}:src/core/lexer.ts`], { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (src.status !== 0) return undefined;
  const file = join(repo, '.bench/lexerOld.ts');
  const moved = { interner: 'scan/interner', scanTypes: 'scan/scanTypes', typed: 'util/typed' };
  writeFileSync(
    file,
    src.stdout.replace(/from '\.\/(\w+)'/g, (_, m) => `from '../src/core/${moved[m] ?? m}'`),
  );
  await build({ entryPoints: [file], bundle: true, platform: 'node', format: 'cjs', outfile: join(repo, '.bench/lexerOld.cjs'), logLevel: 'warning' });
  return join(repo, '.bench/lexerOld.cjs');
}

console.log(`tree: ${tree}`);
const rows = [];
const row = (what, ms, rss, note = '') => rows.push([what, `${ms} ms`, rss === undefined ? '' : `${rss} MB`, note]);

// Baselines first: they also warm the page cache for everyone.
const files = timed('rg', ['--files', '-g', '*.[chS]', tree]);
const list = files.stdout.trim().split('\n');
row('rg --files (list .c/.h/.S)', files.ms, files.rss, `${list.length} files`);
// Once to fill the page cache (every later figure is with a warm page cache), once to time.
const catCmd = ['-c', `rg --files -0 -g '*.[chS]' '${tree}' | xargs -0 cat > /dev/null`];
const catCold = timed('sh', catCmd);
const cat = timed('sh', catCmd);
row('cat of every .c/.h/.S (page cache warm)', cat.ms, undefined, `first pass: ${catCold.ms} ms`);
for (const sym of ['hmm_range_fault', 'devmap_managed_key']) {
  const rg = timed('rg', ['-l', '-w', sym, '-g', '*.[chS]', tree]);
  row(`rg -l -w ${sym}`, rg.ms, rg.rss, `${rg.stdout.trim().split('\n').filter(Boolean).length} files`);
  const gg = timed('git', ['grep', '--no-index', '-l', '-w', sym, '--', '*.c', '*.h', '*.S'], { cwd: tree });
  row(`git grep --no-index -l -w ${sym}`, gg.ms, gg.rss, `${gg.stdout.trim().split('\n').filter(Boolean).length} files`);
}

/** A whole CLI run from the shell: when its answer's first byte arrives, and when it exits (the cache written). */
async function cliRun(args) {
  const t = performance.now();
  let first;
  const status = await new Promise((res) => {
    const p = spawn(process.execPath, [join(repo, 'dist/cli.js'), ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    p.stdout.once('data', () => (first = performance.now() - t));
    p.stdout.resume();
    p.on('close', res);
  });
  if (status !== 0 && status !== 1) throw new Error(`kexports ${args.join(' ')} exited ${status}`);
  return { answerMs: Math.round(first), exitMs: Math.round(performance.now() - t) };
}
const cliCache = mkdtempSync(join(tmpdir(), 'kexports-bench-cli-'));
try {
  const args = ['check', '--tree', tree, '--cache-dir', cliCache, 'mm/hmm.c'];
  const c = await cliRun(args);
  row('kexports check mm/hmm.c, cold, a new process: its answer', c.answerMs, undefined, `the process exits with the cache written at ${c.exitMs} ms`);
  const w = await cliRun(args);
  row('kexports check mm/hmm.c, warm, a new process: its answer', w.answerMs, undefined, `exits at ${w.exitMs} ms`);
  // the build model: a command that needs it, with the index warm, and the model read from scratch, then from its cache
  const exp = await cliRun(['exports', '--tree', tree, '--cache-dir', cliCache, 'mm/hmm.c']);
  row('kexports exports mm/hmm.c, warm, a new process (no build model)', exp.answerMs, undefined, `exits at ${exp.exitMs} ms`);
  // what the build model adds to a cold index: a command that needs it against one that does not, in turn
  for (let k = 0; k < 2; k++) {
    for (const cmd of ['exports', 'module']) {
      const fresh = mkdtempSync(join(tmpdir(), 'kexports-bench-cold-'));
      try {
        const r = await cliRun([cmd, '--tree', tree, '--cache-dir', fresh, 'mm/hmm.c']);
        row(
          `kexports ${cmd} mm/hmm.c, cold, a new process${cmd === 'module' ? ' (the model read in a worker thread beside the scan)' : ' (no build model)'}`,
          r.answerMs,
          undefined,
          `exits at ${r.exitMs} ms`,
        );
      } finally {
        rmSync(fresh, { recursive: true, force: true });
      }
    }
  }
  for (const f of readdirSync(cliCache)) if (f.startsWith('build-')) rmSync(join(cliCache, f));
  const modFresh = await cliRun(['module', '--tree', tree, '--cache-dir', cliCache, 'mm/hmm.c']);
  row('kexports module mm/hmm.c, warm index, the build model read from scratch', modFresh.answerMs, undefined, `exits at ${modFresh.exitMs} ms`);
  for (let k = 0; k < 2; k++) {
    const mod = await cliRun(['module', '--tree', tree, '--cache-dir', cliCache, 'mm/hmm.c']);
    row(`kexports module mm/hmm.c, warm index, the build model from its cache${k ? ' (again)' : ''}`, mod.answerMs, undefined, `exits at ${mod.exitMs} ms`);
  }
  // every export of the tree in one `consumers` call, per output form, the output thrown away
  const names = [
    ...new Set(
      spawnSync(process.execPath, [join(repo, 'dist/cli.js'), 'exports', '--tree', tree, '--cache-dir', cliCache], { encoding: 'utf8', maxBuffer: 1 << 28 })
        .stdout.split('\n')
        .map((l) => l.split(/\s+/)[1])
        .filter(Boolean),
    ),
  ];
  for (const form of [
    ['--format', 'jsonl'],
    ['--summary', '--format', 'jsonl'],
    ['--format', 'json'],
  ]) {
    const t = performance.now();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, join(repo, 'dist/cli.js'), 'consumers', '--tree', tree, '--cache-dir', cliCache, ...form, '-'], {
      input: names.join('\n'),
      stdio: ['pipe', 'ignore', 'pipe'],
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    const rss = Math.round(Number(r.stderr.trim().split('\n').pop()) / 1024);
    row(`kexports consumers ${form.join(' ')} - (all ${names.length} export names), a new process`, Math.round(performance.now() - t), rss, `exit ${r.status}; 10x cat is ${10 * cat.ms} ms`);
  }
  // a real 15-patch series (../shared/real-series, OpenWrt's 6.1 backports), when it is there and the tree is 6.1
  const mt7530 = resolve(repo, '../shared/real-series/mt7530.mbox');
  if (existsSync(mt7530) && /linux-6\.1$/.test(tree)) {
    for (let k = 0; k < 3; k++) {
      const r = await cliRun(['review', '--tree', tree, '--cache-dir', cliCache, '--format', 'json', mt7530]);
      row(`kexports review mt7530.mbox (15 real patches), warm, a new process: its answer${k ? ` (again, ${k + 1})` : ''}`, r.answerMs, undefined, `exits at ${r.exitMs} ms`);
    }
  }
} finally {
  rmSync(cliCache, { recursive: true, force: true });
}

// the build model in one process: from scratch, from its cache, and updated after edits
const modelCache = mkdtempSync(join(tmpdir(), 'kexports-bench-model-'));
try {
  const r = spawnSync(process.execPath, [join(repo, '.bench/benchModel.cjs'), tree, modelCache], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const words = {
    fresh: 'build model, every Makefile and Kconfig read (in process; placements derived when asked)',
    freshAll: '… its cache file made and every placement derived (what a whole-tree check needs)',
    cached: 'build model from its cache file, one directory derived (in process)',
    cachedAll: '… every placement derived from it',
    makefile: 'build model after one Makefile edit (in process)',
    kconfig: 'build model after a Kconfig and a Makefile edit (in process)',
  };
  for (const l of lines) {
    if (l.what === 'size')
      console.log(
        `build model: ${l.placements} objects in ${l.directories} directories, ${l.makefiles} Makefiles, ${l.kconfigFiles} Kconfig files, ${l.symbols} symbols, ${l.unknown} constructs not understood`,
      );
    else row(words[l.what], [...l.runs].sort((a, b) => a - b)[1], l.rssMB, `median of 3: ${l.runs.join(', ')} ms`);
  }
} finally {
  rmSync(modelCache, { recursive: true, force: true });
}

const cacheDir = mkdtempSync(join(tmpdir(), 'kexports-bench-'));
try {
  const cold = runner_('cold', cacheDir);
  if (cold.scanner !== 'native') throw new Error(`bench: the native scanner did not load in the bench's runner: ${cold.scanner}`);
  row(
    'kexports cold full index (all exports, all consumers)',
    cold.openMs,
    cold.maxRssMB,
    `${cold.exports} exports, ${cold.files} files, ${(cold.bytes / 1e9).toFixed(2)} GB; ${Object.entries(cold.phases)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  row('  … and its cache file on disk (written on libuv threads after the index is handed out)', cold.cacheWrittenMs, cold.maxRssMB, '');
  // The same with the scanner's WebAssembly build, as on a machine where the addon is not built.
  const jsCacheDir = mkdtempSync(join(tmpdir(), 'kexports-bench-wasm-'));
  try {
    const js = runner_('cold', jsCacheDir, { KEXPORTS_SCANNER: 'wasm' });
    row(
      `the same with the scanner's WebAssembly build (KEXPORTS_SCANNER=wasm): ${(js.openMs / cold.openMs).toFixed(2)}x the addon`,
      js.openMs,
      js.maxRssMB,
      `${js.exports} exports; ${Object.entries(js.phases)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  } finally {
    rmSync(jsCacheDir, { recursive: true, force: true });
  }
  const warm = runner_('warm', cacheDir);
  row(
    'kexports warm start from the cache',
    warm.openMs,
    warm.maxRssMB,
    Object.entries(warm.phases)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  );
  console.log('');
  console.log(`lookup of one export's consumers (${warm.lookup.n} exports): p50 ${warm.lookup.p50us} us, p90 ${warm.lookup.p90us} us, p99 ${warm.lookup.p99us} us, max ${warm.lookup.maxUs} us`);
  for (const k of Object.keys(warm).filter((x) => x.startsWith('lookup '))) console.log(`${k}: ${warm[k].us} us, ${warm[k].consumers} consumer files`);
  console.log(`consumers of all ${warm.allConsumers.exports} exports: ${warm.allConsumers.ms} ms (${warm.allConsumers.consumerFiles} consumer files)`);
  console.log(`check of the whole tree: ${warm.checkTree.ms} ms, ${warm.checkTree.findings} findings`);
  console.log(`re-scan of mm/hmm.c and its findings (an editor edit): median ${warm.updateHmmC.medianMs} ms, max ${warm.updateHmmC.maxMs} ms`);
  {
    const lexer = await oldLexer();
    const r = spawnSync(process.execPath, [join(repo, '.bench/benchScan.cjs'), tree, lexer ?? '-'], {
      encoding: 'utf8',
      env: { ...process.env, KEXPORTS_ADDON: join(repo, 'dist/kexports-scanner.node'), KEXPORTS_WASM: join(repo, 'dist/kexports-scanner.wasm') },
    });
    if (r.status !== 0) throw new Error(r.stderr);
    const scans = JSON.parse(r.stdout.trim().split('\n').pop());
    console.log(
      `one file scanned, keeping definitions as the editor does (median of 201 rounds, ms): wasm build${lexer ? ' | the JavaScript scanner it replaced (lexer.ts at 535d9ee)' : ''} | addon, with its read`,
    );
    for (const [path, s] of Object.entries(scans)) console.log(`  ${path} (${(s.bytes / 1024).toFixed(0)} KB): ${s.wasm}${s.js !== undefined ? ` | ${s.js}` : ''} | ${s.addonWithRead ?? 'n/a'}`);
  }
  console.log(
    `review of a ${warm.review15.patches}-patch series (mbox, warm index): ${warm.review15.ms} ms (mail parsing ${warm.review15.parseMs} ms), ${warm.review15.findings} findings, ${warm.review15.problems} problems`,
  );
  if (warm.reviewMt7530)
    console.log(
      `review of the real mt7530 series (${warm.reviewMt7530.patches} patches, read from its mbox, warm index): median ${warm.reviewMt7530.medianMs} ms (${warm.reviewMt7530.minMs}-${warm.reviewMt7530.maxMs} in 5 runs), ${warm.reviewMt7530.findings} findings`,
    );
  // twice: the first start reads the build model afresh (and caches it), the second from its cache
  const lspOnce = () => {
    const run = spawnSync(process.execPath, [join(repo, '.bench/benchLsp.cjs'), tree, cacheDir, join(repo, 'dist/server.js')], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (run.status !== 0) throw new Error(run.stderr);
    return JSON.parse(run.stdout.trim().split('\n').pop());
  };
  const first = lspOnce();
  const l = lspOnce();
  console.log(
    `language server (warm index cache): ready after ${first.readyMs} ms with the build model read afresh, ${l.readyMs} ms with it from its cache; mm/hmm.c open to diagnostics ${l.openToDiagnosticsMs} ms:`,
  );
  for (const d of l.diagnostics) console.log(`  ${d}`);
  console.log(`hover over ${l.hover.n} identifiers (${l.hover.answered} exports): p50 ${l.hover.p50Ms} ms, p99 ${l.hover.p99Ms} ms, max ${l.hover.maxMs} ms`);
  console.log(`edit of mm/hmm.c to new diagnostics (20 ms debounce included): median ${l.editToDiagnostics.medianMs} ms, max ${l.editToDiagnostics.maxMs} ms`);
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}

// Export history: git log per file, on real kernel sources and on a long history made here.
function historyBench(args) {
  const r = spawnSync(process.execPath, [join(repo, '.bench/benchHistory.cjs'), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}
const historyRepo = process.env.KEXPORTS_BENCH_HISTORY ?? execFileSync(resolve(repo, '../shared/tools/make-kernel-history.sh'), { encoding: 'utf8' }).trim();
console.log('');
if (historyRepo !== 'skip') {
  const hCache = mkdtempSync(join(tmpdir(), 'kexports-bench-'));
  try {
    console.log(`export history on ${historyRepo} (two commits, tagged v6.1 and v6.12):`);
    for (const h of historyBench(['kernel', historyRepo, hCache, worker])) {
      if (h.what === 'index') console.log(`  index of its work tree (cold): ${h.ms} ms`);
      else
        console.log(
          `  ${h.what}: ${h.exports} exports, ${h.consumerFiles} consumer files; cold ${h.coldMs} ms, warm (cache file) ${h.warmMs} ms, from memory (hover) ${h.peekUs} us; ${JSON.stringify(h.verdicts)}`,
        );
    }
  } finally {
    rmSync(hCache, { recursive: true, force: true });
  }
}
console.log('export history of one file with 10 exports, as its history grows (git fast-import repository):');
for (const h of historyBench(['grow', '1000', '4000', '16000'])) {
  console.log(`  ${h.commits} commits: cold ${h.coldMs} ms, warm (cache file) ${h.warmMs} ms; one plain git log --follow -p of the file: ${h.gitLogMs} ms`);
}
console.log('');
const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((x, c) => (c === 3 ? x : x.padEnd(w[c]))).join('  '));

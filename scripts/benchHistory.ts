/**
 * Export history timings, one JSON line per measurement.
 *   benchHistory kernel TREE CACHE WORKER   mm/hmm.c and mm/memremap.c on the two-release repository from
 *                                       make-kernel-history.sh: cold (no history cache), warm (a new
 *                                       service reading the cache file), and from memory
 *   benchHistory grow COMMITS...        a repository made here with that many commits touching one file
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex } from '../src/core/engine';
import type { FileHistory } from '../src/core/history/compute';
import { exportRefs, HistoryService } from '../src/core/history/service';
import type { KernelIndex } from '../src/core/index/index';

const [mode, ...rest] = process.argv.slice(2) as [string, ...string[]];

async function timeHistory(index: KernelIndex, root: string, path: string, cacheDir: string): Promise<{ ms: number; h: FileHistory }> {
  const service = new HistoryService(root, { cacheDir, testsCountAsConsumers: true });
  const t = performance.now();
  const h = await service.history(path, exportRefs(index, path, true));
  const ms = Math.round(performance.now() - t);
  service.flush();
  return { ms, h };
}

function summary(h: FileHistory): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of h.exports) out[e.verdict] = (out[e.verdict] ?? 0) + 1;
  return out;
}

async function main(): Promise<void> {
  if (mode === 'kernel') {
    const [tree, cacheDir, workerScript] = rest as [string, string, string];
    const t = performance.now();
    const index = await openIndex(tree, { cacheDir, workerScript });
    console.log(JSON.stringify({ what: 'index', ms: Math.round(performance.now() - t) }));
    const histDir = mkdtempSync(join(tmpdir(), 'kexports-bench-history-'));
    try {
      for (const path of ['mm/hmm.c', 'mm/memremap.c']) {
        const cold = await timeHistory(index, tree, path, histDir);
        const warm = await timeHistory(index, tree, path, histDir);
        const service = new HistoryService(tree, { testsCountAsConsumers: true });
        await service.history(path, exportRefs(index, path, true));
        const n = 1000;
        const t2 = performance.now();
        for (let k = 0; k < n; k++) service.peek(path);
        const peekUs = ((performance.now() - t2) * 1000) / n;
        const consumerFiles = exportRefs(index, path, true).reduce((s, r) => s + r.consumerFiles.length, 0);
        console.log(
          JSON.stringify({
            what: path,
            exports: cold.h.exports.length,
            consumerFiles,
            coldMs: cold.ms,
            warmMs: warm.ms,
            peekUs: Number(peekUs.toFixed(2)),
            verdicts: summary(cold.h),
            notes: cold.h.notes,
          }),
        );
      }
    } finally {
      rmSync(histDir, { recursive: true, force: true });
    }
  } else if (mode === 'grow') {
    for (const n of rest.map(Number)) {
      const root = makeRepo(n);
      try {
        const index = await openIndex(root, { workers: 0 });
        const dir = mkdtempSync(join(tmpdir(), 'kexports-bench-history-'));
        const cold = await timeHistory(index, root, 'mm/hmm.c', dir);
        const warm = await timeHistory(index, root, 'mm/hmm.c', dir);
        rmSync(dir, { recursive: true, force: true });
        const t = performance.now();
        execFileSync('git', ['log', '--follow', '-p', '--format=%H', '--', 'mm/hmm.c'], { cwd: root, maxBuffer: 1 << 30 });
        const gitLogMs = Math.round(performance.now() - t);
        console.log(JSON.stringify({ what: `grow ${n}`, commits: n, exports: cold.h.exports.length, coldMs: cold.ms, warmMs: warm.ms, gitLogMs, verdicts: summary(cold.h) }));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

/**
 * A repository with `n` commits, each changing mm/hmm.c, through git fast-import. Ten exports land in
 * the first tenth; their consumers in drivers/ arrive spread over the rest. A release tag every n/20
 * commits, with an -rc1 a few commits in.
 */
function makeRepo(n: number): string {
  const root = mkdtempSync(join(tmpdir(), 'kexports-bench-grow-'));
  execFileSync('git', ['init', '-q', '-b', 'master', root]);
  const parts: string[] = [];
  const data = (s: string): string => `data ${Buffer.byteLength(s)}\n${s}\n`;
  const exportsAt = new Map<number, number>();
  for (let k = 0; k < 10; k++) exportsAt.set(Math.floor(((k + 1) * n) / 100), k);
  const usersAt = new Map<number, number>();
  for (let k = 0; k < 9; k++) usersAt.set(Math.floor(n / 10 + ((k + 1) * n * 0.8) / 10), k);
  const exported: number[] = [];
  const perRelease = Math.max(10, Math.floor(n / 20));
  let time = Date.parse('2019-01-01T00:00:00Z') / 1000;
  let release = 0;
  for (let c = 1; c <= n; c++) {
    time += Math.floor((63 * 86400) / perRelease);
    const files: string[] = [];
    const ex = exportsAt.get(c);
    if (ex !== undefined) exported.push(ex);
    const fns = exported.map((k) => `\nint hmm_bench_${k}(void)\n{\n\treturn ${k};\n}\nEXPORT_SYMBOL_GPL(hmm_bench_${k});\n`).join('');
    files.push(`M 100644 inline mm/hmm.c\n${data(`// SPDX-License-Identifier: GPL-2.0\n/* revision ${c} */\n#include <linux/hmm.h>\n${fns}`)}`);
    if (c === 1) {
      files.push(`M 100644 inline Kbuild\n${data('obj-y += mm/ drivers/\n')}`, `M 100644 inline MAINTAINERS\n${data('HMM\n')}`);
    }
    const user = usersAt.get(c);
    if (user !== undefined) files.push(`M 100644 inline drivers/bench/user_${user}.c\n${data(`int user_${user}(void)\n{\n\treturn hmm_bench_${user}();\n}\n`)}`);
    const who = `Bench <bench@example.invalid> ${time} +0000`;
    parts.push(`commit refs/heads/master\nmark :${c}\nauthor ${who}\ncommitter ${who}\n${data(`mm/hmm: revision ${c}`)}${c > 1 ? `from :${c - 1}\n` : ''}${files.join('')}`);
    const tag = (name: string): void => void parts.push(`tag ${name}\nfrom :${c}\ntagger ${who}\n${data(name)}`);
    if (c % perRelease === 3) tag(`v5.${release + 1}-rc1`);
    if (c % perRelease === 0) tag(`v5.${++release}`);
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: root, input: parts.join(''), maxBuffer: 1 << 30 });
  execFileSync('git', ['reset', '-q', '--hard', 'master'], { cwd: root });
  return root;
}

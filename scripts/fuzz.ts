/**
 * `npm run fuzz`: generated inputs through the scanner, the mail and diff reader, and review, at volume.
 *
 *   node --import tsx scripts/fuzz.ts [--inputs N] [--seed S] [--only TARGET]
 *
 * Each target runs in a child process that takes inputs k = 0, 1, ... made from (seed, target, k) and
 * says "start k" before each one. The parent counts:
 *   - a crash: an exception (the child says so), or the child dying (a signal, from the addon);
 *   - a hang: no word from the child for HANG_MS;
 *   - a mismatch: the addon and the wasm build scanned the same bytes differently.
 * Each failing input is saved under test/fuzz-regressions/, where test/core/fuzzRegressions.test.ts
 * replays it in every `npm test`. The run closes with "N inputs, N crashes, N hangs" and exits 1 when
 * anything failed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { type FuzzTarget, fuzzTargets, makeInput, runInput } from '../test/fuzzTargets';

const repo = join(__dirname, '..');
const regressions = join(repo, 'test/fuzz-regressions');
const HANG_MS = 10_000;

interface Tally {
  inputs: number;
  crashes: number;
  hangs: number;
  mismatches: number;
}

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

/** Saves a failing input where the regression test finds it; the name is its hash, so a case is saved once. */
function save(target: FuzzTarget, kind: string, input: Buffer): string {
  mkdirSync(regressions, { recursive: true });
  const name = `${target}-${kind}-${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`;
  writeFileSync(join(regressions, name), input);
  return relative(repo, join(regressions, name));
}

/** Runs inputs [from, to) of one target in a child, restarting it past an input that killed or hung it. */
async function runTarget(target: FuzzTarget, seed: number, count: number, tally: Tally): Promise<void> {
  let next = 0;
  while (next < count) {
    next = await new Promise<number>((resolve) => {
      const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', __filename, '--child', target, String(seed), String(next), String(count)], {
        cwd: repo,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let current = next;
      let timer: NodeJS.Timeout | undefined;
      let hung = false;
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          hung = true;
          child.kill('SIGKILL');
        }, HANG_MS);
      };
      arm();
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        arm();
        const [word, k, ...rest] = line.split(' ');
        if (word === 'start') {
          current = Number(k);
          tally.inputs++;
        } else if (word === 'crash' || word === 'mismatch') {
          const path = save(target, word, makeInput(target, seed, Number(k)));
          if (word === 'crash') tally.crashes++;
          else tally.mismatches++;
          console.log(`fuzz: ${target} input ${k}: ${word}: ${rest.join(' ').slice(0, 300)} (saved as ${path})`);
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) return resolve(count);
        const path = save(target, hung ? 'hang' : 'crash', makeInput(target, seed, current));
        if (hung) tally.hangs++;
        else tally.crashes++;
        console.log(`fuzz: ${target} input ${current}: ${hung ? `no answer in ${HANG_MS} ms` : `the process died (${signal ?? `exit ${code}`})`} (saved as ${path})`);
        resolve(current + 1);
      });
    });
  }
}

/** The child: inputs [from, to) of one target, one line of news each. */
async function child(target: FuzzTarget, seed: number, from: number, to: number): Promise<void> {
  const out: string[] = [];
  const flush = (): void => {
    if (out.length) process.stdout.write(`${out.join('\n')}\n`);
    out.length = 0;
  };
  for (let k = from; k < to; k++) {
    // the parent must know the input before it runs, in case it never returns
    out.push(`start ${k}`);
    flush();
    try {
      const problem = await runInput(target, makeInput(target, seed, k));
      if (problem) out.push(`mismatch ${k} ${problem.replace(/\n/g, ' ')}`);
    } catch (e) {
      out.push(`crash ${k} ${((e as Error).stack ?? String(e)).replace(/\n/g, ' | ')}`);
    }
  }
  flush();
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3] as FuzzTarget, Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6]));
  const total = Number(arg('--inputs', '100000'));
  const seed = Number(arg('--seed', String(Date.now() % 1_000_000)));
  const only = arg('--only', '');
  const targets = fuzzTargets.filter((t) => !only || t.name === only);
  const share = targets.reduce((n, t) => n + t.weight, 0);
  const tally: Tally = { inputs: 0, crashes: 0, hangs: 0, mismatches: 0 };
  mkdirSync(regressions, { recursive: true });
  const before = new Set(readdirSync(regressions).filter((f) => f.endsWith('.bin')));
  console.log(`fuzz: seed ${seed}, ${total} inputs over ${targets.map((t) => t.name).join(', ')}`);
  const t0 = performance.now();
  for (const t of targets) {
    const n = Math.ceil((total * t.weight) / share);
    const at = tally.inputs;
    const t1 = performance.now();
    await runTarget(t.name, seed, n, tally);
    console.log(`fuzz: ${t.name}: ${tally.inputs - at} inputs in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  }
  const saved = readdirSync(regressions).filter((f) => f.endsWith('.bin') && !before.has(f)).length;
  console.log(`fuzz: ${((performance.now() - t0) / 1000).toFixed(1)} s, ${saved} new regression cases in ${relative(repo, regressions)}/`);
  console.log(`${tally.inputs} inputs, ${tally.crashes} crashes, ${tally.hangs} hangs${tally.mismatches ? `, ${tally.mismatches} mismatches` : ''}`);
  if (tally.crashes || tally.hangs || tally.mismatches) process.exitCode = 1;
}

// a regression case can be run alone: node --import tsx scripts/fuzz.ts --replay FILE
if (process.argv[2] === '--replay') {
  const file = process.argv[3]!;
  const target = file.split('/').pop()!.split('-')[0] as FuzzTarget;
  void runInput(target, readFileSync(file)).then((p) => console.log(p ?? 'ok'));
} else void main();

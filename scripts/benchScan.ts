/**
 * Single-file scans, as the editor runs one on every edit: the wasm build (what the editor uses), the
 * addon (whole-tree scans), and the JavaScript scanner the wasm build replaced (lexer.ts, read from the
 * commit before its removal, when the clone has it), in rounds that run each once. Prints one JSON line.
 *   benchScan TREE OLD_LEXER_MODULE|-
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportMacros } from '../src/core/exportMacros';
import { Interner } from '../src/core/scan/interner';
import { nativeAddon, NativeScanner } from '../src/core/scan/nativeScanner';
import { newScanner, scanBuffer } from '../src/core/scan/scanFile';

const [tree, oldLexer] = process.argv.slice(2) as [string, string];
const FILES = ['mm/hmm.c', 'kernel/sched/core.c', 'include/linux/mm.h', 'arch/x86/entry/entry_64.S'];
const RUNS = 201;
const WARM = 50;

/** Medians of the scanners' times, each round running each once, in turn: noise from the machine falls on all alike. */
function medians(fs: Record<string, () => void>): Record<string, number> {
  const names = Object.keys(fs);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let k = 0; k < WARM + RUNS; k++)
    for (const n of names) {
      const s = performance.now();
      fs[n]!();
      if (k >= WARM) times[n]!.push(performance.now() - s);
    }
  return Object.fromEntries(names.map((n) => [n, +times[n]!.sort((a, b) => a - b)[RUNS >> 1]!.toFixed(3)]));
}

interface OldScanner {
  scan(buf: Uint8Array, opts: { kind: number; proxies: boolean; keepDefs?: boolean }): { uses: Uint32Array };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const old: { Scanner: new (i: Interner, names: string[]) => OldScanner } | undefined = oldLexer !== '-' ? require(oldLexer) : undefined;
const addon = nativeAddon();
const out: Record<string, unknown> = {};
for (const path of FILES) {
  const buf = readFileSync(join(tree, path));
  const wasm = newScanner(new Interner());
  const fs: Record<string, () => void> = { wasm: () => scanBuffer(wasm, path, buf, undefined, true) };
  if (addon) {
    const native = new NativeScanner(addon);
    fs.addonWithRead = () => native.scan(tree, [path], 64 << 20, undefined, true);
  }
  if (old) {
    const js = new old.Scanner(new Interner(), [...exportMacros.keys()]);
    // lexer.ts's own options: kind 0 C, 1 a header, 2 assembly; proxies in headers outside tools/ and scripts/
    const kind = path.endsWith('.h') ? 1 : path.endsWith('.S') ? 2 : 0;
    fs.js = () => js.scan(buf, { kind, proxies: kind === 1 && !path.startsWith('tools/') && !path.startsWith('scripts/'), keepDefs: true });
  }
  out[path] = { bytes: buf.length, ...medians(fs) };
}
console.log(JSON.stringify(out));

/**
 * The scanner's two builds, the Node addon and the WebAssembly, over every source file of a tree: the
 * same uses (by name, line and context), proxies, skips and structured parts, file for file.
 *   npm run scanners-agree            linux-6.1 from ../shared/tools/get-kernel.sh
 *   node --import tsx scripts/scannersAgree.ts TREE
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { nativeAddon, NativeScanner } from '../src/core/scan/nativeScanner';
import { walkTree } from '../src/core/scan/walk';
import { WasmScanner } from '../src/core/scan/wasmScanner';
import { type NativeBatch, proxyRecords } from '../src/core/scan/wire';

const tree = process.argv[2] ?? execFileSync(resolve(__dirname, '../../shared/tools/get-kernel.sh'), ['6.1'], { encoding: 'utf8' }).trim();
const addon = nativeAddon();
if (!addon) throw new Error('the addon is not built here: npm run build with g++ and Node headers');
const paths = walkTree(tree).sources.sort();
const native = new NativeScanner(addon, 1 << 18);
const wasm = new WasmScanner(1 << 18);
const CHUNK = 256;

/** A batch's files as text that does not depend on either build's name numbers. */
function shapes(batch: NativeBatch, names: string[]): string[] {
  if (batch.fresh) names.length = 0;
  let at = 0;
  for (const len of batch.nameLens) {
    names.push(Buffer.from(batch.names.subarray(at, at + len)).toString('latin1'));
    at += len;
  }
  return batch.files.map((f) => {
    if (!f.scan) return JSON.stringify([f.size, f.stamp, f.skipped]);
    const { uses, proxies: _proxies, ...rest } = f.scan;
    const u: string[] = [];
    for (let k = 0; k < uses.length; k += 3) u.push(`${names[uses[k]!]}:${uses[k + 1]}:${uses[k + 2]}`);
    return JSON.stringify([f.size, f.stamp, rest, u, proxyRecords(f.scan, (id) => names[id]!)]);
  });
}

const nNames: string[] = [];
const wNames: string[] = [];
let differ = 0;
let skipped = 0;
let nMs = 0;
let wMs = 0;
for (let k = 0; k < paths.length; k += CHUNK) {
  const chunk = paths.slice(k, k + CHUNK);
  let t = performance.now();
  const n = native.scan(tree, chunk, 64 << 20);
  nMs += performance.now() - t;
  t = performance.now();
  const w = wasm.scan(tree, chunk, 64 << 20);
  wMs += performance.now() - t;
  const a = shapes(n, nNames);
  const b = shapes(w, wNames);
  chunk.forEach((p, j) => {
    if (n.files[j]!.skipped) skipped++;
    if (a[j] !== b[j]) {
      if (differ++ < 10) console.log(`differs: ${p}\n  addon ${a[j]!.slice(0, 300)}\n  wasm  ${b[j]!.slice(0, 300)}`);
    }
  });
}
console.log(`${paths.length} files of ${tree} (${skipped} skipped by both as binary, too large or unreadable): ${paths.length - differ} the same, ${differ} differ`);
console.log(`one thread each: addon ${(nMs / 1000).toFixed(2)} s, wasm ${(wMs / 1000).toFixed(2)} s (${(wMs / nMs).toFixed(2)}x)`);
process.exit(differ ? 1 : 0);

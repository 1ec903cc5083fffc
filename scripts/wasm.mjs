// Builds the scanner's WebAssembly (src/scanner/wasm/wasm.cc, the same rules as the addon) with
// Debian's clang-14, lld-14, wasi-libc and libc++-14-dev-wasm32. The build is committed
// (src/scanner/wasm/kexports-scanner.wasm), so that a machine without those compilers still runs every
// scan, with a stamp of the sources it was built from beside it:
//   node scripts/wasm.mjs           rebuilds the committed copy when the sources changed, then copies
//                                   it into dist/ (npm run build does this);
//   node scripts/wasm.mjs --check   rebuilds into a temporary file and fails unless it equals the
//                                   committed copy byte for byte (CI, where .ci/run installs clang).
// A test (test/core/wasmScanner.test.ts) fails when the stamp does not match the sources, so a
// change to the rules cannot land without its build, on a machine without clang too.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scannerSources } from './native.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const scanner = join(repo, 'src/scanner');
export const WASM = join(scanner, 'wasm/kexports-scanner.wasm');
export const STAMP = `${WASM}.sources`;
const DIST = join(repo, 'dist/kexports-scanner.wasm');

const CXX = process.env.KEXPORTS_WASM_CXX || 'clang++-14';
// Relative paths only, from src/scanner/wasm: nothing in the output depends on where the clone is.
const FLAGS = ['--target=wasm32-wasi', '-O2', '-std=c++17', '-fno-exceptions', '-fno-rtti', '-msimd128', '-DNDEBUG', '-mexec-model=reactor', '-Wall', '-Werror', '-Wl,--strip-all'];

/** SHA-256 of the sources, names and bytes. */
export function sourceHash() {
  const h = createHash('sha256');
  for (const f of scannerSources('node'))
    h.update(`${relative(scanner, f)}\0`)
      .update(readFileSync(f))
      .update('\0');
  return h.digest('hex');
}

export function stampMatches() {
  return existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === sourceHash();
}

function haveCompiler() {
  try {
    execFileSync(CXX, ['--version'], { stdio: 'ignore' });
    return existsSync('/usr/lib/wasm32-wasi/libc++.a') || !!process.env.KEXPORTS_WASM_CXX;
  } catch {
    return false;
  }
}

function compile(out) {
  execFileSync(CXX, [...FLAGS, '-o', out, 'wasm.cc'], { cwd: join(scanner, 'wasm'), stdio: ['ignore', 'inherit', 'inherit'] });
}

/** Rebuilds the committed wasm if its sources changed and clang is here; copies it into dist/. */
export function buildWasm({ log = console.warn } = {}) {
  if (!stampMatches()) {
    if (haveCompiler()) {
      const tmp = `${WASM}.${process.pid}.tmp`;
      try {
        compile(tmp);
        renameSync(tmp, WASM);
        writeFileSync(STAMP, `${sourceHash()}\n`);
      } finally {
        rmSync(tmp, { force: true });
      }
    } else {
      log(
        `kexports: src/scanner changed since ${relative(repo, WASM)} was built, and ${CXX} with wasi-libc is not here to rebuild it (apt-get install clang-14 lld-14 wasi-libc libc++-14-dev-wasm32 libc++abi-14-dev-wasm32 libclang-rt-14-dev-wasm32)`,
      );
    }
  }
  mkdirSync(dirname(DIST), { recursive: true });
  copyFileSync(WASM, DIST);
}

/** Rebuilds into a temporary file: true when it equals the committed build byte for byte. */
export function checkWasm() {
  if (!haveCompiler()) {
    console.log(`wasm: ${CXX} with wasi-libc is not installed: the byte-for-byte check of ${relative(repo, WASM)} is skipped (.ci/run installs them)`);
    return true;
  }
  const tmp = join(tmpdir(), `kexports-scanner.${process.pid}.wasm`);
  try {
    compile(tmp);
    const same = readFileSync(tmp).equals(readFileSync(WASM));
    if (!stampMatches()) console.error(`wasm: ${relative(repo, STAMP)} does not match the sources: run node scripts/wasm.mjs and commit both files`);
    else if (!same) console.error(`wasm: a rebuild of src/scanner differs from the committed ${relative(repo, WASM)}: run node scripts/wasm.mjs and commit it`);
    else console.log(`wasm: ${relative(repo, WASM)} equals a rebuild of its sources byte for byte`);
    return same && stampMatches();
  } finally {
    rmSync(tmp, { force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) process.exit(checkWasm() ? 0 : 1);
  buildWasm();
}

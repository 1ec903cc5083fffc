// Builds the scanner (src/scanner) as a Node-API addon, dist/kexports-scanner.node, with the machine's
// C++ compiler and Node's own headers. Without either, the build goes on: kexports then scans with the
// WebAssembly build of the same source (scripts/wasm.mjs), slower on a whole tree. Rebuilt only when
// a source is newer.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = join(repo, 'src/scanner');
const source = join(sources, 'node/addon.cc');
const out = join(repo, 'dist/kexports-scanner.node');

/**
 * The scanner's sources (.h and .cc under src/scanner), sorted, but for the folder of the other
 * build: 'wasm' for the addon, 'node' for the WebAssembly build.
 */
export function scannerSources(skip, dir = sources) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== skip) out.push(...scannerSources(skip, p));
    } else if (/\.(h|cc)$/.test(e.name)) out.push(p);
  }
  return out;
}

function headers() {
  const dirs = [process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include/node'), join(dirname(process.execPath), '..', 'include', 'node')];
  return dirs.find((d) => d && existsSync(join(d, 'node_api.h')));
}

export function buildNative({ force = false, log = console.warn } = {}) {
  if (process.env.KEXPORTS_SCANNER === 'wasm') return false;
  if (!force && existsSync(out) && statSync(out).mtimeMs >= Math.max(...scannerSources('wasm').map((f) => statSync(f).mtimeMs))) return true;
  const include = headers();
  if (!include) {
    log(`kexports: no node_api.h beside ${process.execPath}: the native scanner is not built; scans use the scanner's WebAssembly build`);
    return false;
  }
  const cxx = process.env.CXX || 'g++';
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    execFileSync(cxx, ['-std=c++17', '-O2', '-fPIC', '-shared', '-fvisibility=hidden', '-Wall', `-I${include}`, source, '-ldl', '-o', tmp], { stdio: ['ignore', 'inherit', 'inherit'] });
    renameSync(tmp, out);
    return true;
  } catch (e) {
    rmSync(tmp, { force: true });
    // An addon from an older source must not stay behind, built from code that no longer compiles.
    rmSync(out, { force: true });
    log(`kexports: ${cxx} could not build the native scanner (${e.message.split('\n')[0]}); scans use the scanner's WebAssembly build`);
    return false;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildNative({ force: process.argv.includes('--force') });

// One bundle per entry: the extension, the language server, the CLI, the scan worker and the build
// model's worker; the scanner's WebAssembly build beside them; and its native addon, where this
// machine can compile it.
import { build } from 'esbuild';
import { buildNative } from './scripts/native.mjs';
import { buildWasm } from './scripts/wasm.mjs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
};

await Promise.all([
  build({ ...common, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist', external: ['vscode'] }),
  build({ ...common, entryPoints: { server: 'src/server/main.ts' }, outdir: 'dist' }),
  build({ ...common, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } }),
  build({ ...common, entryPoints: { scanWorker: 'src/core/scan/scanWorker.ts' }, outdir: 'dist' }),
  build({ ...common, entryPoints: { modelWorker: 'src/core/build/modelWorker.ts' }, outdir: 'dist' }),
]);
buildWasm();
buildNative();

// npm run package: bundle with esbuild, then build the .vsix with @vscode/vsce under Node 24 (vsce needs
// Node 22 or newer; the project itself runs on Node 20). Prints the .vsix path and size.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNode24 } from './toolchain.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, ['esbuild.mjs'], { cwd: repo, stdio: 'inherit' });
const out = process.argv[2] ? resolve(process.argv[2]) : join(repo, 'kexports.vsix');
const node = ensureNode24();
execFileSync(node.node, [join(repo, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--out', out], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
console.log(`${out} ${(statSync(out).size / 1024).toFixed(0)} KiB`);

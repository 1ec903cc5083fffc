// Compares `kexports exports --format json` on a kernel tree with the Module.symvers Debian built from
// the same version: how many exports match in license and namespace, and why the rest do not; and,
// for every export Debian built into a module, whether the build model puts the exporting file there.
//   npm run accuracy                  linux-6.12 and its Module.symvers, from ../shared/tools/get-kernel.sh
//   node scripts/accuracy.mjs TREE SYMVERS
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const getKernel = resolve(repo, '../shared/tools/get-kernel.sh');
const [tree, symvers] =
  process.argv.length >= 4 ? process.argv.slice(2, 4) : [execFileSync(getKernel, ['6.12'], { encoding: 'utf8' }).trim(), execFileSync(getKernel, ['--symvers', '6.12'], { encoding: 'utf8' }).trim()];
if (!existsSync(join(repo, 'dist/cli.js'))) execFileSync('node', ['esbuild.mjs'], { cwd: repo, stdio: 'inherit' });

const run = spawnSync(process.execPath, [join(repo, 'dist/cli.js'), 'exports', '--tree', tree, '--format', 'json', '--no-cache'], { encoding: 'utf8', maxBuffer: 1 << 30 });
if (run.status !== 0) throw new Error(run.stderr);
const found = JSON.parse(run.stdout);

// symbol -> [{type, namespace, file, line, macro}]
const ours = new Map();
for (const e of found.exports) {
  for (const s of e.symbols) {
    const list = ours.get(s) ?? [];
    list.push(e);
    ours.set(s, list);
  }
}

const rows = readFileSync(symvers, 'utf8')
  .trim()
  .split('\n')
  .map((l) => l.split('\t'));
const result = { total: rows.length, same: 0, byConfig: 0, licenseDiffers: 0, namespaceDiffers: 0, missing: 0 };
const byConfig = [];
const missing = [];
const differs = [];
for (const [, sym, mod, type, ns = ''] of rows) {
  const cands = ours.get(sym);
  if (!cands) {
    result.missing++;
    missing.push({ sym, mod, type, ns });
    continue;
  }
  const exact = cands.find((c) => c.type === type && (c.namespace ?? '') === ns);
  if (exact) {
    result.same++;
    continue;
  }
  // The build's config chose another definition of the export's wrapper, which kexports reports beside the first.
  const other = cands.find((c) => (c.byConfig ?? []).some((v) => v.type === type && (v.namespace ?? '') === ns));
  if (other) {
    result.byConfig++;
    byConfig.push({
      sym,
      mod,
      type,
      ns,
      ours: `${other.type} ${other.namespace ?? '-'} ${other.file}:${other.line}, other configs: ${other.byConfig.map((v) => `${v.type} ${v.namespace ?? '-'} by ${v.file}:${v.line}`).join('; ')}`,
    });
    continue;
  }
  if (!cands.some((c) => c.type === type)) result.licenseDiffers++;
  else result.namespaceDiffers++;
  differs.push({ sym, mod, type, ns, ours: cands.map((c) => `${c.type} ${c.namespace ?? '-'} ${c.file}:${c.line}`) });
}

console.log(`tree ${tree}\nsymvers ${symvers}`);
console.log(`${result.total} exports in Module.symvers; kexports found ${found.exports.length} export calls (every arch and config)`);
// Rounded down: 26,771 of 26,772 is not 100.00%.
console.log(`  same license and namespace: ${result.same} (${(Math.floor((10000 * result.same) / result.total) / 100).toFixed(2)}%)`);
console.log(`  found, as in other configs:  ${result.byConfig} (the license and namespace of another definition of the export's wrapper)`);
console.log(`  found, other license:        ${result.licenseDiffers}`);
console.log(`  found, other namespace:      ${result.namespaceDiffers}`);
console.log(`  missing:                     ${result.missing}`);
const byModule = new Map();
for (const m of missing) byModule.set(m.mod, (byModule.get(m.mod) ?? 0) + 1);
console.log('\nmissing, by module:');
for (const [mod, n] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${String(n).padStart(5)}  ${mod}`);
console.log('\nmissing, first 60:');
for (const m of missing.slice(0, 60)) console.log(`  ${m.sym}\t${m.mod}\t${m.type}\t${m.ns}`);
console.log('\nas in other configs:');
for (const d of byConfig) console.log(`  ${d.sym}\t${d.mod}\t${d.type} ${d.ns || '-'}\tours: ${d.ours}`);
console.log('\ndiffering, first 40:');
for (const d of differs.slice(0, 40)) console.log(`  ${d.sym}\t${d.mod}\t${d.type} ${d.ns || '-'}\tours: ${d.ours.join(' | ')}`);
if (found.unresolved.length) {
  console.log(`\nunresolved export calls: ${found.unresolved.length}`);
  for (const u of found.unresolved.slice(0, 30)) console.log(`  ${u.file}:${u.line}: ${u.reason}`);
}

// The build model: every row whose module is not vmlinux names the .ko Debian's build linked the
// export into. kexports' modules for the exporting file (every arch and config) must include it.
const modRows = rows.filter(([, , mod]) => mod !== 'vmlinux');
let modSame = 0;
const modMissing = [];
const modNoModel = [];
for (const [, sym, mod] of modRows) {
  const cands = ours.get(sym) ?? [];
  if (cands.length === 0) continue; // counted under "missing" above
  if (cands.some((c) => (c.modules ?? []).includes(mod))) modSame++;
  else if (cands.every((c) => c.modules === undefined)) modNoModel.push(sym);
  else modMissing.push({ sym, mod, ours: cands.map((c) => `${c.file}: ${(c.modules ?? []).join(', ') || '(no module)'}`) });
}
const found_ = modRows.length - modRows.filter(([, sym]) => !ours.has(sym)).length;
console.log(`\nmodules (the build model): ${modRows.length} Module.symvers rows name a module other than vmlinux; ${found_} of their exports found`);
console.log(`  the exporting file's modules include it: ${modSame} of ${found_} (${(Math.floor((10000 * modSame) / Math.max(1, found_)) / 100).toFixed(2)}%)`);
if (modNoModel.length) console.log(`  no build model answer (no Kconfig?): ${modNoModel.length}`);
console.log(`  other modules: ${modMissing.length}`);
for (const m of modMissing.slice(0, 40)) console.log(`  ${m.sym}\t${m.mod}\tours: ${m.ours.join(' | ')}`);
if (found.buildModelNotUnderstood) {
  console.log(`\nconstructs the build model did not understand: ${found.buildModelNotUnderstood.length}`);
  const byWhat = new Map();
  for (const u of found.buildModelNotUnderstood) byWhat.set(u.what.replace(/\S*\$\(.*$/, '$(...)').slice(0, 60), (byWhat.get(u.what.replace(/\S*\$\(.*$/, '$(...)').slice(0, 60)) ?? 0) + 1);
  for (const [w, n] of [...byWhat].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${String(n).padStart(4)}  ${w}`);
}

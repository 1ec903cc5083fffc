/**
 * `npm run maintainers-check [-- TREE...]`: kexports' maintainers and lists for a fixed sample of files,
 * against the tree's own `perl scripts/get_maintainer.pl --no-git --no-git-fallback --no-rolestats -f
 * FILE`, run from the tree. Prints the agreement and every difference. Default trees: linux-6.1 and
 * linux-6.12 from ../shared/tools/get-kernel.sh.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readMaintainers, responsibleFor } from '../src/core/maintainers/maintainers';
import { walkTree } from '../src/core/scan/walk';

const run = promisify(execFile);
const SAMPLE = Number(process.env.KEXPORTS_MAINTAINERS_SAMPLE ?? 300);

async function check(tree: string): Promise<{ same: number; files: number }> {
  const m = readMaintainers(tree);
  if (!m) throw new Error(`${tree}: no MAINTAINERS`);
  // linux-6.1's script matches K: keywords in the file's text by default; later ones only with --keywords-in-file
  const scriptText = readFileSync(join(tree, 'scripts/get_maintainer.pl'), 'latin1');
  const keywordsInFile = !scriptText.includes('keywords-in-file');
  const all = walkTree(tree).sources;
  // a fixed sample spread over the tree: every k-th source file in path order
  const step = Math.max(1, Math.floor(all.length / SAMPLE));
  const files = all.filter((_, k) => k % step === 0).slice(0, SAMPLE);
  let same = 0;
  const diffs: string[] = [];
  const varied: string[] = [];
  const queue = [...files];
  // Sections of equal rank come in perl's hash order, random per process: where one person has two
  // addresses in two such sections (osunixmap.c: ACPI and ACPICA), the script's answer varies from
  // run to run. A mismatch is asked again under fixed hash seeds, and any answer the script gives counts.
  const script = async (f: string, seed?: number): Promise<string[]> => {
    const env = seed === undefined ? process.env : { ...process.env, PERL_HASH_SEED: String(seed), PERL_PERTURB_KEYS: '0' };
    const { stdout } = await run('perl', ['scripts/get_maintainer.pl', '--no-git', '--no-git-fallback', '--no-rolestats', '-f', f], { cwd: tree, encoding: 'latin1', maxBuffer: 1 << 24, env });
    return stdout.split('\n').filter(Boolean).sort();
  };
  const worker = async (): Promise<void> => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      let theirs = await script(f);
      const r = responsibleFor(m, f, keywordsInFile ? readFileSync(join(tree, f), 'latin1') : undefined);
      const ours = [...r.people.map((p) => p.email), ...r.lists.map((l) => l.address)].sort();
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        for (let seed = 0; seed < 16; seed++) {
          const again = await script(f, seed);
          if (JSON.stringify(ours) === JSON.stringify(again)) {
            varied.push(f);
            theirs = again;
            break;
          }
        }
      }
      if (JSON.stringify(ours) === JSON.stringify(theirs)) same++;
      else {
        const only = (a: string[], b: string[]): string[] => a.filter((x) => !b.includes(x));
        diffs.push(`  ${f}: only get_maintainer.pl: ${JSON.stringify(only(theirs, ours))}; only kexports: ${JSON.stringify(only(ours, theirs))}`);
      }
    }
  };
  await Promise.all([worker(), worker()]);
  console.log(
    `${tree}: ${same} of ${files.length} files give the same maintainers and lists (${((100 * same) / files.length).toFixed(1)}%; K: keywords in the file's text ${keywordsInFile ? 'on' : 'off'}, as this tree's script has them)`,
  );
  for (const d of diffs.sort()) console.log(Buffer.from(d, 'latin1').toString('utf8'));
  if (varied.length)
    console.log(`  of those, the script's own answer varies from run to run (sections of equal rank in perl's hash order), and kexports gives one of its answers: ${varied.sort().join(', ')}`);
  return { same, files: files.length };
}

(async () => {
  const getKernel = resolve(__dirname, '../../shared/tools/get-kernel.sh');
  const trees = process.argv.slice(2).length ? process.argv.slice(2) : ['6.1', '6.12'].map((v) => execFileSync(getKernel, [v], { encoding: 'utf8' }).trim());
  let bad = 0;
  for (const t of trees) {
    const r = await check(t);
    bad += r.files - r.same;
  }
  process.exitCode = bad ? 1 : 0;
})();

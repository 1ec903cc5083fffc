import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { codeAnchor } from '../../src/core/findings/docs';
import { findingCodes } from '../../src/core/findings/findings';
import { reviewCodes } from '../../src/core/review/analyze';
import { defaults, parseSettings } from '../../src/protocol/settings';
import { repoRoot } from '../helpers';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('layering', () => {
  it('keeps src/core free of vscode and LSP imports', () => {
    for (const f of filesUnder(join(repoRoot, 'src/core'))) {
      const text = readFileSync(f, 'utf8');
      assert.doesNotMatch(text, /from ['"](vscode|vscode-languageserver[^'"]*|vscode-languageclient[^'"]*)['"]/, f);
    }
  });

  it('has no import cycles, type-only imports included', () => {
    // every relative import of src/, as a graph of files; a strongly connected part of more than one is a cycle
    const src = join(repoRoot, 'src');
    const files = filesUnder(src).filter((f) => f.endsWith('.ts'));
    const edges = new Map<string, string[]>();
    for (const f of files) {
      const targets: string[] = [];
      for (const m of readFileSync(f, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) {
        const t = join(f, '..', m[1]!);
        targets.push(files.includes(`${t}.ts`) ? `${t}.ts` : join(t, 'index.ts'));
      }
      edges.set(f, targets);
    }
    const order = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const cycles: string[] = [];
    const visit = (v: string): void => {
      order.set(v, order.size);
      low.set(v, order.get(v)!);
      stack.push(v);
      for (const w of edges.get(v) ?? []) {
        if (!edges.has(w)) continue;
        if (!order.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
      }
      if (low.get(v) !== order.get(v)) return;
      const part = stack.splice(stack.indexOf(v));
      if (part.length > 1) cycles.push(part.map((p) => p.slice(src.length + 1)).join(' -> '));
    };
    for (const f of files) if (!order.has(f)) visit(f);
    assert.deepEqual(cycles, []);
  });

  it('keeps every source, test and script file under about 600 lines', () => {
    // what a newcomer reads whole; the generated and committed data (fixtures, fuzz cases, the wasm) aside
    const code = ['src', 'test', 'scripts'].flatMap((d) => filesUnder(join(repoRoot, d))).filter((f) => /\.(ts|mjs|h|cc)$/.test(f) && !/\/(fixtures|fuzz-regressions)\//.test(f));
    assert.ok(code.length > 100, `${code.length} files`);
    const long = code.map((f) => [f.slice(repoRoot.length + 1), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 620);
    assert.deepEqual(long, []);
  });

  it('keeps the client from importing server code, and the server from importing vscode', () => {
    for (const f of filesUnder(join(repoRoot, 'src/client'))) assert.doesNotMatch(readFileSync(f, 'utf8'), /from ['"]\.\.\/server\//, f);
    for (const f of filesUnder(join(repoRoot, 'src/server'))) assert.doesNotMatch(readFileSync(f, 'utf8'), /from ['"](vscode|vscode-languageclient[^'"]*)['"]/, f);
  });
});

describe('settings', () => {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const props = manifest.contributes.configuration.properties as Record<string, { default: unknown }>;

  it('declares in package.json exactly the settings the code reads, with the same defaults', () => {
    assert.deepEqual(
      Object.keys(props).sort(),
      Object.keys(defaults)
        .map((k) => `kexports.${k}`)
        .sort(),
    );
    for (const [key, value] of Object.entries(defaults)) assert.deepEqual(props[`kexports.${key}`]!.default, value, key);
  });

  it('falls back to defaults with one warning per malformed setting', () => {
    const { settings, warnings } = parseSettings({ gplOnlyPaths: 'mm/hmm.c', exclude: ['drivers/staging/**'], severity: { NO_CONSUMER: 'off', BOGUS: 'error' }, colour: 1 });
    assert.deepEqual(settings.gplOnlyPaths, defaults.gplOnlyPaths);
    assert.deepEqual(settings.exclude, ['drivers/staging/**']);
    assert.equal(settings.severity.NO_CONSUMER, 'off');
    assert.deepEqual(warnings, [
      'kexports.gplOnlyPaths: expected a list of path globs; using the default',
      'kexports.severity.BOGUS: no such finding code',
      'kexports.colour: unknown setting, ignored',
    ]);
    assert.deepEqual(parseSettings('nonsense').warnings, ['kexports settings: expected an object; using the defaults']);
  });
});

describe('documentation', () => {
  it('has a README section for every code the Problems panel and the reports link to', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    // GitHub's heading slugs: lower case, punctuation but - and _ dropped, spaces to -
    const anchors = new Set(
      [...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const code of [...findingCodes, ...reviewCodes]) {
      const anchor = codeAnchor(code).replace(/.*#/, '');
      assert.ok(anchors.has(anchor), `${code} links to #${anchor}, which the README lacks`);
    }
    for (const code of reviewCodes) assert.match(readme, new RegExp(`\\| \`${code}\` \\|`), `${code} is in the review table`);
  });
});

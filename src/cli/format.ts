/** CLI output: checkpatch-style text, JSON, and SARIF 2.1.0. */
import { join } from 'node:path';
import { classOrder } from '../core/index/classify';
import { codeAnchor, README_URL } from '../core/findings/docs';
import { licenseWords } from '../core/exportMacros';
import type { Finding } from '../core/findings/findings';
import { type BuildAnswers, groupByModule } from '../core/build/answers';
import type { Consumer, Export, KernelIndex } from '../core/index/index';
import { readRegularText } from '../core/util/regularFile';
import { DEFAULT_MAX_FILE_BYTES } from '../core/scan/scanFile';
import { grown } from '../core/util/typed';
import { PerFile } from './perFile';

const severityWord = { error: 'ERROR', warning: 'WARNING', info: 'INFO', hint: 'HINT' } as const;

/** One finding as checkpatch prints one with --show-types. */
export function findingText(index: KernelIndex, f: Finding): string {
  const src = sourceLine(index, f.file, f.line);
  return `${severityWord[f.severity]}:${f.code}: ${f.message}\n#${f.line}: FILE: ${f.file}:${f.line}:\n${src === undefined ? '' : `+${src}\n`}`;
}

const lineCache = new Map<string, string[]>();
function sourceLine(index: KernelIndex, file: string, line: number): string | undefined {
  let lines = lineCache.get(file);
  if (!lines) {
    try {
      lines = readRegularText(join(index.root, file), { maxBytes: DEFAULT_MAX_FILE_BYTES }).split('\n');
    } catch {
      return undefined;
    }
    lineCache.set(file, lines);
  }
  return lines[line - 1];
}

export function exportLine(e: Export): string {
  const ns = e.namespace ? `  namespace ${e.namespace}` : '';
  const via = e.wrapper ? `  via ${e.wrapper}()` : '';
  const from = e.includedFrom ? `  through the #include of ${e.includedFrom.file}:${e.includedFrom.line}` : '';
  const printed = e.generated ? '  printed into a file generated at build time' : '';
  return `${e.file}:${e.line}: ${e.name}  ${e.macro}  ${licenseWords(e.type)}${ns}${via}${from}${printed}${configWords(e, '  ')}`;
}

/** `(other configs: namespace CXL by include/linux/fw_table.h:57)`, or '' when the export is the same in every config. */
export function configWords(e: Export, sep: string): string {
  if (!e.byConfig?.length) return '';
  const one = (v: NonNullable<Export['byConfig']>[number]): string =>
    [v.type !== e.type ? licenseWords(v.type) : '', v.namespace !== e.namespace ? (v.namespace ? `namespace ${v.namespace}` : 'no namespace') : ''].filter(Boolean).join(', ') +
    ` by ${v.file}:${v.line}`;
  return `${sep}(other configs: ${e.byConfig.map(one).join('; ')})`;
}

export function consumerLine(c: Consumer): string {
  const via = c.via ? `  via ${c.via.name}${c.via.kind === 'macro' ? '' : '()'} in ${c.via.file}` : '';
  return `  ${c.cls.padEnd(9)} ${c.file}:${c.line}${via}`;
}

export function sortConsumers(list: Consumer[]): Consumer[] {
  return list.sort((a, b) => classOrder.indexOf(a.cls) - classOrder.indexOf(b.cls) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/**
 * An export's consumers, then the files that reach it only through a helper function (helpers.ts).
 * With a build model, the consumers come grouped by the module they are linked into.
 */
export function consumersBlock(e: Export, list: Consumer[], helpers: Consumer[] = [], build?: BuildAnswers): string {
  const kernel = list.filter((c) => c.cls !== 'tools');
  const more = helpers.length ? `; ${helpers.length} more through helper function${helpers.length === 1 ? '' : 's'}` : '';
  const own = build ? `  [${build.label(e.file, e.generated)}]` : '';
  const head = `${e.name} (${e.macro}, ${licenseWords(e.type)}${e.namespace ? `, namespace ${e.namespace}` : ''}${e.generated ? ', generated at build time' : ''}${configWords(e, ' ')}) ${e.file}:${e.line}: ${kernel.length === 0 ? 'no consumer' : `${kernel.length} consumer${kernel.length === 1 ? '' : 's'}`}${more}${own}`;
  if (!build) return [head, ...sortConsumers(list).map(consumerLine), ...sortConsumers(helpers).map(consumerLine)].join('\n');
  const out = [head];
  for (const [label, group] of groupByModule(sortConsumers(list), build)) out.push(`  ${label}:`, ...group.map((c) => `  ${consumerLine(c)}`));
  out.push(...sortConsumers(helpers).map(consumerLine));
  return out.join('\n');
}

/** Where a consumer file goes, for counting: its .ko modules, vmlinux when only built in, or why neither. */
function moduleKeys(file: string, build: BuildAnswers): string[] {
  if (build.built(file)) {
    const kos = build.modules(file).filter((m) => m !== 'vmlinux');
    return kos.length ? kos : ['vmlinux'];
  }
  return [file.endsWith('.h') ? '(headers)' : '(not built)'];
}

/**
 * Per build model, each file's module keys as numbers, and a count per number: a summary of every
 * export of linux-6.1 counts 12 M consumers, and a Map of strings a list (and the keys found again
 * for each) took a third of its time.
 */
interface KeyCounts {
  /** each file's keys (keyIds()) */
  byFile: PerFile<readonly number[]>;
  names: string[];
  /** names[id] as JSON.stringify() quotes it, once asked for */
  quoted: string[];
  ids: Map<string, number>;
  counts: Uint32Array;
  /** nameRanks() */
  rank: Uint32Array;
}
const keyCounts = new WeakMap<BuildAnswers, KeyCounts>();

function keyCountsOf(build: BuildAnswers): KeyCounts {
  let k = keyCounts.get(build);
  if (k) return k;
  const made: KeyCounts = {
    byFile: new PerFile((file) => moduleKeys(file, build).map((m) => keyId(made, m))),
    names: [],
    quoted: [],
    ids: new Map(),
    counts: new Uint32Array(1024),
    rank: new Uint32Array(0),
  };
  keyCounts.set(build, (k = made));
  return k;
}

function keyId(k: KeyCounts, name: string): number {
  let id = k.ids.get(name);
  if (id === undefined) {
    k.ids.set(name, (id = k.names.push(name) - 1));
    if (k.counts.length < k.names.length) k.counts = grown(k.counts, k.names.length, 1024);
  }
  return id;
}

/** An export's consumers counted by class, and with a build model by module (a file counts once for each module it can be linked into). */
function tally(list: readonly Consumer[], build?: BuildAnswers): { byClass: Map<string, number>; byModule?: Map<string, number> } {
  const { byClass, modules } = tallyIds(list, build);
  if (!modules) return { byClass };
  return { byClass, byModule: new Map(modules.ids.map((id, j) => [modules.k.names[id]!, modules.counts[j]!])) };
}

/** Consumers as a function that gives each one's file and class (and the file's number in the index), in order. */
export type ConsumerList = readonly Consumer[] | ((each: (file: string, cls: string, fileIdx?: number) => void) => void);

/** tally() with the modules as numbers: each in the order its first consumer comes, and its count. */
function tallyIds(list: ConsumerList, build?: BuildAnswers): { count: number; byClass: Map<string, number>; modules?: { k: KeyCounts; ids: number[]; counts: number[] } } {
  const each = typeof list === 'function' ? list : (f: (file: string, cls: string, fileIdx?: number) => void): void => list.forEach((c) => f(c.file, c.cls));
  const byClass = new Map<string, number>();
  let count = 0;
  const k = build && keyCountsOf(build);
  const ids: number[] = [];
  each((file, cls, fileIdx) => {
    count++;
    byClass.set(cls, (byClass.get(cls) ?? 0) + 1);
    if (k) for (const id of k.byFile.of(file, fileIdx)) if (k.counts[id]!++ === 0) ids.push(id);
  });
  if (!k) return { count, byClass };
  const counts = ids.map((id) => k.counts[id]!);
  for (const id of ids) k.counts[id] = 0;
  return { count, byClass, modules: { k, ids, counts } };
}

/** Each module number's place in name order. */
function nameRanks(k: KeyCounts): Uint32Array {
  if (k.rank.length !== k.names.length) {
    const order = Array.from(k.names.keys()).sort((a, b) => (k.names[a]! < k.names[b]! ? -1 : 1));
    k.rank = new Uint32Array(k.names.length);
    order.forEach((id, r) => (k.rank[id] = r));
  }
  return k.rank;
}

/** Counts under names, in their order: written as a JSON object by the record writers (records.ts). */
export interface NamedCounts {
  /** each name quoted as JSON.stringify() quotes it */
  quoted: string[];
  counts: number[];
}

/**
 * An export's consumers as counts, for JSON: by class, and with a build model by module, most used
 * first (`byModule`, written after the rest). Helpers given as a function are asked for after the
 * list has been gone over.
 */
export function consumerCounts(list: ConsumerList, helpers: readonly Consumer[] | (() => readonly Consumer[]), build?: BuildAnswers): { counts: Record<string, unknown>; byModule?: NamedCounts } {
  const { count, byClass, modules } = tallyIds(list, build);
  const counts = { consumerCount: count, byClass: Object.fromEntries(byClass), throughHelperCount: (typeof helpers === 'function' ? helpers() : helpers).length };
  if (!modules) return { counts };
  const { k } = modules;
  const rank = nameRanks(k);
  const at = Array.from(modules.ids.keys()).sort((a, b) => modules.counts[b]! - modules.counts[a]! || rank[modules.ids[a]!]! - rank[modules.ids[b]!]!);
  // not an object: thousands of module names as keys of one were a tenth of a summary of every export
  return { counts, byModule: { quoted: at.map((j) => (k.quoted[modules.ids[j]!] ??= JSON.stringify(k.names[modules.ids[j]!]))), counts: at.map((j) => modules.counts[j]!) } };
}

/** One line per export: "hmm_range_fault (EXPORT_SYMBOL_GPL, GPL-only) mm/hmm.c:9: 3 consumers (driver 2, test 1); 2 modules: a, b; built in only: 1". */
export function consumersSummaryLine(e: Export, list: readonly Consumer[], helpers: readonly Consumer[], build?: BuildAnswers): string {
  const { byClass, byModule } = tally(list, build);
  const classes = [...byClass]
    .sort(([a], [b]) => classOrder.indexOf(a as Consumer['cls']) - classOrder.indexOf(b as Consumer['cls']))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  let line = `${e.name} (${e.macro}, ${licenseWords(e.type)}${e.namespace ? `, namespace ${e.namespace}` : ''}) ${e.file}:${e.line}: ${list.length === 0 ? 'no consumer' : `${list.length} consumer${list.length === 1 ? '' : 's'} (${classes})`}`;
  if (helpers.length) line += `; ${helpers.length} more through helper functions`;
  if (byModule && list.length) {
    // a file only built in counts under vmlinux; headers and files no Makefile builds under "(…)"
    const names = [...byModule.keys()].filter((m) => m !== 'vmlinux' && !m.startsWith('(')).sort();
    line += `; ${names.length} module${names.length === 1 ? '' : 's'}${names.length ? `: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}` : ''}; built in only: ${byModule.get('vmlinux') ?? 0}`;
  }
  return line;
}

/** A consumer in JSON, with the modules its file is linked into when the tree has a build model. */
export function consumerJson(c: Consumer, build?: BuildAnswers): Record<string, unknown> {
  if (!build) return { ...c };
  return { ...c, modules: build.modules(c.file), modular: build.modular(c.file) };
}

/** An export in JSON; with a build model, `modules` are the exporting file's. */
export function exportJson(e: Export, build?: BuildAnswers): Record<string, unknown> {
  return {
    name: e.name,
    symbols: e.symbols,
    type: e.type,
    macro: e.macro,
    ...(e.wrapper ? { wrapper: e.wrapper } : {}),
    ...(e.linkerName ? { linkerName: e.linkerName, renamedBy: e.renamedBy } : {}),
    license: licenseWords(e.type),
    namespace: e.namespace ?? null,
    ...(e.modules ? { forModules: e.modules } : {}),
    file: e.file,
    line: e.line,
    ...(e.includedFrom ? { includedFrom: e.includedFrom } : {}),
    ...(e.generated ? { generated: true } : {}),
    ...(e.byConfig ? { byConfig: e.byConfig.map((v) => ({ type: v.type, license: licenseWords(v.type), namespace: v.namespace ?? null, file: v.file, line: v.line })) } : {}),
    definition: e.definition ? { line: e.definition.line, endLine: e.definition.endLine, static: e.definition.isStatic, kind: e.definition.kind } : null,
    ...(build ? { modules: build.modules(e.file, e.generated) } : {}),
  };
}

/** What SARIF needs of a finding; check and review findings both fit. */
export type SarifFinding = Pick<Finding, 'severity' | 'message' | 'file' | 'line' | 'col' | 'endLine' | 'endCol'> & { code: string };

export function sarif(findings: readonly SarifFinding[], version: string): unknown {
  const codes = [...new Set(findings.map((f) => f.code))].sort();
  const level = { error: 'error', warning: 'warning', info: 'note', hint: 'note' } as const;
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'kexports',
            version,
            informationUri: README_URL,
            rules: codes.map((id) => ({ id, helpUri: codeAnchor(id), shortDescription: { text: id.replace(/_/g, ' ').toLowerCase() } })),
          },
        },
        originalUriBaseIds: { SRCROOT: { description: { text: 'the kernel tree' } } },
        results: findings.map((f) => ({
          ruleId: f.code,
          level: level[f.severity],
          message: { text: f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.file, uriBaseId: 'SRCROOT' },
                region: { startLine: f.line, startColumn: f.col + 1, endLine: f.endLine, endColumn: Math.max(f.endCol, f.col) + 1 },
              },
            },
          ],
        })),
      },
    ],
  };
}

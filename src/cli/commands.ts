/** The CLI's commands: argv in, text out, an exit code back. */
import { checkExports, type Finding, type Severity, severityRank, withHistoryFindings } from '../core/findings/findings';
import { flag, format, has, type ParsedArgs, UsageError } from './args';
import { type Io, openContext } from './context';
import { helperConsumers, scanHelpersAhead } from '../core/index/helpers';
import type { Consumer, Export } from '../core/index/index';
import { consumerCounts, consumerJson, consumersBlock, consumersSummaryLine, exportJson, exportLine, findingText, sarif } from './format';
import { historiesFor, historyFindingsFor } from './history';
import { ConsumerItems, jsonArray, jsonLines, listItem, quotedPaths, writeFileLines } from './records';
import { condText } from '../core/build/cond';

import { VERSION } from '../protocol/version';

export { VERSION };

export const usage = `usage: kexports COMMAND [options]

  kexports exports   [--tree DIR] [PATH...]   every export under PATH (default: the whole tree)
  kexports consumers [--tree DIR] SYMBOL...   who uses it, and through which header inline or macro
                                              (SYMBOL - reads symbols from standard input)
  kexports check     [--tree DIR] [PATH...]   findings for the exports defined under PATH
  kexports review    [--tree DIR] [RANGE|FILE|DIR]
                                              what a patch series does to exports: a git range
                                              (default: the branch against its upstream), an mbox,
                                              a .patch/.eml, or a git format-patch folder
  kexports history   [--tree DIR] PATH...     when each export under PATH and its first consumer landed,
                                              in releases and merge windows, from git history
  kexports module    [--tree DIR] FILE...     the modules a file is linked into, and why: the Makefile
                                              line, the Kconfig symbol and its type
  kexports maintainers [--tree DIR] PATH|SYMBOL...
                                              who maintains a file, as scripts/get_maintainer.pl says;
                                              for an export, its maintainers and its consumers', by subsystem
  kexports lsp --stdio                        the language server, for any LSP editor

options:
  --tree DIR            the kernel tree (default: the nearest parent with Kbuild and MAINTAINERS)
  --format FMT          text or json; check also takes sarif; review takes text, json, markdown, sarif, reply, patchwork;
                        history takes text, json, csv; consumers also takes jsonl (JSON Lines, one record a line)
  --summary             consumers: counts by class and module instead of every consumer
  --history             check: add LATE_CONSUMER and NEVER_CONSUMED from git history
  --keywords            maintainers: MAINTAINERS' K: keywords match a file's text too
  --fail-on SEVERITY    check: exit 1 on a finding at or above error|warning|info|hint (default warning), or none
  --config FILE         settings file (default: .kexports.json in the tree, if present)
  --policy GLOB         a GPL-only path glob, instead of the configured ones (repeatable)
  --exclude GLOB        leave paths out of the index (repeatable)
  --no-tests            tests do not count as consumers
  --cache-dir DIR       where the index cache lives (default: $XDG_CACHE_HOME/kexports)
  --no-cache            neither read nor write the cache
  --workers N           scan threads besides the first (default: cores - 1; 0: one thread)
  --max-file-bytes N    skip, and count, files over N bytes; K, M and G suffixes (default: 64M)
`;

export async function runExports(args: ParsedArgs, io: Io): Promise<number> {
  const fmt = format(args, ['text', 'json']);
  const ctx = await openContext(args, io, { paths: true, model: fmt === 'json' });
  const { index, paths } = ctx;
  const list = index.exportsUnder(paths);
  if (fmt === 'json') {
    const build = ctx.build();
    io.out(
      `${JSON.stringify({ tree: index.root, exports: list.map((e) => exportJson(e, build)), unresolved: index.unresolved, skipped: index.stats.skipped, ...(build ? { buildModelNotUnderstood: build.model.unknown } : {}) }, null, 1)}\n`,
    );
  } else {
    for (const e of list) io.out(`${exportLine(e)}\n`);
    io.err(`kexports: ${list.length} export${list.length === 1 ? '' : 's'}\n`);
    const unresolved = index.unresolvedUnder(paths).length;
    if (unresolved) io.err(`kexports: ${unresolved} export call${unresolved === 1 ? '' : 's'} could not be resolved (see UNRESOLVED_EXPORT in check)\n`);
  }
  return 0;
}

export async function runConsumers(args: ParsedArgs, io: Io): Promise<number> {
  const fmt = format(args, ['text', 'json', 'jsonl']);
  const summary = has(args, '--summary');
  let symbols = args.positionals;
  if (symbols.includes('-')) {
    const extra = (io.stdin?.() ?? '').split(/\s+/).filter(Boolean);
    symbols = [...symbols.filter((s) => s !== '-'), ...extra];
  }
  if (symbols.length === 0) throw new UsageError('consumers needs at least one SYMBOL');
  const ctx = await openContext(args, io, { model: true });
  const { index } = ctx;
  const build = ctx.build();
  // Written as it goes, one symbol at a time: tens of thousands of symbols make gigabytes of JSON,
  // more than one string holds, so the whole is never made at once.
  const array = fmt === 'json' ? jsonArray(io) : undefined;
  const out = array ?? (fmt === 'jsonl' ? jsonLines(io) : undefined);
  // the linker names that are not C names, made when a name is first not found
  let linked: Map<string, Export[]> | undefined;
  const linkedAs = (sym: string): Export[] => {
    if (!linked) {
      linked = new Map();
      for (const e of index.exports) for (const s of e.symbols) if (s !== e.name) linked.set(s, [...(linked.get(s) ?? []), e]);
    }
    return linked.get(sym) ?? [];
  };
  // a linker name (__tracepoint_kvm_entry, ieee80211_rx_rsl) stands for the export that makes it
  const exportsOf = (sym: string): Export[] => {
    const named = index.exportsNamed(sym);
    return named.length ? named : linkedAs(sym);
  };
  const items = array && !summary ? new ConsumerItems(build) : undefined;
  const quoted = quotedPaths();
  let missing = 0;
  // For many symbols, the files their helper searches read are scanned on another thread meanwhile;
  // its batches land when the event loop turns, after every 256 exports at the latest.
  const stopAhead = symbols.length > 1 ? scanHelpersAhead(index, symbols.flatMap(exportsOf)) : undefined;
  let asked = 0;
  try {
    symbols: for (const sym of symbols) {
      if ((await io.drained?.()) === false) break;
      const exps = exportsOf(sym);
      if (exps.length === 0) {
        missing++;
        if (out) out.record({ symbol: sym, exported: false });
        else io.out(`${sym}: not exported in this tree\n`);
        continue;
      }
      for (const [k, e] of exps.entries()) {
        // a name may be exported once per architecture (empty_zero_page): each record waits its turn
        if (k > 0 && (await io.drained?.()) === false) break symbols;
        if (stopAhead && (++asked & 255) === 0) await new Promise(setImmediate);
        const linker = e.name === sym ? undefined : sym;
        if (!out) {
          const list = index.consumers(e);
          const helpers = helperConsumers(index, e, list);
          if (linker) io.out(`${linker}: a linker name of ${e.name}'s export (${e.macro})\n`);
          io.out(`${summary ? consumersSummaryLine(e, list, helpers, build) : consumersBlock(e, list, helpers, build)}\n`);
          continue;
        }
        const head = { symbol: sym, ...(linker ? { linkerNameOf: e.name } : {}), exported: true, export: exportJson(e, build) };
        // The walk's files are kept for the helpers, which ask for them only if they find one (walking
        // again for them was an eighth of the time for every export).
        const files: number[] = [];
        const helpersOf = (): Consumer[] => helperConsumers(index, e, () => files);
        if (array && items) {
          // the consumers in full, each written as the walk gives it
          array.recordWithLists(head, [
            ['consumers', (item) => index.eachConsumer(e, (f, line, fileIdx, cls, via) => (files.push(fileIdx), item(items.item(f, line, fileIdx, cls, via))))],
            ['throughHelpers', (item) => helpersOf().forEach((c) => item(listItem(consumerJson(c, build))))],
          ]);
          continue;
        }
        // Counts, or file:line strings (JSON Lines), as the walk gives them: no consumer objects for
        // tens of millions of consumers.
        if (summary) {
          const walked = (each: (file: string, cls: string, fileIdx: number) => void): number => index.eachConsumer(e, (f, _line, fileIdx, cls) => (files.push(fileIdx), each(f, cls, fileIdx)));
          const { counts, byModule } = consumerCounts(walked, helpersOf, build);
          if (byModule) out.recordWithCounts({ ...head, ...counts }, 'byModule', byModule);
          else out.record({ ...head, ...counts });
          continue;
        }
        io.out(`${JSON.stringify(head).slice(0, -1)},"consumers":`);
        writeFileLines(io, quoted, (each) => index.eachConsumer(e, (f, line, fileIdx) => (files.push(fileIdx), each(f, line, fileIdx))));
        const helpers = helpersOf();
        io.out(',"throughHelpers":');
        writeFileLines(io, quoted, (each) => helpers.forEach((c) => each(c.file, c.line)));
        io.out('}\n');
      }
    }
  } finally {
    await stopAhead?.();
  }
  out?.end();
  return missing === symbols.length ? 1 : 0;
}

export async function runCheck(args: ParsedArgs, io: Io): Promise<number> {
  const fmt = format(args, ['text', 'json', 'sarif']);
  const failOn = (flag(args, '--fail-on') ?? 'warning') as Severity | 'none';
  if (failOn !== 'none' && !(failOn in severityRank)) throw new UsageError(`--fail-on ${failOn}: expected error, warning, info, hint or none`);
  const ctx = await openContext(args, io, { paths: true, model: true });
  const { index, settings, paths } = ctx;
  const exports = index.exportsUnder(paths);
  const build = ctx.build();
  let findings = checkExports(index, paths, {
    build,
    gplOnlyPaths: settings.gplOnlyPaths,
    severity: settings.severity,
    testsCountAsConsumers: settings.testsCountAsConsumers,
  });
  if (has(args, '--history')) findings = withHistoryFindings(findings, historyFindingsFor(ctx, await historiesFor(ctx, io)));
  if (fmt === 'json') {
    io.out(`${JSON.stringify({ tree: index.root, exports: exports.length, findings }, null, 1)}\n`);
  } else if (fmt === 'sarif') {
    io.out(`${JSON.stringify(sarif(findings, VERSION), null, 1)}\n`);
  } else {
    for (const f of findings) io.out(`${findingText(index, f)}\n`);
    if (paths.length) {
      io.out(`Consumers of the ${exports.length} export${exports.length === 1 ? '' : 's'} checked:\n`);
      for (const e of exports) {
        const list = index.consumers(e);
        io.out(`${consumersBlock(e, list, helperConsumers(index, e, list), build)}\n`);
      }
      io.out('\n');
    }
    io.out(`${summary(findings, exports.length)}\n`);
  }
  const threshold = failOn === 'none' ? Infinity : severityRank[failOn];
  return findings.some((f) => severityRank[f.severity] >= threshold) ? 1 : 0;
}

function summary(findings: readonly Finding[], exports: number): string {
  const n = (s: Finding['severity']): number => findings.filter((f) => f.severity === s).length;
  return `total: ${n('error')} errors, ${n('warning')} warnings, ${n('info')} infos, ${exports} exports checked`;
}

/** `kexports module FILE...`: where each file is built, from the build model, with the Makefile line and the Kconfig symbol. */
export async function runModule(args: ParsedArgs, io: Io): Promise<number> {
  const fmt = format(args, ['text', 'json']);
  const ctx = await openContext(args, io, { paths: true, model: true });
  if (ctx.paths.length === 0) throw new UsageError('module needs at least one FILE');
  const build = ctx.build();
  if (!build) {
    io.err(`kexports: ${ctx.root} has no Kconfig and top Kbuild or Makefile: there is no build to say where files go\n`);
    return 2;
  }
  let unplaced = 0;
  const json: Record<string, unknown>[] = [];
  for (const path of ctx.paths) {
    const list = build.of(path);
    if (list.length === 0) unplaced++;
    const placements = list.map((p) => ({
      module: p.module,
      modular: p.modular,
      object: p.object,
      ...(p.composite ? { composite: p.composite } : {}),
      makefile: p.makefile,
      line: p.line,
      config: p.gate ? `CONFIG_${p.gate}` : null,
      configType: p.gate ? build.typeOf(p.gate) : null,
      when: condText(p.cond),
    }));
    if (fmt === 'json') {
      json.push({ file: path, modules: build.modules(path), modular: build.modular(path), placements });
      continue;
    }
    if (list.length === 0) {
      const why = !ctx.index.byPath.has(path)
        ? 'not a source file of the tree'
        : path.endsWith('.h')
          ? 'a header: it is built with each file that includes it'
          : 'no Makefile the build reaches names its object';
      io.out(`${path}: not built (${why})\n`);
      continue;
    }
    io.out(`${path}: ${build.label(path)}\n`);
    for (const p of placements) {
      const into = p.modular ? `module ${p.module}.ko` : 'vmlinux (built in)';
      const member = p.composite ? ` as part of ${p.composite}` : '';
      const cfg = p.config ? `, ${p.config} (${p.configType})` : '';
      io.out(`  ${into}${member}: ${p.makefile}:${p.line}${cfg}\n    when ${p.when}\n`);
    }
  }
  if (fmt === 'json') io.out(`${JSON.stringify(json, null, 1)}\n`);
  const unknown = build.model.unknown.length;
  if (unknown) io.err(`kexports: the build model did not understand ${unknown} construct${unknown === 1 ? '' : 's'} in Makefiles and Kconfig files (kexports exports --format json lists them)\n`);
  return unplaced === ctx.paths.length ? 1 : 0;
}

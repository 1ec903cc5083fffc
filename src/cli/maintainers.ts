/**
 * `kexports maintainers [--tree DIR] PATH|SYMBOL...`: who maintains a file, as get_maintainer.pl says;
 * for an exported symbol, the exporter's maintainers and those of its consumers, by subsystem.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type Maintainers, readMaintainers, type Responsible, responsibleFor, shownText } from '../core/maintainers/maintainers';
import { readRegularFile } from '../core/util/regularFile';
import { DEFAULT_MAX_FILE_BYTES } from '../core/scan/scanFile';
import { format, has, type ParsedArgs, UsageError } from './args';
import { type Io, openContext } from './context';

function answer(m: Maintainers, root: string, file: string, keywords: boolean): Responsible {
  let content: string | undefined;
  try {
    content = keywords ? readRegularFile(join(root, file), { maxBytes: DEFAULT_MAX_FILE_BYTES }).toString('latin1') : undefined;
  } catch {
    content = undefined;
  }
  const r = responsibleFor(m, file, content);
  return {
    people: r.people.map((p) => ({ ...p, email: shownText(p.email), section: shownText(p.section) })),
    lists: r.lists.map((l) => ({ ...l, section: shownText(l.section) })),
    sections: r.sections.map(shownText),
    status: r.status,
    trees: r.trees,
  };
}

function lines(r: Responsible, indent: string): string[] {
  return [
    ...r.people.map((p) => `${indent}${p.email} (${p.role}:${p.section})`),
    ...r.lists.map((l) => `${indent}${l.address} (list:${l.section})`),
    ...(r.status.length ? [`${indent}status: ${r.status.join(', ')}`] : []),
    ...r.trees.map((t) => `${indent}tree: ${t}`),
  ];
}

export async function maintainersCommand(args: ParsedArgs, io: Io): Promise<number> {
  const fmt = format(args, ['text', 'json']);
  // K: keywords match a file's text only when asked for, as get_maintainer.pl --keywords-in-file
  const keywords = has(args, '--keywords');
  if (args.positionals.length === 0) throw new UsageError('maintainers needs a PATH or a SYMBOL');
  const { index, root } = await openContext(args, io);
  const m = readMaintainers(root);
  if (!m) {
    io.err(`kexports: ${root} has no MAINTAINERS to read\n`);
    return 2;
  }
  const out: { paths: unknown[]; symbols: unknown[]; unknown: string[] } = { paths: [], symbols: [], unknown: [] };
  const report: string[] = [];
  for (const arg of args.positionals) {
    const fromCwd = resolve(io.cwd, arg);
    const inTree = existsSync(fromCwd) && !relative(root, fromCwd).startsWith('..') ? relative(root, fromCwd) : existsSync(join(root, arg)) ? arg : undefined;
    if (inTree !== undefined && inTree !== '') {
      const path = inTree.split('\\').join('/');
      const r = answer(m, root, path, keywords);
      out.paths.push({ path, ...r });
      report.push(path, ...lines(r, '  '), '');
      continue;
    }
    const exps = index.exportsNamed(arg);
    if (exps.length === 0) {
      out.unknown.push(arg);
      io.err(`kexports: ${arg}: neither a file in the tree nor an exported symbol\n`);
      continue;
    }
    for (const e of exps) {
      const exporter = answer(m, root, e.file, keywords);
      const groups = bySubsystem(
        m,
        root,
        index.consumers(e).map((c) => c.file),
        keywords,
      );
      out.symbols.push({ name: e.name, macro: e.macro, file: e.file, line: e.line, exporter, consumers: groups });
      report.push(`${e.name} (${e.macro}) ${e.file}:${e.line}`, '  exporter:', ...lines(exporter, '    '));
      report.push(groups.length ? `  consumers, by subsystem (${groups.reduce((n, g) => n + g.files.length, 0)} files):` : '  no consumers');
      for (const g of groups)
        report.push(`    ${g.subsystem} (${g.files.length} file${g.files.length === 1 ? '' : 's'}: ${g.files.slice(0, 3).join(', ')}${g.files.length > 3 ? ', …' : ''})`, ...lines(g, '      '));
      report.push('');
    }
  }
  if (fmt === 'json') io.out(`${JSON.stringify(out, null, 1)}\n`);
  else io.out(report.join('\n'));
  return out.unknown.length ? 1 : 0;
}

/** The consumers grouped by their most specific MAINTAINERS section, each group with its people and lists. */
function bySubsystem(m: Maintainers, root: string, files: string[], keywords: boolean): (Responsible & { subsystem: string; files: string[] })[] {
  const groups = new Map<string, Responsible & { subsystem: string; files: string[] }>();
  for (const file of [...new Set(files)].sort()) {
    const r = answer(m, root, file, keywords);
    const subsystem = r.sections[0] ?? '(no section)';
    let g = groups.get(subsystem);
    if (!g) groups.set(subsystem, (g = { subsystem, files: [], people: [], lists: [], sections: [], status: [], trees: [] }));
    g.files.push(file);
    for (const p of r.people) if (!g.people.some((x) => x.email === p.email)) g.people.push(p);
    for (const l of r.lists) if (!g.lists.some((x) => x.address === l.address)) g.lists.push(l);
    for (const x of r.status) if (!g.status.includes(x)) g.status.push(x);
    for (const x of r.trees) if (!g.trees.includes(x)) g.trees.push(x);
  }
  return [...groups.values()].sort((a, b) => b.files.length - a.files.length || (a.subsystem < b.subsystem ? -1 : 1));
}

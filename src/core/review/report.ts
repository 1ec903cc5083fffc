/** The review as text for a terminal and as Markdown for the editor's report. */
import { join } from 'node:path';
import { codeAnchor } from '../findings/docs';
import { md } from '../util/markdown';
import type { Review } from './analyze';
import { printable as pr } from '../util/printable';
import type { Series } from './series';

const word = { error: 'ERROR', warning: 'WARNING', info: 'INFO', hint: 'HINT' } as const;

export function text(r: Review): string {
  const out: string[] = [];
  if (r.cover) out.push(`Cover letter: ${pr(r.cover.subject)}${r.cover.author ? ` (${pr(r.cover.author)})` : ''}`, '');
  for (const p of r.patches) {
    out.push(`[PATCH ${p.label}] ${pr(p.subject)}`);
    for (const a of p.added)
      out.push(
        `  + ${a.name} ${a.macro} (${a.license}${a.namespace ? `, namespace ${a.namespace}` : ''}) ${a.file}:${a.line}${a.firstConsumer ? `; first consumer ${a.firstConsumer.patch === 'tree' ? 'already in the tree' : `in patch ${a.firstConsumer.patch}`}: ${a.firstConsumer.file}:${a.firstConsumer.line}` : '; no consumer'}`,
      );
    for (const c of p.changed) out.push(`  ~ ${c.name} ${c.before!.macro} -> ${c.macro} ${c.file}:${c.line}`);
    for (const d of p.removed) out.push(`  - ${d.name} ${d.macro} ${d.file}`);
    for (const f of r.findings.filter((x) => x.patch === p.index)) out.push(`  ${word[f.severity]}:${f.code}: ${pr(f.message)}${f.line ? ` (${f.file}:${f.line})` : ''}`);
    out.push('');
  }
  const n = (s: string): number => r.findings.filter((f) => f.severity === s).length;
  out.push(`total: ${n('error')} errors, ${n('warning')} warnings, ${n('info')} infos, ${r.patches.length} patches`);
  return `${out.join('\n')}\n`;
}

/** Markdown for the VS Code report; everything from the series is escaped, never interpreted. */
export function markdown(r: Review, series?: Series, root?: string): string {
  const esc = md;
  // Absolute paths, not file: URLs: Markdown renderers (markdown-it in VS Code) refuse the file: scheme.
  const target = (abs: string, line: number): string => `<${encodeURI(abs)}#L${line}>`;
  const fileLink = (path: string, line: number): string => (root && line > 0 ? `[${esc(`${path}:${line}`)}](${target(join(root, path), line)})` : esc(line > 0 ? `${path}:${line}` : path));
  const out = ['# Kernel Exports: series review', ''];
  if (r.cover) out.push(`Cover letter: ${esc(r.cover.subject)}`, '');
  out.push('| patch | subject | exports added | removed | changed | findings |', '|---|---|---|---|---|---|');
  for (const p of r.patches) {
    const f = r.findings.filter((x) => x.patch === p.index).length;
    out.push(
      `| ${esc(p.label)} | ${esc(p.subject)} | ${p.added.map((a) => esc(a.name)).join(', ')} | ${p.removed.map((a) => esc(a.name)).join(', ')} | ${p.changed.map((a) => esc(a.name)).join(', ')} | ${f} |`,
    );
  }
  out.push('', '## Findings', '');
  for (const f of r.findings) {
    const p = series?.patches.find((x) => x.index === f.patch);
    const hunk = p && p.source && !p.source.startsWith('git') ? ` · [hunk](${target(p.source, p.diffLine)})` : '';
    out.push(`- **${f.severity}** [\`${f.code}\`](${codeAnchor(f.code)}) patch ${f.patch}: ${esc(f.message)} · ${fileLink(f.file, f.line)}${hunk}`);
  }
  if (r.findings.length === 0) out.push('None.');
  const added = r.patches.flatMap((p) => p.added.map((a) => ({ p, a })));
  if (added.length) {
    out.push('', '## New exports and their consumers', '');
    for (const { p, a } of added) {
      const fc = a.firstConsumer;
      out.push(
        `- ${esc(a.name)} (${a.macro}, ${a.license}) in patch ${esc(p.label)}, ${fileLink(a.file, a.line)}: ${fc ? `first consumer ${fc.patch === 'tree' ? 'already in the tree' : `in patch ${fc.patch}`}, ${fileLink(fc.file, fc.line)}` : '**no consumer**'}`,
      );
      for (const c of a.consumers ?? []) out.push(`  - ${c.cls}: ${fileLink(c.file, c.line)}${c.via ? ` via ${esc(c.via)}` : ''}`);
      if ((a.consumerCount ?? 0) > (a.consumers?.length ?? 0)) out.push(`  - … ${a.consumerCount} in all`);
    }
  }
  return `${out.join('\n')}\n`;
}

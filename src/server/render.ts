/**
 * The engine's answers as LSP shapes: hover Markdown, diagnostics, code lenses, quick fixes.
 * Pure functions of the index and the settings.
 */
import { CodeAction, CodeActionKind, CodeLens, Diagnostic, DiagnosticSeverity, type Hover, MarkupKind, Range, TextEdit, type WorkspaceEdit } from 'vscode-languageserver';
import { type BuildAnswers, groupByModule } from '../core/build/answers';
import { classOrder, countsAsConsumer } from '../core/index/classify';
import { codeAnchor } from '../core/findings/docs';
import { gplVariant, isGplOnly, licenseWords } from '../core/exportMacros';
import { checkExports, type Finding, policyMatcher } from '../core/findings/findings';
import { helperConsumers } from '../core/index/helpers';
import type { Consumer, Export, KernelIndex } from '../core/index/index';
import type { Whose } from '../core/review/recipients';
import type { Settings } from '../protocol/settings';
import { md, treePathToUri } from './text';

const severity = { error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning, info: DiagnosticSeverity.Information, hint: DiagnosticSeverity.Hint } as const;

export function findingsFor(index: KernelIndex, path: string, settings: Settings, build?: BuildAnswers): Finding[] {
  return checkExports(index, [path], {
    ...(build ? { build } : {}),
    gplOnlyPaths: settings.gplOnlyPaths,
    severity: settings.severity,
    testsCountAsConsumers: settings.testsCountAsConsumers,
  }).filter((f) => f.file === path);
}

export function toDiagnostic(f: Finding): Diagnostic {
  const d = Diagnostic.create(Range.create(f.line - 1, f.col, f.endLine - 1, Math.max(f.endCol, f.col)), f.message, severity[f.severity], f.code, 'kexports');
  d.codeDescription = { href: codeAnchor(f.code) };
  d.data = { symbol: f.symbol };
  return d;
}

function link(root: string, path: string, line: number, label = `${path}:${line}`): string {
  return `[${md(label)}](${treePathToUri(root, path)}#L${line})`;
}

/** A namespace as a code span, which shows its text as is (backslash escapes would show): only a backtick could break it. */
function namespaceSpan(ns: string | undefined): string {
  return ns ? `\`${ns.replace(/`/g, "'")}\`` : 'none';
}

/** The hover of an exported symbol. */
export function exportHover(
  index: KernelIndex,
  exps: readonly Export[],
  settings: Settings,
  historyOf?: (e: Export) => string | undefined,
  whose?: (file: string) => Whose,
  build?: BuildAnswers,
): Hover {
  const inPolicy = policyMatcher(settings.gplOnlyPaths);
  const parts: string[] = [];
  for (const e of exps) {
    const lines: string[] = [];
    lines.push(`**${md(e.name)}** · \`${e.macro}\`${e.wrapper ? ` via \`${e.wrapper}\`` : ''} · **${licenseWords(e.type)}**`);
    lines.push(`namespace: ${namespaceSpan(e.namespace)}`);
    for (const v of e.byConfig ?? []) {
      const what = [v.type !== e.type ? `**${licenseWords(v.type)}**` : '', v.namespace !== e.namespace ? `namespace ${namespaceSpan(v.namespace)}` : ''].filter(Boolean).join(', ');
      lines.push(`in other configs: ${what}, by ${link(index.root, v.file, v.line)}`);
    }
    if (inPolicy(e.file)) {
      lines.push(isGplOnly(e.type) ? `policy: ${md(e.file)} must be GPL-only; met` : `policy: ${md(e.file)} must be GPL-only; **not met**, ${e.macro} allows any license`);
    }
    const where = [
      e.definition ? `defined at ${link(index.root, e.file, e.definition.line)}` : undefined,
      `exported at ${link(index.root, e.file, e.line)}${e.includedFrom ? ` through the #include of ${link(index.root, e.includedFrom.file, e.includedFrom.line)}` : ''}${e.generated ? ', printed there into a file generated at build time' : ''}`,
    ].filter(Boolean);
    lines.push(where.join(' · '));
    if (build) lines.push(`built into: ${md(build.label(e.file, e.generated))}`);
    const w = whose?.(e.file);
    if (w && (w.maintainers.length || w.lists.length)) {
      const people = w.maintainers.slice(0, 3).map(md).join(', ') + (w.maintainers.length > 3 ? ', …' : '');
      lines.push(`maintained by ${people || '(no maintainer)'}${w.lists.length ? ` · list ${w.lists.slice(0, 2).map(md).join(', ')}` : ''}`);
    }
    const history = historyOf?.(e);
    if (history) lines.push(history);
    const direct = index.consumers(e);
    lines.push(consumersMarkdown(index, direct, settings, helperConsumers(index, e, direct), build));
    parts.push(lines.join('\n\n'));
  }
  return { contents: { kind: MarkupKind.Markdown, value: parts.join('\n\n---\n\n') } };
}

const MAX_LISTED = 10;

function consumerItem(index: KernelIndex, c: Consumer, label: string): string {
  const cls = c.cls === 'driver' || c.cls === 'subsystem' ? '' : ` (${c.cls})`;
  const via = c.via ? ` via ${md(c.via.name)}${c.via.kind === 'macro' ? '' : '()'} in ${md(c.via.file)}` : '';
  return `${link(index.root, c.file, c.line, `${label}:${c.line}`)}${cls}${via}`;
}

export function consumersMarkdown(index: KernelIndex, all: readonly Consumer[], settings: Settings, helpers: readonly Consumer[] = [], build?: BuildAnswers): string {
  const list = all.filter((c) => countsAsConsumer(c.cls, settings.testsCountAsConsumers));
  if (list.length === 0) {
    const tools = all.length - list.length;
    return `**no consumer**${tools ? ` (${tools} outside the kernel's count: ${[...new Set(all.map((c) => c.cls))].join(', ')})` : ''}`;
  }
  const sorted = [...list].sort((a, b) => classOrder.indexOf(a.cls) - classOrder.indexOf(b.cls) || (a.file < b.file ? -1 : 1));
  const out = [`**${list.length} consumer${list.length === 1 ? '' : 's'}**`];
  if (build) {
    // by the module each is linked into: modules first, then built-in code, then headers
    let shown = 0;
    for (const [label, cs] of groupByModule(sorted, build)) {
      if (shown >= MAX_LISTED) break;
      const some = cs.slice(0, MAX_LISTED - shown);
      shown += some.length;
      out.push(`- ${md(label)}: ${some.map((c) => consumerItem(index, c, c.file)).join(', ')}${some.length < cs.length ? `, … (${cs.length})` : ''}`);
    }
  } else {
    const byDir = new Map<string, Consumer[]>();
    for (const c of sorted.slice(0, MAX_LISTED)) {
      const dir = c.file.includes('/') ? c.file.slice(0, c.file.lastIndexOf('/') + 1) : './';
      byDir.set(dir, [...(byDir.get(dir) ?? []), c]);
    }
    for (const [dir, cs] of byDir) {
      out.push(`- ${md(dir)} ${cs.map((c) => consumerItem(index, c, c.file.slice(dir.length))).join(', ')}`);
    }
  }
  if (list.length > MAX_LISTED) out.push(`- … and ${list.length - MAX_LISTED} more (${list.length} in all)`);
  const through = helpers.filter((c) => countsAsConsumer(c.cls, settings.testsCountAsConsumers));
  if (through.length) {
    out.push(
      `- through helper functions, which only their own module can call: ${through
        .slice(0, MAX_LISTED)
        .map((c) => consumerItem(index, c, c.file))
        .join(', ')}${through.length > MAX_LISTED ? `, … (${through.length} in all)` : ''}`,
    );
  }
  return out.join('\n');
}

/** "GPL-only · 5 consumers" above each export line. */
export function lenses(index: KernelIndex, path: string, settings: Settings): CodeLens[] {
  // One lens per place: an #include can stand for dozens of exports (ps3's exports.c, 118).
  const at = new Map<string, Export[]>();
  for (const e of index.exportsByFile.get(path) ?? []) {
    const key = `${e.line}:${e.col}`;
    const group = at.get(key);
    if (group) group.push(e);
    else at.set(key, [e]);
  }
  const consumers = (e: Export): number => index.consumers(e).filter((c) => countsAsConsumer(c.cls, settings.testsCountAsConsumers)).length;
  return [...at.values()].map((group) => {
    const e = group[0]!;
    let title: string;
    if (group.length === 1) {
      const n = consumers(e);
      title = `${licenseWords(e.type)} · ${n === 0 ? 'no consumer' : `${n} consumer${n === 1 ? '' : 's'}`}`;
    } else {
      const gpl = group.filter((x) => isGplOnly(x.type)).length;
      const unused = group.filter((x) => consumers(x) === 0).length;
      title = `${group.length} exports · ${gpl === group.length ? 'all GPL-only' : gpl === 0 ? 'none GPL-only' : `${gpl} GPL-only`} · ${unused === 0 ? 'each consumed' : `${unused} with no consumer`}`;
    }
    const lens = CodeLens.create(Range.create(e.line - 1, e.col, e.line - 1, e.col));
    lens.command = { title, command: '' };
    return lens;
  });
}

function gplEdit(e: Export): TextEdit | undefined {
  const to = gplVariant(e.macro);
  // A wrapper's call, or an #include standing for the export, has no macro name here to replace.
  if (!to || e.wrapper || e.includedFrom) return undefined;
  return TextEdit.replace(Range.create(e.line - 1, e.col, e.line - 1, e.col + e.macro.length), to);
}

/** Quick fixes for NOT_GPL_ONLY: this export, or every export in the file. Each is one WorkspaceEdit. */
export function gplFixes(index: KernelIndex, uri: string, path: string, diagnostics: readonly Diagnostic[]): CodeAction[] {
  const actions: CodeAction[] = [];
  const exps = index.exportsByFile.get(path) ?? [];
  const at = new Map<string, Export>();
  for (const x of exps) if (!at.has(`${x.line - 1}:${x.col}`)) at.set(`${x.line - 1}:${x.col}`, x);
  for (const d of diagnostics) {
    if (d.code !== 'NOT_GPL_ONLY' || d.source !== 'kexports') continue;
    const e = at.get(`${d.range.start.line}:${d.range.start.character}`);
    const edit = e && gplEdit(e);
    if (!e || !edit) continue;
    const action = CodeAction.create(`Use ${edit.newText} for ${e.name}`, { changes: { [uri]: [edit] } } satisfies WorkspaceEdit, CodeActionKind.QuickFix);
    action.diagnostics = [d];
    action.isPreferred = true;
    actions.push(action);
  }
  const all = exps
    .filter((e) => !isGplOnly(e.type))
    .map(gplEdit)
    .filter((x): x is TextEdit => x !== undefined);
  if (actions.length && all.length > 1) {
    actions.push(CodeAction.create(`Make all ${all.length} exports in this file GPL-only`, { changes: { [uri]: all } }, CodeActionKind.QuickFix));
  }
  return actions;
}

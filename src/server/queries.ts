/** Answers that walk the whole index: references, workspace symbols, exports no kernel code uses. */
import { Location, Range, SymbolInformation, SymbolKind, type CancellationToken } from 'vscode-languageserver';
import { licenseWords } from '../core/exportMacros';
import { countsAsConsumer } from '../core/index/classify';
import type { Consumer, Export, KernelIndex } from '../core/index/index';
import type { UnusedExport } from '../protocol/requests';
import { LineReader, treePathToUri } from './text';

/** The exports' definitions and calls (with includeDeclaration), and every consumer's use. */
export function references(index: KernelIndex, root: string, exports: readonly Export[], includeDeclaration: boolean, token: CancellationToken): Location[] {
  const reader = new LineReader(root);
  const at = (path: string, line: number, word: string): Location => {
    const span = reader.span(path, line, word);
    return Location.create(treePathToUri(root, path), Range.create(line - 1, span.start, line - 1, span.end));
  };
  const out: Location[] = [];
  for (const e of exports) {
    if (includeDeclaration) {
      if (e.definition) out.push(at(e.file, e.definition.line, e.name));
      out.push(at(e.file, e.line, e.name));
    }
    for (const c of index.consumers(e)) {
      if (token.isCancellationRequested) return out;
      out.push(at(c.file, c.line, c.via ? c.via.name : e.name));
    }
  }
  return out;
}

/** Exports whose name holds the query, 500 at most. */
export function workspaceSymbols(index: KernelIndex, root: string, query: string, token: CancellationToken): SymbolInformation[] {
  const q = query.toLowerCase();
  const out: SymbolInformation[] = [];
  for (const e of index.exports) {
    if (token.isCancellationRequested || out.length >= 500) break;
    if (q && !e.name.toLowerCase().includes(q)) continue;
    out.push({
      name: e.name,
      kind: e.definition?.kind === 'function' || e.definition?.kind === 'asm-label' ? SymbolKind.Function : SymbolKind.Variable,
      location: Location.create(treePathToUri(root, e.file), Range.create(e.line - 1, e.col, e.line - 1, e.col)),
      containerName: `${e.macro} · ${licenseWords(e.type)}${e.namespace ? ` · ${e.namespace}` : ''}`,
    });
  }
  return out;
}

/** Exports under `prefix` (all when undefined) that no kernel code uses, with who uses them else. */
export function exportsUnused(index: KernelIndex, root: string, prefix: string | undefined, testsCount: boolean, token: CancellationToken): UnusedExport[] {
  const out: UnusedExport[] = [];
  const counts = (c: Consumer): boolean => countsAsConsumer(c.cls, testsCount);
  for (const e of index.exportsUnder(prefix ? [prefix] : [])) {
    if (token.isCancellationRequested) break;
    // Up to the first consumer that counts: the others are named when none does.
    const all = index.consumers(e, counts);
    const kernel = all.filter(counts);
    if (kernel.length) continue;
    const others = [...new Set(all.map((c) => c.cls))];
    out.push({ name: e.name, macro: e.macro, license: licenseWords(e.type), uri: treePathToUri(root, e.file), line: e.line, note: others.length ? `used only by ${others.join(', ')}` : '' });
  }
  return out;
}

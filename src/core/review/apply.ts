/** Applies one file's diff to its text in memory, as `git apply` would, with a small fuzz window. */
import type { FileDiff } from './diff';

export type ApplyResult = { text: string | undefined } | { error: string; hunk: number };

/** Lines a hunk may have moved by when earlier patches shifted the file. */
const FUZZ = 200;

export function applyFileDiff(base: string | undefined, file: FileDiff): ApplyResult {
  if (file.error) return { error: file.error, hunk: 0 };
  if (file.isBinary) return { error: 'a binary patch cannot be applied in memory', hunk: 0 };
  // A mail cut short leaves a hunk with fewer lines than its header declares.
  for (let h = 0; h < file.hunks.length; h++) {
    const hunk = file.hunks[h]!;
    const oldCount = hunk.changes.filter((c) => c.type !== 'insert').length;
    const newCount = hunk.changes.filter((c) => c.type !== 'delete').length;
    if ((file.type !== 'add' && oldCount < hunk.oldLines) || newCount < hunk.newLines) {
      return {
        error: `hunk ${h + 1} (${hunk.content.replace(/ @@.*$/, ' @@')}) is cut short: it declares ${hunk.oldLines} old and ${hunk.newLines} new lines but holds ${oldCount} and ${newCount}`,
        hunk: h + 1,
      };
    }
  }
  if (file.type === 'delete') return { text: undefined };
  if (file.type === 'add') {
    if (base !== undefined) return { error: `${file.newPath} already exists`, hunk: 0 };
    const lines = file.hunks.flatMap((h) => h.changes.filter((c) => c.type !== 'delete').map((c) => c.content));
    return { text: lines.join('\n') + (file.newEndingNewLine ? '\n' : '') };
  }
  if (base === undefined) return { error: `${file.oldPath} does not exist in the tree`, hunk: 0 };
  const trailing = base.endsWith('\n');
  const lines = (trailing ? base.slice(0, -1) : base).split('\n');
  let offset = 0;
  for (let h = 0; h < file.hunks.length; h++) {
    const hunk = file.hunks[h]!;
    const old = hunk.changes.filter((c) => c.type !== 'insert').map((c) => c.content);
    const neu = hunk.changes.filter((c) => c.type !== 'delete').map((c) => c.content);
    const want = Math.max(0, hunk.oldStart - 1 + offset);
    const at = findBlock(lines, old, want);
    if (at < 0) return { error: `hunk ${h + 1} (@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@) does not apply`, hunk: h + 1 };
    lines.splice(at, old.length, ...neu);
    offset += at - want + neu.length - old.length;
  }
  return { text: lines.join('\n') + (file.newEndingNewLine === false ? '' : '\n') };
}

function findBlock(lines: readonly string[], block: readonly string[], near: number): number {
  const matches = (at: number): boolean => at >= 0 && at + block.length <= lines.length && block.every((l, k) => lines[at + k] === l);
  if (block.length === 0) return Math.min(near, lines.length);
  for (let d = 0; d <= FUZZ; d++) {
    if (matches(near - d)) return near - d;
    if (d && matches(near + d)) return near + d;
  }
  return -1;
}

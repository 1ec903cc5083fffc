/**
 * Escapes text for Markdown: names, paths, subjects and author names from a tree or a patch are shown
 * as text and never interpreted. HTML's specials become entities; Markdown's get a backslash.
 */
export function md(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;')).replace(/[\\`*_{}[\]()#+\-.!|~]/g, (c) => `\\${c}`);
}

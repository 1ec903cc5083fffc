/**
 * Whose code a review concerns, from MAINTAINERS (maintainers.ts): the people and lists of a set of
 * files, for the findings that concern other code, and the To/Cc lines a reply proposes.
 */
import { type Maintainers, responsibleFor, shownText } from '../maintainers/maintainers';
import type { Series } from './series';

export interface Whose {
  maintainers: string[];
  reviewers: string[];
  lists: string[];
}

/** The people and lists of the files, in the order get_maintainer.pl gives them, each once. */
export function whoseFiles(m: Maintainers, files: readonly string[]): Whose {
  const out: Whose = { maintainers: [], reviewers: [], lists: [] };
  const add = (list: string[], x: string): void => void (list.includes(x) || list.push(x));
  for (const file of files) {
    const r = responsibleFor(m, file);
    for (const p of r.people) add(p.role === 'maintainer' ? out.maintainers : out.reviewers, shownText(p.email));
    for (const l of r.lists) add(out.lists, l.address);
  }
  out.reviewers = out.reviewers.filter((r) => !out.maintainers.includes(r));
  return out;
}

/** A finding's words for whose code it is: "maintainers: A <a>, B <b>; lists: l@x". */
export function whoseWords(w: Whose): string {
  const cut = (xs: string[], n: number): string => `${xs.slice(0, n).join(', ')}${xs.length > n ? ', …' : ''}`;
  const parts = [w.maintainers.length ? `maintainers: ${cut(w.maintainers, 5)}` : '', w.lists.length ? `lists: ${cut(w.lists, 3)}` : ''].filter(Boolean);
  return parts.join('; ');
}

/** To: the maintainers of what the series touches; Cc: its reviewers and lists, and whoever its findings concern. */
export function recipients(m: Maintainers, series: Series, concerned: readonly Whose[]): { to: string[]; cc: string[] } {
  const files = [...new Set(series.patches.flatMap((p) => p.files.flatMap((f) => (f.error ? [] : [f.oldPath, f.newPath]))).filter((p) => p && p !== '/dev/null'))];
  const own = whoseFiles(m, files);
  const cc: string[] = [];
  for (const x of [...own.reviewers, ...concerned.flatMap((w) => [...w.maintainers, ...w.reviewers]), ...own.lists, ...concerned.flatMap((w) => w.lists)])
    if (!own.maintainers.includes(x) && !cc.includes(x)) cc.push(x);
  return { to: own.maintainers, cc };
}

/**
 * Kernel release tags and merge windows. Mainline tags are `vX.Y` and `vX.Y-rcN` (`v2.6.N` before
 * 3.0); stable tags (`v6.1.5`) are not on mainline and are left out. Each release X.Y has one merge
 * window, which closes at vX.Y-rc1: a commit first contained in vX.Y-rc1 was merged in the window of
 * vX.Y, one first contained in a later -rc went in as a fix in the same release cycle.
 *
 * Windows are counted on one line across majors, so that v5.19 → v6.0 is one window: the last minor
 * of each finished major is known, and a repository whose tags go further wins.
 */

export interface KernelVersion {
  tag: string;
  /** 2 for 2.6.N, else X. */
  major: number;
  /** N for 2.6.N, else Y. */
  minor: number;
  /** 0 for a release. */
  rc: number;
}

const TAG = /^v(?:2\.6\.(\d+)|([3-9]|[1-9]\d+)\.(\d+))(?:-rc(\d+))?$/;

export function parseTag(tag: string): KernelVersion | undefined {
  const m = TAG.exec(tag);
  if (!m) return undefined;
  const rc = m[4] ? Number(m[4]) : 0;
  if (m[1] !== undefined) return { tag, major: 2, minor: Number(m[1]), rc };
  return { tag, major: Number(m[2]), minor: Number(m[3]), rc };
}

/** The last minor release of each finished major: 2.6.39, 3.19, 4.20, 5.19, 6.19. */
const LAST_MINOR: Record<number, number> = { 2: 39, 3: 19, 4: 20, 5: 19, 6: 19 };

/** Version order: v5.9 < v5.10-rc1 < v5.10-rc2 < v5.10. */
export function compareVersions(a: KernelVersion, b: KernelVersion): number {
  return a.major - b.major || a.minor - b.minor || (a.rc === 0 ? Infinity : a.rc) - (b.rc === 0 ? Infinity : b.rc);
}

export function releaseName(v: Pick<KernelVersion, 'major' | 'minor'>): string {
  return v.major === 2 ? `v2.6.${v.minor}` : `v${v.major}.${v.minor}`;
}

/** A repository's mainline tags: version order, window ordinals, and where a commit landed. */
export class Releases {
  readonly tags: readonly KernelVersion[];
  /** The newest tag by version; undefined in a repository without kernel tags. */
  readonly newest: KernelVersion | undefined;
  private readonly lastMinor: Record<number, number>;
  private readonly withRc = new Set<string>();

  constructor(tags: readonly KernelVersion[]) {
    this.tags = [...tags].sort(compareVersions);
    this.newest = this.tags[this.tags.length - 1];
    this.lastMinor = { ...LAST_MINOR };
    const top = this.newest?.major ?? 0;
    for (const t of this.tags) {
      // A later major in the repository means this one finished at its highest tag, or later.
      if (t.major < top) this.lastMinor[t.major] = Math.max(this.lastMinor[t.major] ?? 0, t.minor);
      if (t.rc > 0) this.withRc.add(releaseName(t));
    }
  }

  /** The window ordinal of a release cycle, counting from 2.6.0: differences count merge windows. */
  ordinal(v: Pick<KernelVersion, 'major' | 'minor'>): number {
    let base = 0;
    for (let m = 2; m < v.major; m++) base += (this.lastMinor[m] ?? 0) + 1;
    return base + v.minor;
  }

  /** The cycle after vX.Y. */
  next(v: Pick<KernelVersion, 'major' | 'minor'>): { major: number; minor: number } {
    const last = this.lastMinor[v.major];
    return last !== undefined && v.minor >= last ? { major: v.major === 2 ? 3 : v.major + 1, minor: 0 } : { major: v.major, minor: v.minor + 1 };
  }

  /**
   * Where a commit landed, from the tags that contain it. A commit no tag contains belongs to the
   * newest tag's cycle (after an -rc) or the next one (after a release).
   */
  landing(containing: readonly KernelVersion[]): Landing | undefined {
    const first = [...containing].sort(compareVersions)[0];
    if (first) {
      const rel = releaseName(first);
      const released = containing.some((t) => t.major === first.major && t.minor === first.minor && t.rc === 0);
      const window = first.rc === 1 ? `merge window of ${rel}` : first.rc > 1 || this.withRc.has(rel) ? `${first.tag}, after the merge window of ${rel}` : `cycle of ${rel}`;
      return { firstTag: first.tag, release: released ? rel : `${rel} (not yet released)`, window, ordinal: this.ordinal(first) };
    }
    const newest = this.newest;
    if (!newest) return undefined;
    if (newest.rc > 0) {
      const rel = releaseName(newest);
      return { release: `${rel} (not yet released)`, window: `after ${newest.tag}, in the cycle of ${rel}`, ordinal: this.ordinal(newest) };
    }
    return { release: `after ${newest.tag} (not yet released)`, window: `merge window after ${newest.tag}`, ordinal: this.ordinal(this.next(newest)) };
  }
}

/** Where a commit landed: its release cycle and window. */
export interface Landing {
  /** The first mainline tag that contains the commit, by version; none when no tag does yet. */
  firstTag?: string;
  /** "v5.2", "v5.3 (not yet released)", or "after v5.10 (not yet released)". */
  release: string;
  /** "merge window of v5.2", "v5.2-rc3, after the merge window of v5.2", or a date estimate. */
  window: string;
  /** Window ordinal: differences count merge windows. */
  ordinal: number;
  /** True when no tags exist and the window is estimated from the commit date. */
  estimated?: boolean;
}

/** Kernel releases come about every nine weeks; without tags, windows are estimated from dates. */
export const WINDOW_DAYS = 63;

export function estimatedLanding(unixSeconds: number): Landing {
  // Fractional: the gap between two dates is floor(difference), not a difference of calendar buckets.
  const ordinal = unixSeconds / (WINDOW_DAYS * 86400);
  const date = new Date(unixSeconds * 1000).toISOString().slice(0, 10);
  return { release: `untagged, ${date}`, window: `no release tags: window estimated from the commit date`, ordinal, estimated: true };
}

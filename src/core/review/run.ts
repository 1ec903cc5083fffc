/**
 * One review from a source: a git range, uncommitted work, or mail files. Shared by the CLI and the
 * language server. Git sources need a trusted workspace: a repository's config can run programs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BuildAnswers } from '../build/answers';
import type { BuildModel } from '../build/model';
import { modelAfter } from '../build/store';
import type { KernelIndex } from '../index/index';
import { BUILD_FILE, KCONFIG, readMakefile } from '../build/kbuild';
import { type Maintainers, readMaintainers } from '../maintainers/maintainers';
import { type Review, reviewSeries, touchedPaths } from './analyze';
import { recipients, type Whose, whoseFiles } from './recipients';
import { seriesFromGit, workingTreeDiff } from './git';
import { readSeries, type Series, seriesFromTexts } from './series';
import { readRegularFile } from '../util/regularFile';

/** A patch may touch a generated header far over the index's limit; past this it is no source file. */
const MAX_BASE_BYTES = 256 * 1024 * 1024;

export type ReviewSource = { kind: 'range'; range?: string } | { kind: 'uncommitted' } | { kind: 'path'; path: string };

export class UntrustedError extends Error {
  constructor() {
    super(
      "git ranges and uncommitted work are not reviewed in an untrusted workspace: git would read the repository's config, which can run programs. Trust the workspace, or review an mbox or patch file.",
    );
  }
}

export interface ReviewRun {
  review: Review;
  series: Series;
  /** The files the review set to other texts; the caller may put them back. */
  touched: string[];
  /** Nothing to review (no uncommitted changes). */
  empty?: boolean;
}

export interface ReviewRunOptions {
  gplOnlyPaths: readonly string[];
  testsCountAsConsumers: boolean;
  /** False in an untrusted workspace: no git process is started. */
  trusted: boolean;
  /** The tree's MAINTAINERS when the caller holds it already (null: the tree has none); else it is read. */
  maintainers?: Maintainers | null;
  /** The tree's build model (undefined: the tree has none), asked for only when a finding needs modules. */
  build?: () => BuildModel | undefined;
}

export async function runReview(index: KernelIndex, root: string, source: ReviewSource, opts: ReviewRunOptions): Promise<ReviewRun> {
  let series: Series;
  let baseText: (path: string) => string | undefined;
  const fromDisk = (path: string): string | undefined => {
    try {
      return readRegularFile(join(root, path), { maxBytes: MAX_BASE_BYTES }).toString('latin1');
    } catch {
      return undefined;
    }
  };
  if (source.kind === 'path') {
    if (!existsSync(source.path)) throw new Error(`${source.path}: no such file or folder`);
    series = await readSeries(source.path);
    baseText = fromDisk;
  } else {
    if (!opts.trusted) throw new UntrustedError();
    if (source.kind === 'uncommitted') {
      const w = await workingTreeDiff(root);
      if (!w.diff.trim()) return { review: { patches: [], findings: [], problems: [], replies: 0 }, series: { patches: [], replies: 0, problems: [] }, touched: [], empty: true };
      series = await seriesFromTexts([{ source: 'git diff HEAD', text: w.diff }]);
      for (const p of series.patches) p.subject = 'uncommitted changes against HEAD';
      baseText = (path) => w.baseText.get(path);
    } else {
      const g = await seriesFromGit(root, source.range, async (mbox) => touchedPaths(await seriesFromTexts([{ source: 'git', text: mbox }])));
      series = await seriesFromTexts([{ source: `git format-patch ${g.range}`, text: g.mbox }]);
      baseText = (path) => g.baseText.get(path);
    }
  }
  const maintainers = opts.maintainers === undefined ? readMaintainers(root) : (opts.maintainers ?? undefined);
  const whose = maintainers && ((files: readonly string[]): Whose => whoseFiles(maintainers, files));
  const build = (texts: ReadonlyMap<string, string | undefined>): BuildAnswers | undefined => {
    const model = opts.build?.();
    if (!model) return undefined;
    // the build files the series changes: the others are as the model read them
    const changed = new Map([...texts].filter(([p, t]) => BUILD_FILE.test(p) && t !== readMakefile(root, p)));
    return new BuildAnswers(modelAfter(model, root, changed), index, texts);
  };
  const review = reviewSeries(index, series, { gplOnlyPaths: opts.gplOnlyPaths, testsCountAsConsumers: opts.testsCountAsConsumers, baseText, treeText: fromDisk, build, ...(whose ? { whose } : {}) });
  if (maintainers)
    review.recipients = recipients(
      maintainers,
      series,
      review.findings.flatMap((f) => (f.whose ? [f.whose] : [])),
    );
  // Kconfig files went to the build model only: the index holds none
  return { review, series, touched: touchedPaths(series).filter((p) => !KCONFIG.test(p)) };
}

/**
 * The review as check results for Patchwork's checks API (and CI systems that take the same fields):
 * one result per patch and one for the series, each with `state` (success, warning or fail),
 * `description`, `context` and `target_url`. A patch is told apart by its Message-Id, which is how
 * Patchwork names it.
 */
import { codeAnchor } from '../findings/docs';
import type { Review, ReviewFinding } from './analyze';
import type { Series } from './series';

export interface CheckResult {
  state: 'success' | 'warning' | 'fail';
  description: string;
  context: string;
  target_url: string;
}

export interface Checks {
  series: CheckResult;
  patches: (CheckResult & { patch: string; subject: string; message_id: string })[];
}

/** Patchwork's own limit on a check's description. */
const MAX_DESCRIPTION = 255;
const CONTEXT = 'kexports';

function result(findings: readonly ReviewFinding[]): CheckResult {
  const errors = findings.filter((f) => f.severity === 'error');
  const warnings = findings.filter((f) => f.severity === 'warning');
  const state = errors.length ? 'fail' : warnings.length ? 'warning' : 'success';
  const worst = errors[0] ?? warnings[0];
  const counts = `${errors.length} error${errors.length === 1 ? '' : 's'}, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`;
  let description = worst ? `${counts}; ${worst.code}: ${worst.message}` : 'exports keep the rules';
  if (description.length > MAX_DESCRIPTION) description = `${description.slice(0, MAX_DESCRIPTION - 1)}…`;
  return { state, description, context: CONTEXT, target_url: worst ? codeAnchor(worst.code) : '' };
}

export function checks(review: Review, series: Series): Checks {
  return {
    series: result(review.findings),
    patches: series.patches.map((p) => ({ patch: p.label, subject: p.subject, message_id: p.messageId, ...result(review.findings.filter((f) => f.patch === p.index)) })),
  };
}

import type { CheckResult, Verdict } from '../log/events.ts';
import type { Config } from '../config/resolve.ts';
import { plural, quoteName, singleLine } from '../util/text.ts';

export interface JudgeInput {
  readonly done: Config['done'];
  readonly checks: readonly CheckResult[];
  readonly featureIds: readonly string[];
  readonly claimed: boolean;
  /** Paths verification or the worker left behind uncommitted (empty when the tree is clean). */
  readonly pollutedPaths: readonly string[];
  /** What the guards refused, undid or moved in this iteration: it cannot be the "done" iteration. */
  readonly refusals: readonly string[];
}

function describeFailure(check: CheckResult): string {
  return `${check.kind === 'oracle' ? 'oracle' : check.kind} ${check.name} (\`${singleLine(check.command)}\`: ${check.ended})`;
}

/**
 * The deterministic judge: "done" only when the done condition in baton.yaml holds on evidence the
 * harness gathered itself. The worker's claim is a hint; a claim the evidence contradicts is rejected,
 * and the reason says what is missing so the next worker can act on it.
 */
export function judge(input: JudgeInput): Verdict {
  const failing: string[] = [];
  const reasons: string[] = [];
  const byName = new Map(input.checks.map((check) => [`${check.kind}:${check.name}`, check]));

  if (input.done.features === 'all') {
    const failedFeatures = input.featureIds
      .map((id) => byName.get(`feature:${id}`))
      .filter((check): check is CheckResult => check !== undefined && !check.passed);
    const unverified = input.featureIds.filter((id) => !byName.has(`feature:${id}`));
    if (input.featureIds.length === 0) {
      reasons.push('FEATURES.json lists no features, so nothing shows the goal is met');
      failing.push('features');
    }
    for (const check of failedFeatures) failing.push(check.name);
    for (const id of unverified) failing.push(id);
    if (failedFeatures.length + unverified.length > 0) {
      const total = input.featureIds.length;
      const failingCount = failedFeatures.length + unverified.length;
      reasons.push(
        `${failingCount} of ${plural(total, 'feature')} still fail: ${failedFeatures
          .map(describeFailure)
          .concat(unverified.map((id) => `${id} (not verified)`))
          .join('; ')}`,
      );
    }
  }
  for (const name of input.done.oracles) {
    const check = byName.get(`oracle:${name}`);
    if (check?.passed !== true) {
      failing.push(name);
      reasons.push(check === undefined ? `oracle ${name} did not run` : `${describeFailure(check)} fails`);
    }
  }
  // The project's own hooks (pre-commit, commit-msg) are part of what a commit must pass.
  for (const check of input.checks.filter((entry) => entry.kind === 'hook' && !entry.passed)) {
    failing.push(`hook:${check.name}`);
    reasons.push(
      `the project's ${check.name} hook fails (${check.ended}); its output is in ${check.outputPath}`,
    );
  }
  if (input.done.cleanTree && input.pollutedPaths.length > 0) {
    failing.push('clean-tree');
    reasons.push(
      `the tree was not clean after verification (${input.pollutedPaths.slice(0, 5).map(quoteName).join(', ')}${input.pollutedPaths.length > 5 ? ', …' : ''}); those files were stashed: ignore or remove generated files`,
    );
  }
  if (input.refusals.length > 0) {
    failing.push('guards');
    reasons.push(`the guards refused part of this iteration: ${input.refusals.join('; ')}`);
  }
  if (input.done.requireClaim && !input.claimed && failing.length === 0) {
    failing.push('claim');
    reasons.push('every check passes, but done also needs the worker to claim it (done.requireClaim)');
  }

  const done = failing.length === 0;
  const claimRejected = input.claimed && !done;
  let reason: string;
  if (done) {
    reason = `Done: ${input.done.features === 'all' ? `all ${plural(input.featureIds.length, 'feature')} pass` : 'the features were not required'}${input.done.oracles.length > 0 ? `, oracles ${input.done.oracles.join(', ')} pass` : ''}${input.done.cleanTree ? ', the tree is clean' : ''}.`;
  } else if (claimRejected) {
    reason = `The worker claimed the goal is met; the claim was rejected: ${reasons.join('. ')}.`;
  } else {
    reason = `Not done: ${reasons.join('. ')}.`;
  }
  return { done, claimed: input.claimed, claimRejected, reason, failing };
}

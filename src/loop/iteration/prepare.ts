import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitAll, changedPaths, headCommit, untrackedPaths } from '../../git/git.ts';
import { applyLeaveOut, planUntracked } from '../../core/leave-out.ts';
import { harnessIdentity } from '../../git/run-git.ts';
import { describePaths } from '../../guards/pollution.ts';
import type { CheckResult } from '../../log/events.ts';
import type { CheckContext } from '../../checks/registry.ts';
import { runCheck } from '../../checks/registry.ts';
import type { FeatureList } from '../../workspace/features.ts';
import { iterationDir } from '../../workspace/paths.ts';
import { head } from '../../util/text.ts';
import type { LoopContext } from '../context.ts';
import { escalateAndReplan } from '../escalate.ts';
import { buildPrompt } from '../prompt.ts';
import { checkContextFor, excerptOf, smokeSpec } from '../verify.ts';
import { currentFeatures, throwIfInterrupted } from './interrupted.ts';

/** Where an iteration starts from: what the worker is shown and what its work is measured against. */
export interface PreparedIteration {
  readonly iteration: number;
  readonly startedAt: number;
  /** The iteration's evidence folder. */
  readonly dir: string;
  readonly checkContext: CheckContext;
  readonly featuresBefore: FeatureList;
  readonly headBefore: string;
  readonly smoke: CheckResult | null;
  readonly prompt: string;
}

/**
 * Prepare: a person's edits committed as theirs, a stall escalated or a rotten plan refreshed, the smoke
 * test, then the prompt, fresh from disk, with the last verdict and what a person said, bounded in size.
 */
export async function prepareIteration(context: LoopContext, iteration: number): Promise<PreparedIteration> {
  const startedAt = performance.now();
  // Changes a person made while the run waited between iterations are theirs: commit them as such, but
  // never a secret, a dependency folder or a log they left untracked (those are ignored locally instead).
  await applyLeaveOut(context.workspace, await planUntracked(context.workspace));
  const humanEdits = [
    ...new Set([...(await changedPaths(context.workspace)), ...(await untrackedPaths(context.workspace))]),
  ];
  if (humanEdits.length > 0) {
    const commit = await commitAll(
      context.workspace,
      `Changes made between iterations of baton run ${context.runId} (${head(describePaths(humanEdits, 3), 100)})`,
      context.person ?? undefined,
    );
    const author = context.person ?? {
      name: harnessIdentity.GIT_AUTHOR_NAME,
      email: harnessIdentity.GIT_AUTHOR_EMAIL,
    };
    context.emit({
      type: 'human.edited',
      iteration,
      paths: humanEdits,
      commit,
      author: `${author.name} <${author.email}>`,
    });
  }
  context.emit({
    type: 'iteration.started',
    iteration,
    headCommit: (await headCommit(context.workspace)) ?? '',
    config: context.configHash,
  });
  const dir = iterationDir(context.workspace, context.runId, iteration);
  mkdirSync(join(dir, 'checks'), { recursive: true });
  const checkContext = checkContextFor(context, join(dir, 'checks'));

  await escalateAndReplan(context, iteration, currentFeatures(context), dir);
  throwIfInterrupted(context, iteration);
  const featuresBefore = currentFeatures(context);
  const headBefore = (await headCommit(context.workspace)) ?? '';
  const spec = smokeSpec(context);
  const smoke = spec === undefined ? null : await runCheck(spec, checkContext);
  context.emit({ type: 'smoke.ended', iteration, result: smoke });
  throwIfInterrupted(context, iteration);

  const prompt = buildPrompt({
    runId: context.runId,
    iteration,
    goal: context.state.goal,
    features: featuresBefore.features,
    parked: context.state.parked.map((entry) => entry.feature),
    steering: context.state.steering
      .filter((entry) => entry.iteration === iteration)
      .map((entry) => entry.message),
    smoke:
      smoke === null
        ? null
        : { passed: smoke.passed, excerpt: smoke.passed ? null : excerptOf(context, smoke) },
    lastVerdict: context.state.lastVerdict,
    failing: context.previousChecks
      .filter((check) => !check.passed && check.kind !== 'smoke')
      .map((check) => excerptOf(context, check)),
  });
  writeFileSync(join(dir, 'prompt.md'), prompt);
  return { iteration, startedAt, dir, checkContext, featuresBefore, headBefore, smoke, prompt };
}

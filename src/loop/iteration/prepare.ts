import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { headCommit } from '../../git/git.ts';
import type { CheckResult } from '../../log/events.ts';
import type { CheckContext } from '../../checks/registry.ts';
import { runCheck } from '../../checks/registry.ts';
import type { FeatureList } from '../../workspace/features.ts';
import { iterationDir } from '../../workspace/paths.ts';
import type { LoopContext } from '../context.ts';
import { escalateAndReplan } from '../escalate.ts';
import { commitPersonsEdits } from '../person-edits.ts';
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
  await commitPersonsEdits(context, iteration);
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

import { mkdirSync } from 'node:fs';
import { checkConcurrency, runChecks, smokeCheck, verificationChecks } from '../core/check-specs.ts';
import type { CheckResult } from '../log/events.ts';
import type { FeatureList } from '../workspace/features.ts';
import { readOutputTail } from '../checks/command-check.ts';
import type { CheckContext, CheckSpec } from '../checks/registry.ts';
import type { LoopContext } from './context.ts';
import type { FailingExcerpt } from './prompt.ts';

export function checkContextFor(context: LoopContext, outputDir: string): CheckContext {
  // Checks carry the run id too, so a crashed harness's leftovers can be found and reaped on resume.
  return {
    workspace: context.workspace,
    outputDir,
    env: { ...context.env, BATON_RUN_ID: context.runId },
    signal: context.signal,
    sandbox: context.sandbox,
  };
}

export function smokeSpec(context: LoopContext): CheckSpec | undefined {
  return smokeCheck(context.workspace, context.config);
}

/**
 * Every feature's verify command, then every oracle: the harness's own evidence. A check in
 * `passedBefore` that fails is run once more before the failure counts (core/check-specs.ts).
 */
export async function runAllChecks(
  context: LoopContext,
  features: FeatureList,
  checkContext: CheckContext,
  passedBefore?: ReadonlySet<string>,
): Promise<CheckResult[]> {
  mkdirSync(checkContext.outputDir, { recursive: true });
  return runChecks(verificationChecks(features.features, context.config), checkContext, {
    ...(passedBefore === undefined ? {} : { passedBefore }),
    concurrency: checkConcurrency(context.config),
  });
}

export function excerptOf(context: LoopContext, check: CheckResult): FailingExcerpt {
  return {
    name: `${check.kind} ${check.name}`,
    command: check.command,
    ended: check.ended,
    output: readOutputTail(context.workspace, check.outputPath, 2_048),
  };
}

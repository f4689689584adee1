import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult } from '../log/events.ts';
import type { FeatureList } from '../workspace/features.ts';
import { stateFiles } from '../workspace/paths.ts';
import { readOutputTail, runCheck, type CheckContext, type CheckSpec } from './checks.ts';
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
  const command =
    context.config.smoke.command ??
    (existsSync(join(context.workspace, stateFiles.init)) ? `./${stateFiles.init} smoke` : undefined);
  return command === undefined
    ? undefined
    : { name: 'smoke', kind: 'smoke', command, timeoutMs: context.config.smoke.timeoutMs };
}

/** Every feature's verify command, then every oracle: the harness's own evidence. */
export async function runAllChecks(
  context: LoopContext,
  features: FeatureList,
  checkContext: CheckContext,
): Promise<CheckResult[]> {
  mkdirSync(checkContext.outputDir, { recursive: true });
  const specs: CheckSpec[] = [
    ...features.features.map((feature) => ({
      name: feature.id,
      kind: 'feature' as const,
      command: feature.verify,
      timeoutMs: context.config.verifyTimeoutMs,
    })),
    ...context.config.oracles.map((oracle) => ({
      name: oracle.name,
      kind: 'oracle' as const,
      command: oracle.command,
      timeoutMs: oracle.timeoutMs,
    })),
  ];
  const results: CheckResult[] = [];
  for (const spec of specs) results.push(await runCheck(spec, checkContext));
  return results;
}

export function excerptOf(context: LoopContext, check: CheckResult): FailingExcerpt {
  return {
    name: `${check.kind} ${check.name}`,
    command: check.command,
    ended: check.ended,
    output: readOutputTail(context.workspace, check.outputPath, 2_048),
  };
}

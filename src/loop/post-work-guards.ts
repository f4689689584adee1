import { join } from 'node:path';
import { guardEventLog } from '../core/log-guard.ts';
import { guardUncommittedWork } from '../core/work-guards.ts';
import type { FeatureList } from '../workspace/features.ts';
import type { LoopContext } from './context.ts';

export interface PostWorkOutcome {
  /** The FEATURES.json to verify against. */
  readonly features: FeatureList;
  /** Reasons to refuse the whole iteration (roll it back). */
  readonly rejections: string[];
  /** What was put back or moved; the iteration stands, but it cannot be "done". */
  readonly corrections: string[];
}

/**
 * The serial loop's guards on the worker's uncommitted changes, before the harness commits them: the
 * event log, then the guards every mode shares (core/work-guards.ts). Each firing is an event.
 */
export async function guardWorkerChanges(
  context: LoopContext,
  iteration: number,
  featuresBefore: FeatureList,
): Promise<PostWorkOutcome> {
  const logGuard = guardEventLog(context.log);
  const plan = await guardUncommittedWork(context.workspace, featuresBefore, context.config.guards, {
    dir: join(context.workspace, '.baton', 'scratch', context.runId, String(iteration)),
    shown: `.baton/scratch/${context.runId}/${iteration}/`,
  });
  const firings = logGuard === undefined ? plan.firings : [logGuard.firing, ...plan.firings];
  for (const firing of firings) context.emit({ type: 'guard.fired', iteration, ...firing });
  return {
    features: plan.features,
    rejections: [...plan.rejections],
    corrections: [...(logGuard === undefined ? [] : [logGuard.correction]), ...plan.corrections],
  };
}

import { BatonError } from '../../errors.ts';
import { readFeatureList, type FeatureList } from '../../workspace/features.ts';
import type { LoopContext } from '../context.ts';

/** Thrown when the run is interrupted mid-iteration (stop --now, SIGTERM): the loop abandons the iteration. */
export class IterationInterrupted extends BatonError {
  constructor(iteration: number) {
    super(`iteration ${iteration} was interrupted`, { code: 'INTERRUPTED', exitCode: 5 });
  }
}

export function throwIfInterrupted(context: LoopContext, iteration: number): void {
  if (context.signal.aborted) throw new IterationInterrupted(iteration);
}

/** FEATURES.json as it is now; between iterations only a person or a tool can have broken it. */
export function currentFeatures(context: LoopContext): FeatureList {
  const result = readFeatureList(context.workspace);
  if (!result.ok) {
    throw new BatonError(
      `FEATURES.json became unreadable between iterations: ${result.problems.join('; ')}`,
      {
        code: 'FEATURES_INVALID',
        fix: 'a person or tool edited it while the run was paused: fix it (or `git checkout -- FEATURES.json`) and resume',
      },
    );
  }
  return result.list;
}

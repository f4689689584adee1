import { createHash } from 'node:crypto';
import { configFileName, parseConfigText } from '../config/load.ts';
import { decideConfigChange } from '../core/config-change.ts';
import { UnsafeFileError } from '../util/safe-io.ts';
import { readStateFile } from '../workspace/state-file.ts';
import type { LoopContext } from './context.ts';

/**
 * baton.yaml as the next iteration finds it: a person's edit made while the run waited (committed as
 * theirs just before) is applied, or refused with the reason, and the log says which config each
 * iteration ran with (`config` of `iteration.started`, the hash of the file's bytes).
 */
export function configText(workspace: string): { readonly text: string | null; readonly hash: string } {
  let text: string | null;
  try {
    text = readStateFile(workspace, configFileName)?.text ?? null;
  } catch (error) {
    if (!UnsafeFileError.isUnsafeFile(error)) throw error;
    text = null;
  }
  return {
    text,
    hash: createHash('sha256')
      .update(text ?? '')
      .digest('hex')
      .slice(0, 16),
  };
}

export async function applyConfigEdits(context: LoopContext, iteration: number): Promise<void> {
  const { text, hash } = configText(context.workspace);
  if (hash === context.configLookedAt) return;
  context.configLookedAt = hash;
  const parsed =
    text === null
      ? ({
          ok: false,
          problems: [{ field: configFileName, message: 'is missing or not a regular file', fix: '' }],
        } as const)
      : parseConfigText(text);
  if (!parsed.ok) {
    context.emit({
      type: 'config.refused',
      iteration,
      config: hash,
      problems: parsed.problems.map((problem) => `${problem.field}: ${problem.message}`),
    });
    return;
  }
  const change = decideConfigChange(context.config, parsed.config);
  await context.applyConfig(change.config);
  context.configHash = hash;
  context.emit({
    type: 'config.applied',
    iteration,
    config: hash,
    applied: [...change.applied],
    deferred: change.deferred.map((entry) => ({ ...entry })),
    budgets: {
      iterations: change.config.budgets.iterations,
      wallClockMs: change.config.budgets.wallClockMs,
      noProgressIterations: change.config.budgets.noProgressIterations,
    },
  });
}

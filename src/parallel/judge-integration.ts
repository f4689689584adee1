import { join } from 'node:path';
import { changedPaths, headCommit, runGit } from '../git/git.ts';
import { decideVerdict } from '../core/judge.ts';
import type { Verdict } from '../log/events.ts';
import { orderedTasks } from '../log/task-state.ts';
import { commitPersonsEdits } from '../loop/person-edits.ts';
import { checkContextFor, runAllChecks } from '../loop/verify.ts';
import { runDir } from '../workspace/paths.ts';
import { parallelState, type ParallelContext } from './context.ts';
import { passingIds } from '../core/evidence.ts';
import { integrationFeatures, recordFeatureChecks } from './feature-evidence.ts';

export type Decision = 'done' | 'replan' | 'stop';

/**
 * After the merges: verify the integration tip in full (every feature, every oracle), record the
 * evidence, and decide. Done needs the done condition on that evidence; otherwise the planner revises
 * the task graph while re-plans are left, and the run stops when they are not.
 */
export async function judgeIntegration(
  context: ParallelContext,
): Promise<{ decision: Decision; verdict: Verdict }> {
  const { loop } = context;
  const state = parallelState(context);
  const sequence = state.judged + 1;
  const checkContext = checkContextFor(
    loop,
    join(runDir(loop.workspace, loop.runId), 'judgements', String(sequence)),
  );
  // What a person changed in the workspace while the tasks merged is theirs: committed as such before the
  // checks, so the judge neither counts it as the run's leftovers nor stashes it.
  await commitPersonsEdits(loop, 0);
  const checks = await runAllChecks(loop, integrationFeatures(loop.workspace), checkContext);
  const tip = (await headCommit(loop.workspace)) ?? '';
  const recorded = await recordFeatureChecks(loop.workspace, checks, {
    sequence,
    commit: tip,
    at: loop.now().toISOString(),
    message: `baton: integration verified after plan revision ${state.revision}`,
  });
  const abandoned = orderedTasks(state).filter((task) => task.status === 'abandoned');
  // The optional model judge sees the same evidence, with what the merged tasks changed since the plan.
  const verdict = await decideVerdict({
    evidence: {
      done: loop.config.done,
      checks,
      featureIds: recorded.list.features.map((feature) => feature.id),
      claimed: false,
      pollutedPaths: await changedPaths(loop.workspace),
      refusals: [],
    },
    judgeConfig: loop.config.judge,
    consult: 'always',
    modelEvidence: async () => ({
      goal: loop.state.goal,
      features: recorded.list.features,
      diffStat: (await runGit(loop.workspace, ['log', '--stat', '--format=%s', '-20'], true)).stdout,
      handoff: orderedTasks(state)
        .filter((task) => task.status === 'merged')
        .map((task) => `${task.spec.id}: ${task.spec.goal}`)
        .join('\n'),
    }),
    env: loop.env,
    signal: loop.signal,
  });
  const withTasks: Verdict =
    abandoned.length === 0 || verdict.done
      ? verdict
      : {
          ...verdict,
          reason: `${verdict.reason} Abandoned tasks: ${abandoned.map((task) => `${task.spec.id} (${task.abandonedReason ?? ''})`).join('; ')}.`,
        };
  const replansUsed = state.revision - 1;
  const decision: Decision = verdict.done
    ? 'done'
    : replansUsed < loop.config.parallel.replans
      ? 'replan'
      : 'stop';
  const passing = passingIds(recorded.list);
  loop.emit({
    type: 'tasks.judged',
    revision: state.revision,
    verdict: withTasks,
    decision,
    checks,
    featuresPassing: passing.length,
    featuresTotal: recorded.list.features.length,
    passingFeatures: passing,
  });
  return { decision, verdict: withTasks };
}

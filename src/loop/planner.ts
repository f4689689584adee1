import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keepOnlyPlannerFile } from '../core/planner-scope.ts';
import { commitPaths } from '../git/git.ts';
import type { Feature } from '../workspace/features.ts';
import { stateFiles } from '../workspace/paths.ts';
import { head, singleLine } from '../util/text.ts';
import type { LoopContext } from './context.ts';
import { plannerSession } from '../core/planner-scope.ts';
import { startSession } from './session.ts';

export function buildPlannerPrompt(
  goal: string,
  features: readonly Feature[],
  parked: readonly string[],
  reason: string,
): string {
  const failing = features.filter((feature) => feature.status === 'failing');
  const listed = failing
    .slice(0, 40)
    .map(
      (feature) =>
        `- ${feature.id}: ${head(singleLine(feature.title), 160)}${parked.includes(feature.id) ? ' (parked)' : ''}`,
    );
  return `# baton: planning session

You are the planner, not a worker. Rewrite ${stateFiles.plan} so it matches the repository as it is now
and the work that remains. Change no other file.

Why now: ${reason}

## Goal
${head(singleLine(goal), 1_000)}

## Failing features (${failing.length} of ${features.length})
${listed.join('\n')}${failing.length > listed.length ? `\n- … ${failing.length - listed.length} more in ${stateFiles.features}` : ''}

## What a good plan is
- An ordered list of small tasks ("- [ ] F3: ..."), each naming the feature ids it serves; every failing
  feature above appears at least once. Parked features go last, with what would unblock them.
- Look at the code and \`git log --oneline -30\` before you write: drop tasks that are done or obsolete.
- Short: a plan is scaffolding, not a diary (the harness folds it when it grows past its size limit).
`;
}

/**
 * A planning refresh pass: a fresh session rewrites the plan. Only IMPLEMENTATION_PLAN.md may change;
 * anything else the planner touched is put back (tracked files) or moved to scratch (new files).
 */
export async function runPlannerPass(
  context: LoopContext,
  iteration: number,
  features: readonly Feature[],
  reason: string,
  evidenceDir: string,
): Promise<void> {
  const prompt = buildPlannerPrompt(
    context.state.goal,
    features,
    context.state.parked.map((entry) => entry.feature),
    reason,
  );
  writeFileSync(join(evidenceDir, 'planner-prompt.md'), prompt);
  const session = await startSession(context, context.planner, {
    iteration,
    prompt,
    role: 'planner',
    transcriptPath: join(evidenceDir, 'planner-transcript.log'),
  });
  const commit = await commitPaths(
    context.workspace,
    [stateFiles.plan],
    `baton: iteration ${iteration} plan refresh (${head(reason, 60)})`,
  );
  const stray = await keepOnlyPlannerFile(
    context.workspace,
    stateFiles.plan,
    join(evidenceDir, 'planner-scratch'),
  );
  if (stray.length > 0) {
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'plan-rot',
      action: 'restored',
      details: [`the planner may only edit ${stateFiles.plan}; put back: ${stray.slice(0, 10).join(', ')}`],
    });
  }
  context.emit({
    type: 'plan.refreshed',
    iteration,
    reason,
    commit,
    agent: context.planner.id,
    session: plannerSession(session),
  });
}

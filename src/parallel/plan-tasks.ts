import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatonError, exitCodes } from '../errors.ts';
import { keepOnlyPlannerFile, plannerSession } from '../core/planner-scope.ts';
import { commitPaths, runGit, untrackedPaths } from '../git/git.ts';
import { moveToScratch } from '../guards/pollution.ts';
import { orderedTasks } from '../log/task-state.ts';
import { startSession } from '../loop/session.ts';
import { runDir } from '../workspace/paths.ts';
import { head } from '../util/text.ts';
import { parallelState, type ParallelContext } from './context.ts';
import { integrationFeatures } from './feature-evidence.ts';
import { checkTaskGraph, tasksFileName, type GraphCheck } from './task-graph.ts';
import { buildPlanPrompt } from './task-prompt.ts';

/** Planner sessions per revision before the run stops: a planner that cannot write a valid plan needs a person. */
const planAttempts = 3;

/**
 * A planning pass: a fresh planner session writes TASKS.json; the harness validates it (schema, ids,
 * features, dependencies, scopes) and commits it, or shows the planner what was wrong and asks again.
 */
export async function planTasks(context: ParallelContext, passingOracles?: readonly string[]): Promise<void> {
  const { loop } = context;
  const state = parallelState(context);
  const revision = state.revision + 1;
  const merged = orderedTasks(state)
    .filter((task) => task.status === 'merged')
    .map((task) => task.spec.id);
  let problems: string[] = [];
  for (let attempt = 1; attempt <= planAttempts; attempt += 1) {
    const dir = join(runDir(loop.workspace, loop.runId), 'plans', `revision-${revision}-${attempt}`);
    mkdirSync(dir, { recursive: true });
    const features = integrationFeatures(loop.workspace);
    const prompt = buildPlanPrompt({
      goal: loop.state.goal,
      revision,
      // A parked feature waits for a person: it is not planned again until they answer.
      failing: features.features.filter(
        (feature) =>
          feature.status === 'failing' && !loop.state.parked.some((entry) => entry.feature === feature.id),
      ),
      merged,
      abandoned: orderedTasks(state)
        .filter((task) => task.status === 'abandoned' || task.lastReturn !== null)
        .map((task) => ({
          id: task.spec.id,
          reason: task.abandonedReason ?? task.lastReturn?.diagnostics ?? '',
        })),
      lastVerdict: loop.state.lastVerdict,
      problems,
      workers: context.workers,
    });
    writeFileSync(join(dir, 'prompt.md'), prompt);
    const session = await startSession(loop, loop.planner, {
      iteration: 0,
      prompt,
      role: 'planner',
      transcriptPath: join(dir, 'transcript.log'),
    });
    writeFileSync(join(dir, 'handoff.md'), session.finalMessage);
    const stray = await keepOnlyPlannerFile(loop.workspace, tasksFileName, join(dir, 'scratch'));
    if (stray.length > 0) {
      loop.emit({
        type: 'guard.fired',
        iteration: 0,
        guard: 'plan-rot',
        action: 'restored',
        details: [`the planner may only write ${tasksFileName}; put back: ${stray.slice(0, 10).join(', ')}`],
      });
    }
    if (loop.signal.aborted) return;
    const path = join(loop.workspace, tasksFileName);
    const checked: GraphCheck = existsSync(path)
      ? checkTaskGraph(
          readFileSync(path, 'utf8'),
          features.features.map((feature) => feature.id),
          merged,
        )
      : {
          ok: false,
          problems: [`the planner wrote no ${tasksFileName} (${head(session.error ?? session.status, 200)})`],
        };
    if (checked.ok) {
      const commit = await commitPaths(
        loop.workspace,
        [tasksFileName],
        `baton: task plan revision ${revision}`,
      );
      loop.emit({
        type: 'tasks.planned',
        revision,
        tasks: checked.tasks,
        agent: loop.planner.id,
        commit,
        ...(passingOracles === undefined ? {} : { passingOracles }),
        session: plannerSession(session),
      });
      return;
    }
    problems = checked.problems;
    loop.emit({ type: 'plan.refused', revision, attempt, problems, session: plannerSession(session) });
    // A refused plan is not kept on the branch; the next planner session sees the problems instead.
    await runGit(loop.workspace, ['checkout', 'HEAD', '--', tasksFileName], true);
    if ((await untrackedPaths(loop.workspace)).includes(tasksFileName)) {
      moveToScratch(loop.workspace, join(dir, 'refused'), [tasksFileName]);
    }
  }
  throw new BatonError(
    `the planner wrote no valid ${tasksFileName} in ${planAttempts} sessions: ${problems.join('; ')}`,
    {
      code: 'PLAN_INVALID',
      fix: `write ${tasksFileName} yourself (schema in docs/parallel.md), commit it, and \`baton resume\`; or check the planner agent in baton.yaml`,
      exitCode: exitCodes.error,
    },
  );
}

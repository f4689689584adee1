import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { claimsDone, type AgentSessionResult } from '../../agents/agent.ts';
import { commitWork } from '../../core/set-aside.ts';
import type { FeatureList } from '../../workspace/features.ts';
import { head } from '../../util/text.ts';
import { iterationCommitMessage, workCommitMessage } from '../../core/commit-message.ts';
import { hookCheck } from '../../core/check-specs.ts';
import { runCheck } from '../../checks/registry.ts';
import { runGit } from '../../git/git.ts';
import { projectHooks } from '../../git/project-hooks.ts';
import type { CheckResult } from '../../log/events.ts';
import { countPassing } from '../../workspace/features.ts';
import { commitIdentity, type LoopContext } from '../context.ts';
import { guardWorkerChanges } from '../post-work-guards.ts';
import { rollBack } from '../rollback.ts';
import { startWorkerSession } from '../session.ts';
import { recordQuestion, reviewWork } from '../work-review.ts';
import type { CommittedReview } from '../../core/review.ts';
import { throwIfInterrupted } from './interrupted.ts';
import type { PreparedIteration } from './prepare.ts';

/** What the worker's session left, once guarded, committed and reviewed. */
export interface GuardedWork {
  readonly session: AgentSessionResult;
  readonly claimed: boolean;
  readonly workCommit: string | null;
  /** Reasons the work was refused (it was rolled back, kept under a ref). */
  readonly rejections: readonly string[];
  /** What the guards put back or moved; the work stands, but cannot be "done". */
  readonly corrections: readonly string[];
  /** The FEATURES.json to verify against. */
  readonly features: FeatureList;
  /** The project's git hooks, run on the staged change before the commit (empty: none ran). */
  readonly hooks: readonly CheckResult[];
  /** The review of the committed work that stands (undefined: nothing was committed, or it was refused). */
  readonly review: CommittedReview | undefined;
}

/**
 * The project's pre-commit and commit-msg hooks, run in the sandbox on what is staged, as git would run
 * them before a commit (the harness's own git runs no hook). Returns the runner and where its results go.
 */
async function hookRunner(
  context: LoopContext,
  prepared: PreparedIteration,
): Promise<{ readonly run: (() => Promise<void>) | undefined; readonly results: CheckResult[] }> {
  const results: CheckResult[] = [];
  const hooks = context.config.git.hooks ? await projectHooks(context.workspace) : [];
  if (hooks.length === 0) return { run: undefined, results };
  const run = async (): Promise<void> => {
    // Git runs no hook when there is nothing to commit.
    if ((await runGit(context.workspace, ['diff', '--cached', '--quiet'], true)).exitCode === 0) return;
    const messageFile = join(prepared.dir, 'COMMIT_EDITMSG');
    writeFileSync(
      messageFile,
      iterationCommitMessage({
        runId: context.runId,
        iteration: prepared.iteration,
        outcome: 'progress',
        handoff: '',
        featuresPassing: countPassing(prepared.featuresBefore),
        featuresTotal: prepared.featuresBefore.features.length,
        newlyPassing: [],
        checks: [],
        verifiedTree: null,
      }),
    );
    for (const hook of hooks) {
      const spec = hookCheck(hook, context.config, relative(context.workspace, messageFile));
      results.push(await runCheck(spec, prepared.checkContext));
    }
  };
  return { run, results };
}

/** Work: a fresh agent session in its own process group, with its handoff kept as evidence. */
export async function runWork(
  context: LoopContext,
  prepared: PreparedIteration,
): Promise<AgentSessionResult> {
  const { iteration, dir } = prepared;
  const session = await startWorkerSession(context, iteration, prepared.prompt, dir);
  writeFileSync(join(dir, 'handoff.md'), session.finalMessage);
  context.emit({
    type: 'agent.ended',
    iteration,
    status: session.status,
    exitCode: session.exitCode,
    durationMs: Math.round(session.durationMs),
    usage: session.usage,
    claimedDone: claimsDone(session.finalMessage),
    finalMessage: head(session.finalMessage, 2_000),
  });
  throwIfInterrupted(context, iteration);
  return session;
}

/**
 * Guard the worker's changes, commit what stands, review the diff for test gaming; refused work is
 * rolled back (kept under a ref), and a worker that asked instead of working has its question recorded.
 */
export async function guardWork(
  context: LoopContext,
  prepared: PreparedIteration,
  session: AgentSessionResult,
): Promise<GuardedWork> {
  const { iteration, featuresBefore, headBefore } = prepared;
  const guarded = await guardWorkerChanges(context, iteration, featuresBefore);
  const hooks = await hookRunner(context, prepared);
  const committed = await commitWork(
    context.workspace,
    workCommitMessage(context.runId, iteration, session.finalMessage),
    {
      dir: join(context.workspace, '.baton', 'scratch', context.runId, String(iteration), 'uncommittable'),
      shown: `.baton/scratch/${context.runId}/${iteration}/uncommittable/`,
    },
    commitIdentity(context),
    hooks.run,
  );
  const workCommit = committed.ok ? committed.commit : null;
  if (workCommit !== null) {
    context.emit({ type: 'commit.created', iteration, commit: workCommit, purpose: 'work' });
  }
  if (!committed.ok) {
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'uncommittable',
      action: 'rejected',
      details: [committed.reason],
    });
  }
  const reviewed =
    workCommit !== null && session.status === 'completed'
      ? await reviewWork(context, iteration, headBefore, workCommit, featuresBefore)
      : undefined;
  const rejections = [
    ...guarded.rejections,
    ...(committed.ok ? [] : [committed.reason]),
    // A worker that died (crashed, killed, timed out) leaves half-done work: the next one starts clean.
    ...(session.status === 'completed'
      ? []
      : [`the worker did not finish (${session.error ?? session.status}); its changes were set aside`]),
    ...(reviewed?.rejections ?? []),
  ];
  if (rejections.length > 0) {
    await rollBack(context, iteration, workCommit, headBefore, rejections.join('; '));
  }
  recordQuestion(context, iteration, session, workCommit !== null, featuresBefore);
  return {
    session,
    claimed: claimsDone(session.finalMessage),
    workCommit,
    rejections,
    corrections: guarded.corrections,
    features: rejections.length > 0 ? featuresBefore : guarded.features,
    hooks: rejections.length > 0 ? [] : hooks.results,
    review: rejections.length > 0 ? undefined : reviewed?.review,
  };
}

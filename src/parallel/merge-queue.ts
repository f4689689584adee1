import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { headCommit, runGit } from '../git/git.ts';
import type { CheckResult } from '../log/events.ts';
import type { TaskState } from '../log/task-state.ts';
import { checkConcurrency, runChecks, smokeCheck, verificationChecks } from '../core/check-specs.ts';
import { readOutputTail } from '../checks/command-check.ts';
import { runCheck, type CheckContext, type CheckSpec } from '../checks/registry.ts';
import { firstLine, plural } from '../util/text.ts';
import { attemptDir, type ParallelContext } from './context.ts';
import { passingBefore, passingIds, regressions } from '../core/evidence.ts';
import { integrationFeatures, recordFeatureChecks } from './feature-evidence.ts';
import { reviewAttempt, type AttemptOutcome } from './task-worker.ts';
import { detachedWorktreeAt, runWorktreesDir } from './worktrees.ts';
import { gatherTestEvidence, judgeTestChanges, type TestEvidenceInput } from '../core/test-evidence.ts';
import { refuseTestChanges } from '../loop/propose.ts';
import type { Feature } from '../workspace/features.ts';

export type MergeOutcome =
  | Extract<AttemptOutcome, { landed: false }>
  | {
      readonly landed: true;
      readonly commit: string;
      readonly checks: readonly CheckResult[];
      readonly passingFeatures: readonly string[];
    };

/** Where the merge queue rebases and verifies; kept between merges, removed when the run stops. */
export function mergeWorktreePath(context: ParallelContext): string {
  return join(runWorktreesDir(context.loop.workspace, context.loop.runId), '_merge');
}

/**
 * The checks a candidate must pass: the task's own commands and features, every feature already passing
 * on the tip (a merge may not break it), and the oracles.
 */
function mergeFeatures(task: TaskState, features: readonly Feature[]): Feature[] {
  return features.filter(
    (feature) => task.spec.features.includes(feature.id) || feature.status === 'passing',
  );
}

function mergeChecks(context: ParallelContext, task: TaskState): CheckSpec[] {
  const { config } = context.loop;
  return [
    ...task.spec.verify.map((command, index) => ({
      name: `${task.spec.id}-${index + 1}`,
      type: 'command' as const,
      kind: 'task' as const,
      command,
      timeoutMs: config.verifyTimeoutMs,
    })),
    ...verificationChecks(mergeFeatures(task, integrationFeatures(context.loop.workspace).features), config),
  ];
}

/** Oracles that held on the integration branch the last time they ran: they must keep holding. */
export type PassingOracles = ReadonlySet<string>;

async function rebaseOnto(
  worktree: string,
  tip: string,
): Promise<{ ok: true } | { ok: false; files: string[]; detail: string }> {
  const rebase = await runGit(worktree, ['-c', 'core.hooksPath=/dev/null', 'rebase', '--quiet', tip], true);
  if (rebase.exitCode === 0) return { ok: true };
  const unmerged = await runGit(worktree, ['diff', '--name-only', '--diff-filter=U'], true);
  await runGit(worktree, ['rebase', '--abort'], true);
  return {
    ok: false,
    files: unmerged.stdout.split('\n').filter((line) => line !== ''),
    detail: firstLine(`${rebase.stdout}\n${rebase.stderr}`.trim()),
  };
}

/**
 * The smoke test ("the workspace is not broken") on the candidate: when it fails there and passes on the
 * integration tip, the task broke it, and its result is returned. When it fails on the tip too, the task
 * is not to blame. The merge worktree is left at the candidate either way.
 */
async function smokeRegression(
  context: ParallelContext,
  worktree: string,
  tip: string,
  checkContext: CheckContext,
): Promise<CheckResult | undefined> {
  const spec = smokeCheck(worktree, context.loop.config);
  if (spec === undefined) return undefined;
  const candidate = await runCheck(spec, checkContext);
  if (candidate.passed) return undefined;
  const at = (await headCommit(worktree)) ?? '';
  await runGit(worktree, ['checkout', '--quiet', '--force', '--detach', tip], true);
  const onTip = join(checkContext.outputDir, 'smoke-on-tip');
  mkdirSync(onTip, { recursive: true });
  const before = await runCheck(spec, { ...checkContext, outputDir: onTip });
  await runGit(worktree, ['checkout', '--quiet', '--force', '--detach', at], true);
  return before.passed ? candidate : undefined;
}

/**
 * Land one finished task, deterministically and with no model involved: rebase its commit onto the
 * integration tip in the merge worktree, run its checks there, and fast-forward the integration branch
 * only when they pass. A conflict or a failing check sends the task back with the diagnostics.
 */
export async function mergeTask(
  context: ParallelContext,
  task: TaskState,
  commit: string,
  passingOracles: PassingOracles,
): Promise<MergeOutcome> {
  const { loop } = context;
  const id = task.spec.id;
  const worktree = mergeWorktreePath(context);
  const reviewed = await reviewAttempt(context, task, task.base ?? commit, commit);
  if (!reviewed.landed) return reviewed;
  const tip = (await headCommit(loop.workspace)) ?? '';
  await context.repository.run(() => detachedWorktreeAt(loop.workspace, worktree, commit));
  {
    const rebased = await rebaseOnto(worktree, tip);
    if (!rebased.ok) {
      return {
        landed: false,
        reason: 'conflict',
        diagnostics: `rebasing onto the integration tip ${tip.slice(0, 8)} conflicted in ${rebased.files.join(', ') || '(unknown files)'} (${rebased.detail}): another task changed the same lines and landed first. Redo the task on top of the merged work.`,
      };
    }
    const candidate = (await headCommit(worktree)) ?? commit;
    const checkContext: CheckContext = {
      workspace: loop.workspace,
      cwd: worktree,
      outputDir: join(attemptDir(context, id, task.attempts), 'merge-checks'),
      env: { ...loop.env, BATON_RUN_ID: loop.runId, BATON_TASK_ID: id },
      signal: loop.signal,
      sandbox: loop.sandbox,
    };
    mkdirSync(checkContext.outputDir, { recursive: true });
    // The task's own checks must pass; anything else only may not regress (features and oracles). One
    // that passed before and fails here is run once more: a flip is flaky, not the task's regression.
    const features = integrationFeatures(loop.workspace);
    const wasPassing = passingBefore(
      features.features.filter((feature) => feature.status === 'passing').map((feature) => feature.id),
      [...passingOracles],
    );
    // The task's test changes are judged as in the serial loop, beside the merge checks: the accepted
    // tests (the tip's) on its code, and its tests on the code where a feature last failed.
    const evidence: TestEvidenceInput = {
      workspace: loop.workspace,
      runId: loop.runId,
      label: `${id}-${task.attempts}`,
      base: tip,
      candidate,
      review: reviewed.review,
      features: { ...features, features: mergeFeatures(task, features.features) },
      config: loop.config,
      checkContext,
    };
    const [checks, gathered] = await Promise.all([
      runChecks(mergeChecks(context, task), checkContext, {
        passedBefore: wasPassing,
        concurrency: checkConcurrency(loop.config),
      }),
      gatherTestEvidence(evidence, wasPassing, loop.state.lastFailedAt),
    ]);
    if (!gathered.ok) {
      return {
        landed: false,
        reason: 'refused',
        diagnostics: `the harness could not run the accepted tests beside the task's test changes (${gathered.problem}); try again, or make the change smaller`,
      };
    }
    const judged = judgeTestChanges(evidence, wasPassing, checks, gathered.accepted, gathered.onOldCode);
    // A change of tested behaviour is a proposal, applied between merges once accepted.
    const testRefusal = await refuseTestChanges(
      loop,
      { iteration: 0, task: id, commit: candidate, base: tip },
      judged,
      gathered.accepted,
    );
    if (testRefusal !== undefined) {
      return { landed: false, reason: 'refused', diagnostics: testRefusal.refusal };
    }
    const smoke = await smokeRegression(context, worktree, tip, checkContext);
    const regressed = new Set([
      ...regressions(checks, wasPassing),
      ...(smoke === undefined ? [] : ['smoke:smoke']),
    ]);
    if (regressed.size > 0) {
      loop.emit({
        type: 'guard.fired',
        iteration: 0,
        task: id,
        guard: 'regression',
        action: 'rejected',
        details: [`broke what passed before: ${[...regressed].join(', ')}`],
      });
    }
    const failed = checks.filter(
      (check) =>
        !check.passed &&
        (check.kind === 'task' ||
          (check.kind === 'feature' && task.spec.features.includes(check.name)) ||
          regressed.has(`${check.kind}:${check.name}`)),
    );
    const refused = smoke === undefined ? failed : [...failed, smoke];
    if (refused.length > 0) {
      return {
        landed: false,
        reason: 'verification-failed',
        diagnostics: refused
          .map(
            (check) =>
              `${check.kind} ${check.name} (\`${check.command}\`) ${check.ended}:\n${readOutputTail(loop.workspace, check.outputPath, 1_200)}`,
          )
          .join('\n\n'),
      };
    }
    const merged = await context.repository.run(() =>
      runGit(loop.workspace, ['merge', '--ff-only', '--quiet', candidate], true),
    );
    if (merged.exitCode !== 0) {
      return {
        landed: false,
        reason: 'conflict',
        diagnostics: `the integration branch moved while the task was verified (${firstLine(merged.stderr)}); it is queued again`,
      };
    }
    const recorded = await recordFeatureChecks(loop.workspace, checks, {
      sequence: (loop.state.parallel?.merges ?? 0) + 1,
      commit: candidate,
      at: loop.now().toISOString(),
      message: `baton: task ${id} merged; ${plural(checks.filter((check) => check.kind === 'feature' && check.passed).length, 'feature')} verified`,
    });
    return {
      landed: true,
      commit: recorded.commit ?? candidate,
      checks,
      passingFeatures: passingIds(recorded.list),
    };
  }
}

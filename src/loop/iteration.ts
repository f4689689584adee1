import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimsDone, type AgentSessionResult } from '../agents/agent.ts';
import type { CheckResult } from '../log/events.ts';
import {
  changedFiles,
  changedPaths,
  commitAll,
  commitPaths,
  diffBetween,
  headCommit,
  listTree,
  resetHard,
  stashAll,
  tag,
  unifiedDiff,
  updateRef,
} from '../git/git.ts';
import { parseUnifiedDiff, reviewDiff } from '../guards/diff-review.ts';
import { featureOfQuestion, questionAsked } from '../guards/question.ts';
import { countPassing, readFeatureList, writeFeatureList, type FeatureList } from '../workspace/features.ts';
import { iterationDir, stateFiles } from '../workspace/paths.ts';
import { recordProgress } from '../workspace/progress.ts';
import { firstLine, head } from '../util/text.ts';
import { activeAgent, type LoopContext } from './context.ts';
import { readOutputTail, runCheck, type CheckSpec } from './checks.ts';
import { escalateAndReplan, focusFeature } from './escalate.ts';
import { judge } from './judge.ts';
import { guardWorkerChanges } from './post-work-guards.ts';
import { buildPrompt, type FailingExcerpt } from './prompt.ts';

function excerptOf(context: LoopContext, check: CheckResult): FailingExcerpt {
  return {
    name: `${check.kind} ${check.name}`,
    command: check.command,
    ended: check.ended,
    output: readOutputTail(context.workspace, check.outputPath, 2_048),
  };
}

function smokeSpec(context: LoopContext): CheckSpec | undefined {
  const command =
    context.config.smoke.command ??
    (existsSync(join(context.workspace, stateFiles.init)) ? `./${stateFiles.init} smoke` : undefined);
  return command === undefined
    ? undefined
    : { name: 'smoke', kind: 'smoke', command, timeoutMs: context.config.smoke.timeoutMs };
}

function currentFeatures(context: LoopContext): FeatureList {
  const result = readFeatureList(context.workspace);
  // The harness validated FEATURES.json at the start of the run and after every worker; if it is now
  // unreadable, someone else changed it mid-run, and guessing would lose evidence.
  if (!result.ok) {
    throw new Error(`FEATURES.json became unreadable between iterations: ${result.problems.join('; ')}`);
  }
  return result.list;
}

async function startSession(
  context: LoopContext,
  iteration: number,
  prompt: string,
  dir: string,
): Promise<AgentSessionResult> {
  const agent = activeAgent(context);
  const sessionDir = mkdtempSync(join(tmpdir(), 'baton-session-'));
  try {
    return await agent.startSession({
      prompt,
      cwd: context.workspace,
      env: {
        ...context.env,
        BATON_RUN_ID: context.runId,
        BATON_ITERATION: String(iteration),
        BATON_WORKSPACE: context.workspace,
      },
      timeoutMs: context.agentTimeoutMs,
      signal: context.signal,
      transcriptPath: join(dir, 'transcript.log'),
      sessionDir,
      onStart: (pid) => {
        context.emit({ type: 'agent.started', iteration, agent: agent.id, pid });
      },
    });
  } finally {
    rmSync(sessionDir, { recursive: true, force: true });
  }
}

async function runAllChecks(
  context: LoopContext,
  features: FeatureList,
  checkContext: { workspace: string; outputDir: string; env: NodeJS.ProcessEnv; signal: AbortSignal },
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

/** Keep refused work under a ref (nothing is lost) and put the branch back. */
async function rollBack(
  context: LoopContext,
  iteration: number,
  work: string | null,
  to: string,
  reason: string,
): Promise<void> {
  let savedAs: string | null = null;
  if (work !== null && work !== to) {
    savedAs = `refs/baton/rejected/${context.runId}/${iteration}`;
    await updateRef(context.workspace, savedAs, work);
  }
  await resetHard(context.workspace, to);
  context.emit({ type: 'iteration.rolled-back', iteration, to, savedAs, reason });
}

/** One iteration: preflight, orient, work, guard, verify, judge, settle, record. */
export async function runIteration(context: LoopContext, iteration: number): Promise<void> {
  const startedAt = performance.now();
  context.emit({
    type: 'iteration.started',
    iteration,
    headCommit: (await headCommit(context.workspace)) ?? '',
  });
  const dir = iterationDir(context.workspace, context.runId, iteration);
  mkdirSync(join(dir, 'checks'), { recursive: true });
  const checkContext = {
    workspace: context.workspace,
    outputDir: join(dir, 'checks'),
    env: context.env,
    signal: context.signal,
  };

  // Preflight: escalate a stall, refresh a rotten plan, then check the workspace is not already broken.
  await escalateAndReplan(context, iteration, currentFeatures(context), dir);
  const featuresBefore = currentFeatures(context);
  const headBefore = (await headCommit(context.workspace)) ?? '';
  const smoke = smokeSpec(context);
  const smokeResult = smoke === undefined ? null : await runCheck(smoke, checkContext);
  context.emit({ type: 'smoke.ended', iteration, result: smokeResult });

  // Orient: a fresh prompt from disk and from the last verdict, bounded in size.
  const parked = context.state.parked.map((entry) => entry.feature);
  const prompt = buildPrompt({
    runId: context.runId,
    iteration,
    goal: context.state.goal,
    features: featuresBefore.features,
    parked,
    smoke:
      smokeResult === null
        ? null
        : {
            passed: smokeResult.passed,
            excerpt: smokeResult.passed ? null : excerptOf(context, smokeResult),
          },
    lastVerdict: context.state.lastVerdict,
    failing: context.previousChecks
      .filter((check) => !check.passed && check.kind !== 'smoke')
      .map((check) => excerptOf(context, check)),
  });
  writeFileSync(join(dir, 'prompt.md'), prompt);

  // Work: a fresh agent session in its own process group.
  const session = await startSession(context, iteration, prompt, dir);
  const claimed = claimsDone(session.finalMessage);
  writeFileSync(join(dir, 'handoff.md'), session.finalMessage);
  context.emit({
    type: 'agent.ended',
    iteration,
    status: session.status,
    exitCode: session.exitCode,
    durationMs: Math.round(session.durationMs),
    usage: session.usage,
    claimedDone: claimed,
    finalMessage: head(session.finalMessage, 2_000),
  });

  // Guard the worker's changes, commit what stands, then review the diff for test gaming.
  const guarded = await guardWorkerChanges(context, iteration, featuresBefore);
  const workCommit = await commitAll(
    context.workspace,
    `baton: iteration ${iteration} work${session.finalMessage.trim() === '' ? '' : `: ${head(firstLine(session.finalMessage), 120)}`}`,
  );
  if (workCommit !== null) {
    context.emit({ type: 'commit.created', iteration, commit: workCommit, purpose: 'work' });
  }
  const rejections = [...guarded.rejections];
  if (workCommit !== null) {
    const { guards } = context.config;
    const violations = reviewDiff({
      files: await changedFiles(context.workspace, headBefore, workCommit),
      lines: parseUnifiedDiff(await unifiedDiff(context.workspace, headBefore, workCommit)),
      testFiles: guards.testFiles,
      protectedPaths: guards.protectedPaths,
      locked: context.locked,
      lockedNow: context.locked.size === 0 ? new Map() : await listTree(context.workspace, workCommit),
      testGaming: guards.testGaming,
      ignoreDirectives: guards.ignoreDirectives,
    });
    for (const violation of violations) {
      context.emit({
        type: 'guard.fired',
        iteration,
        guard: violation.guard,
        action: 'rejected',
        details: [violation.detail],
      });
    }
    rejections.push(...violations.map((violation) => `the worker ${violation.detail}`));
  }
  const rejected = rejections.length > 0;
  if (rejected) await rollBack(context, iteration, workCommit, headBefore, rejections.join('; '));

  // A worker that asked instead of working: record the question, park its feature, carry on.
  const question = context.config.guards.questions
    ? questionAsked(session.finalMessage, workCommit !== null)
    : undefined;
  if (question !== undefined) {
    const failingIds = featuresBefore.features
      .filter((feature) => feature.status === 'failing' && !parked.includes(feature.id))
      .map((feature) => feature.id);
    const focus = featureOfQuestion(question, failingIds, focusFeature(featuresBefore, parked)) ?? null;
    context.emit({ type: 'question.asked', iteration, question, feature: focus });
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'question',
      action: 'recorded',
      details: [`question for a person: ${head(question, 300)}`],
    });
    if (focus !== null) {
      context.emit({
        type: 'feature.parked',
        iteration,
        feature: focus,
        reason: `waiting for an answer: ${head(question, 200)}`,
      });
    }
  }

  // Verify: the harness runs every feature's verify command and every oracle itself.
  const features = rejected ? featuresBefore : guarded.features;
  let checks: readonly CheckResult[];
  let verifiedCommit = (await headCommit(context.workspace)) ?? '';
  if (rejected && context.previousChecks.length > 0) {
    checks = context.previousChecks; // The tree is exactly as before: the earlier results still hold.
  } else {
    checks = await runAllChecks(context, features, checkContext);
  }
  context.emit({ type: 'verify.ended', iteration, commit: verifiedCommit, checks });

  // Whatever verification (or the worker) left uncommitted is stashed, never deleted.
  const polluted = await changedPaths(context.workspace);
  if (polluted.length > 0) {
    const stash = await stashAll(
      context.workspace,
      `baton: files left uncommitted in iteration ${iteration}`,
    );
    context.emit({ type: 'tree.polluted', iteration, paths: polluted, stash });
  }

  // Silent regression: a check that passed before and fails now.
  const wasPassing = new Set([
    ...featuresBefore.features
      .filter((feature) => feature.status === 'passing')
      .map((feature) => `feature:${feature.id}`),
    ...context.previousChecks
      .filter((check) => check.kind === 'oracle' && check.passed)
      .map((check) => `oracle:${check.name}`),
  ]);
  const regressed = checks
    .filter((check) => !check.passed && wasPassing.has(`${check.kind}:${check.name}`))
    .map((check) => `${check.kind}:${check.name}`);
  const refusals = [...rejections, ...guarded.corrections];
  let rolledBackForRegression = false;
  if (regressed.length > 0 && !rejected) {
    const detail = `broke what passed before: ${regressed.join(', ')}`;
    if (context.config.guards.regression === 'rollback') {
      context.emit({
        type: 'guard.fired',
        iteration,
        guard: 'regression',
        action: 'rejected',
        details: [detail],
      });
      await rollBack(
        context,
        iteration,
        verifiedCommit,
        context.checkpoint.commit,
        `the worker ${detail}; rolled back to the last checkpoint`,
      );
      refusals.push(
        `the worker ${detail}; the iteration was rolled back to the last checkpoint: fix the feature without breaking the others`,
      );
      verifiedCommit = context.checkpoint.commit;
      // Verify the restored tree again, so every result recorded below describes what is on disk.
      checks = await runAllChecks(context, currentFeatures(context), {
        ...checkContext,
        outputDir: join(dir, 'checks-after-rollback'),
      });
      context.emit({ type: 'verify.ended', iteration, commit: verifiedCommit, checks });
      rolledBackForRegression = true;
    } else {
      context.emit({
        type: 'guard.fired',
        iteration,
        guard: 'regression',
        action: 'kept',
        details: [detail],
      });
      refusals.push(`the worker ${detail}: fix this first, before any new work`);
    }
  }
  const rolledBack = rejected || rolledBackForRegression;

  // Judge: deterministic, from the harness's own evidence.
  const featuresNow = rolledBackForRegression ? currentFeatures(context) : features;
  const verdict = judge({
    done: context.config.done,
    checks,
    featureIds: featuresNow.features.map((feature) => feature.id),
    claimed,
    pollutedPaths: polluted,
    refusals,
  });
  context.emit({ type: 'judge.ended', iteration, verdict });
  writeFileSync(join(dir, 'judge.json'), `${JSON.stringify(verdict, null, 2)}\n`);
  writeFileSync(
    join(dir, 'diff.patch'),
    workCommit === null ? '' : await diffBetween(context.workspace, headBefore, workCommit),
  );

  // Record: statuses and evidence in FEATURES.json, an entry in PROGRESS.md, one commit.
  const byFeature = new Map(
    checks.filter((check) => check.kind === 'feature').map((check) => [check.name, check]),
  );
  const at = context.now().toISOString();
  const updated: FeatureList = {
    ...featuresNow,
    features: featuresNow.features.map((feature) => {
      const check = byFeature.get(feature.id);
      if (check === undefined || rolledBack) return feature;
      return {
        ...feature,
        status: check.passed ? 'passing' : 'failing',
        evidence: {
          iteration,
          commit: verifiedCommit,
          command: check.command,
          exitCode: check.exitCode ?? -1,
          at,
          output: check.outputPath,
        },
      };
    }),
  };
  writeFeatureList(context.workspace, updated);
  const progressed =
    !rolledBack &&
    checks.some(
      (check) => check.passed && check.kind !== 'smoke' && !wasPassing.has(`${check.kind}:${check.name}`),
    );
  const passingFeatures = updated.features
    .filter((feature) => feature.status === 'passing')
    .map((feature) => feature.id);
  const outcome = verdict.done
    ? 'done'
    : rolledBack
      ? 'rolled back'
      : verdict.claimRejected
        ? 'claim rejected'
        : progressed
          ? 'progress'
          : 'no progress';
  recordProgress(
    context.workspace,
    {
      iteration,
      at,
      outcome: `${outcome}${regressed.length > 0 ? `; regressed: ${regressed.join(', ')}` : ''}; agent ${session.status}`,
      featuresPassing: passingFeatures.length,
      featuresTotal: updated.features.length,
      commits: workCommit === null || rolledBack ? [] : [workCommit],
      handoff: session.finalMessage,
      verdict: verdict.reason,
    },
    context.config.progress.keepEntries,
  );
  const recordCommit = await commitPaths(
    context.workspace,
    [stateFiles.features, stateFiles.progress],
    `baton: iteration ${iteration} verified: ${countPassing(updated)}/${updated.features.length} features passing${verdict.done ? ', done' : ''}`,
  );
  if (recordCommit !== null) {
    context.emit({ type: 'commit.created', iteration, commit: recordCommit, purpose: 'record' });
  }

  // A checkpoint marks a state worth returning to: nothing that passed before fails now.
  const smokeOk = smokeResult === null || smokeResult.passed;
  if ((regressed.length === 0 || rolledBackForRegression) && smokeOk) {
    const commit = recordCommit ?? (await headCommit(context.workspace)) ?? verifiedCommit;
    const name = `baton/${context.runId}/checkpoint-${iteration}`;
    await tag(context.workspace, name, commit);
    context.emit({ type: 'checkpoint.created', iteration, tag: name, commit });
    context.checkpoint = { commit, checks };
  }
  context.previousChecks = checks;
  context.emit({
    type: 'iteration.ended',
    iteration,
    durationMs: Math.round(performance.now() - startedAt),
    featuresPassing: passingFeatures.length,
    featuresTotal: updated.features.length,
    passingFeatures,
    progressed,
    regressed,
    summary: `${outcome}: ${passingFeatures.length}/${updated.features.length} features passing${session.finalMessage.trim() === '' ? '' : `; worker: ${head(firstLine(session.finalMessage), 100)}`}`,
  });
}

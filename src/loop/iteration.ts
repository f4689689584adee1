import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimsDone, type AgentSessionResult } from '../agents/agent.ts';
import type { CheckResult } from '../log/events.ts';
import {
  changedPaths,
  commitAll,
  commitPaths,
  diffBetween,
  headCommit,
  restorePath,
  stashAll,
  tag,
} from '../git/git.ts';
import { countPassing, readFeatureList, writeFeatureList, type FeatureList } from '../workspace/features.ts';
import { iterationDir, stateFiles } from '../workspace/paths.ts';
import { recordProgress } from '../workspace/progress.ts';
import { firstLine, head } from '../util/text.ts';
import type { LoopContext } from './context.ts';
import { readOutputTail, runCheck, type CheckSpec } from './checks.ts';
import { reviewFeatureEdit } from './feature-guard.ts';
import { judge } from './judge.ts';
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

/** One iteration: preflight, orient, work, guard, verify, judge, settle, record. */
export async function runIteration(context: LoopContext, iteration: number): Promise<void> {
  const startedAt = performance.now();
  const headBefore = (await headCommit(context.workspace)) ?? '';
  context.emit({ type: 'iteration.started', iteration, headCommit: headBefore });
  const dir = iterationDir(context.workspace, context.runId, iteration);
  mkdirSync(join(dir, 'checks'), { recursive: true });
  const checkContext = {
    workspace: context.workspace,
    outputDir: join(dir, 'checks'),
    env: context.env,
    signal: context.signal,
  };
  const featuresBefore = currentFeatures(context);

  // Preflight: is the workspace already broken before this worker touches it?
  const smoke = smokeSpec(context);
  const smokeResult = smoke === undefined ? null : await runCheck(smoke, checkContext);
  context.emit({ type: 'smoke.ended', iteration, result: smokeResult });

  // Orient: a fresh prompt from disk and from the last verdict, bounded in size.
  const prompt = buildPrompt({
    runId: context.runId,
    iteration,
    goal: context.state.goal,
    features: featuresBefore.features,
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
  const sessionDir = mkdtempSync(join(tmpdir(), 'baton-session-'));
  let session: AgentSessionResult;
  try {
    session = await context.agent.startSession({
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
        context.emit({ type: 'agent.started', iteration, agent: context.agent.id, pid });
      },
    });
  } finally {
    rmSync(sessionDir, { recursive: true, force: true });
  }
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

  // Guard: FEATURES.json belongs to the harness where status and evidence are concerned.
  const review = reviewFeatureEdit(featuresBefore, readFeatureList(context.workspace));
  if (review.restore) await restorePath(context.workspace, stateFiles.features);
  else writeFeatureList(context.workspace, review.list);
  if (review.problems.length > 0) {
    context.emit({ type: 'features.rejected', iteration, problems: review.problems });
  }
  const features = review.restore ? featuresBefore : review.list;

  // Settle the worker's changes in a commit of their own, so the evidence points at exactly what was verified.
  const workCommit = await commitAll(
    context.workspace,
    `baton: iteration ${iteration} work${session.finalMessage.trim() === '' ? '' : `: ${head(firstLine(session.finalMessage), 120)}`}`,
  );
  if (workCommit !== null) {
    context.emit({ type: 'commit.created', iteration, commit: workCommit, purpose: 'work' });
  }
  const verifiedCommit = (await headCommit(context.workspace)) ?? '';

  // Verify: the harness runs every feature's verify command and every oracle itself.
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
  const checks: CheckResult[] = [];
  for (const spec of specs) checks.push(await runCheck(spec, checkContext));
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

  // Judge: deterministic, from the harness's own evidence.
  const verdict = judge({
    done: context.config.done,
    checks,
    featureIds: features.features.map((feature) => feature.id),
    claimed,
    pollutedPaths: polluted,
    featuresRejected: review.problems,
  });
  context.emit({ type: 'judge.ended', iteration, verdict });
  writeFileSync(join(dir, 'judge.json'), `${JSON.stringify(verdict, null, 2)}\n`);
  writeFileSync(join(dir, 'diff.patch'), await diffBetween(context.workspace, headBefore, verifiedCommit));

  // Record: statuses and evidence in FEATURES.json, an entry in PROGRESS.md, one commit.
  const byFeature = new Map(
    checks.filter((check) => check.kind === 'feature').map((check) => [check.name, check]),
  );
  const at = context.now().toISOString();
  const updated: FeatureList = {
    ...features,
    features: features.features.map((feature) => {
      const check = byFeature.get(feature.id);
      if (check === undefined) return feature;
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
  const progressed = checks.some(
    (check) => check.passed && !wasPassing.has(`${check.kind}:${check.name}`) && check.kind !== 'smoke',
  );
  const passingFeatures = updated.features
    .filter((feature) => feature.status === 'passing')
    .map((feature) => feature.id);
  const outcome = verdict.done
    ? 'done'
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
      commits: workCommit === null ? [] : [workCommit],
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
  if (regressed.length === 0 && smokeOk) {
    const commit = recordCommit ?? verifiedCommit;
    const name = `baton/${context.runId}/checkpoint-${iteration}`;
    await tag(context.workspace, name, commit);
    context.emit({ type: 'checkpoint.created', iteration, tag: name, commit });
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

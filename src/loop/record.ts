import type { AgentSessionResult } from '../agents/agent.ts';
import { newlyPassing, passingIds, withEvidence } from '../core/evidence.ts';
import { checkpointRef, verifiedRef } from '../git/baton-refs.ts';
import { iterationCommitMessage } from '../core/commit-message.ts';
import { amendWithPaths, commitPaths, headCommit, runGit, treeOf, updateRef } from '../git/git.ts';
import type { CheckResult, Verdict } from '../log/events.ts';
import { countPassing, writeFeatureList, type FeatureList } from '../workspace/features.ts';
import { stateFiles } from '../workspace/paths.ts';
import { recordProgress } from '../workspace/progress.ts';
import { firstLine, head } from '../util/text.ts';
import { commitIdentity, type LoopContext } from './context.ts';

export interface IterationRecord {
  readonly iteration: number;
  readonly startedAt: number;
  readonly features: FeatureList;
  readonly checks: readonly CheckResult[];
  readonly verdict: Verdict;
  readonly session: AgentSessionResult;
  readonly workCommit: string | null;
  readonly verifiedCommit: string;
  /** Checks that passed when the iteration started (`kind:name`). */
  readonly wasPassing: ReadonlySet<string>;
  readonly regressed: readonly string[];
  /** The iteration's work was refused or rolled back: statuses stay as they were. */
  readonly rolledBack: boolean;
  /** A regression was rolled back: the tree is the checkpoint's again, worth a new checkpoint. */
  readonly restoredCheckpoint: boolean;
  readonly smokePassed: boolean;
}

/**
 * The iteration's commit. With `git.commit: one` (the default) the worker's accepted change and the
 * harness's record of it (statuses, evidence, progress) are one commit, by the person's identity, with
 * trailers naming the run, the iteration, the evidence and the tree the checks ran on; refused or
 * rolled-back work leaves one commit of the record alone. `two` keeps them apart.
 */
async function commitRecord(
  context: LoopContext,
  record: IterationRecord,
  settled: {
    readonly outcome: string;
    readonly updated: FeatureList;
    readonly newly: readonly string[];
    readonly verifiedTree: string | null;
  },
): Promise<string | null> {
  const { iteration } = record;
  const paths = [stateFiles.features, stateFiles.progress];
  const tip = await headCommit(context.workspace);
  const workStands = record.workCommit !== null && !record.rolledBack && tip === record.workCommit;
  const message = iterationCommitMessage({
    runId: context.runId,
    iteration,
    outcome: settled.outcome,
    handoff: record.session.finalMessage,
    featuresPassing: countPassing(settled.updated),
    featuresTotal: settled.updated.features.length,
    newlyPassing: settled.newly,
    checks: record.checks,
    verifiedTree: settled.verifiedTree,
  });
  const identity = commitIdentity(context);
  // The commit the checks ran on, when it is folded into the iteration's one commit.
  const folded = workStands && context.config.git.commit === 'one' ? record.workCommit : null;
  const commit =
    folded !== null
      ? await amendWithPaths(context.workspace, paths, message, identity)
      : await commitPaths(context.workspace, paths, message, identity);
  // A ref keeps the folded commit, so the evidence in FEATURES.json (which cannot name the commit it
  // is part of) names a commit that stays.
  if (folded !== null) await updateRef(context.workspace, verifiedRef(context.runId, iteration), folded);
  if (commit !== null) {
    context.emit({
      type: 'commit.created',
      iteration,
      commit,
      purpose: folded !== null ? 'iteration' : 'record',
    });
  }
  return commit;
}

/**
 * Settle and record: statuses and evidence in FEATURES.json (only the harness writes them), an entry in
 * PROGRESS.md, one commit, a checkpoint ref when nothing regressed, and the iteration.ended event.
 */
export async function recordIteration(context: LoopContext, record: IterationRecord): Promise<void> {
  const { iteration, checks, verdict, session } = record;
  const at = context.now().toISOString();
  const verifiedTree = await treeOf(context.workspace, record.verifiedCommit);
  // Refused or rolled-back work settles nothing: statuses stay as they were.
  const updated: FeatureList = record.rolledBack
    ? record.features
    : withEvidence(record.features, checks, {
        iteration,
        commit: record.verifiedCommit,
        ...(verifiedTree === null ? {} : { tree: verifiedTree }),
        at,
      });
  writeFeatureList(context.workspace, updated);
  const progressed = !record.rolledBack && newlyPassing(checks, record.wasPassing).length > 0;
  const passingFeatures = passingIds(updated);
  const outcome = verdict.done
    ? 'done'
    : record.rolledBack
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
      outcome: `${outcome}${record.regressed.length > 0 ? `; regressed: ${record.regressed.join(', ')}` : ''}; agent ${session.status}`,
      featuresPassing: passingFeatures.length,
      featuresTotal: updated.features.length,
      commits: record.workCommit === null || record.rolledBack ? [] : [record.workCommit],
      handoff: session.finalMessage,
      verdict: verdict.reason,
    },
    context.config.progress.keepEntries,
  );
  const recordCommit = await commitRecord(context, record, {
    outcome,
    updated,
    newly: record.rolledBack ? [] : newlyPassing(checks, record.wasPassing),
    verifiedTree,
  });

  // A checkpoint marks a state worth returning to: nothing that passed before fails now.
  if ((record.regressed.length === 0 || record.restoredCheckpoint) && record.smokePassed) {
    const commit = recordCommit ?? (await headCommit(context.workspace)) ?? record.verifiedCommit;
    const name = checkpointRef(context.runId, iteration);
    await updateRef(context.workspace, name, commit);
    context.emit({ type: 'checkpoint.created', iteration, tag: name, commit });
    // One ref per iteration would leave thousands of loose ref files on a long run: pack them now and then.
    if (iteration % 100 === 0) await runGit(context.workspace, ['pack-refs', '--all'], true);
  }
  context.emit({
    type: 'iteration.ended',
    iteration,
    durationMs: Math.round(performance.now() - record.startedAt),
    featuresPassing: passingFeatures.length,
    featuresTotal: updated.features.length,
    passingFeatures,
    progressed,
    regressed: record.regressed,
    summary: `${outcome}: ${passingFeatures.length}/${updated.features.length} features passing${session.finalMessage.trim() === '' ? '' : `; worker: ${head(firstLine(session.finalMessage), 100)}`}`,
  });
}

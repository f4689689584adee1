import type { CheckResult, GuardAction, GuardName, RunEvent, StopReason, Usage } from '../../log/events.ts';
import type { RunState } from '../../log/reducer.ts';

/**
 * The receipt: what a run did, as its event log says (the log is the only source of truth; the receipt
 * is a fold of it, so `baton report` on an old run gives the receipt it had). Versioned: a reader checks
 * `schema` before it reads fields, and a change of shape is a new version (docs/observability.md).
 */
export const receiptSchemaVersion = 'baton.receipt/1';

export interface ReceiptCheck {
  readonly command: string;
  readonly passed: boolean;
  readonly exitCode: number | null;
  /** How it ended: 'exit 0', 'timed out', ... */
  readonly ended: string;
  /**
   * The commit of the branch that holds what the check ran on (with git.commit: one, the iteration's
   * commit its checked work was folded into; null: the log does not say).
   */
  readonly commit: string | null;
  /** The serial loop's iteration (null: a parallel merge or judgement). */
  readonly iteration: number | null;
  /** When the event that reported it was written. */
  readonly at: string;
  /** Saved output, relative to the workspace. */
  readonly outputPath: string;
}

export interface ReceiptFeature {
  readonly id: string;
  /** From FEATURES.json at the last verified commit (null: not known). */
  readonly title: string | null;
  readonly passing: boolean;
  /** It passed at the run's baseline, before any worker: not the run's progress (null: no baseline). */
  readonly passingAtBaseline: boolean | null;
  /** The latest check of this feature the log reports on work that was kept. */
  readonly evidence: ReceiptCheck | null;
}

/** A check that failed and passed when run once more: flaky, not blamed on the worker. */
export interface ReceiptFlakyCheck {
  /** `kind:name`. */
  readonly check: string;
  /** The serial loop's iteration (null: a parallel merge or judgement). */
  readonly iteration: number | null;
  /** How the failed run ended, and its saved output. */
  readonly failedRun: { readonly ended: string; readonly outputPath: string };
}

export interface ReceiptRef {
  readonly ref: string;
  readonly kind: 'rejected' | 'interrupted' | 'rate-limited' | 'backup' | 'stash';
  readonly iteration: number | null;
  readonly reason: string;
}

export interface Receipt {
  readonly schema: typeof receiptSchemaVersion;
  readonly runId: string;
  readonly goal: string;
  /** The branch the run worked on (null: not known). */
  readonly branch: string | null;
  readonly startCommit: string | null;
  readonly status: RunState['status'];
  readonly verdict: {
    /** The run stopped with the done condition met. */
    readonly done: boolean;
    /** The last verdict's reason (null: no iteration was judged). */
    readonly reason: string | null;
  };
  readonly stop: { readonly reason: StopReason; readonly message: string; readonly exitCode: number } | null;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  /** Active wall-clock time (time between a crash and its resume, and paused time, not counted). */
  readonly elapsedMs: number;
  readonly iterations: { readonly completed: number; readonly interrupted: number; readonly last: number };
  readonly features: {
    readonly passing: number;
    readonly total: number;
    readonly list: readonly ReceiptFeature[];
  };
  /** The run's first verification, before any worker (null: the log has none). `kind:name` lists. */
  readonly baseline: {
    readonly commit: string;
    readonly passing: readonly string[];
    readonly failing: readonly string[];
  } | null;
  readonly flaky: readonly ReceiptFlakyCheck[];
  /** Changes kept for a person or the model judge to decide (the contract's or tested behaviour's). */
  readonly proposals: readonly {
    readonly id: string;
    readonly kind: 'contract' | 'behaviour';
    readonly status: 'open' | 'accepted' | 'rejected';
    readonly iteration: number;
    readonly ref: string;
    readonly reasons: readonly string[];
    readonly decision: { readonly by: string; readonly reason: string } | null;
    /** Where it landed on the branch (null: not applied). */
    readonly appliedAs: string | null;
  }[];
  readonly rejectedClaims: readonly {
    readonly iteration: number | null;
    readonly reason: string;
    readonly failing: readonly string[];
  }[];
  readonly guards: readonly {
    readonly guard: GuardName;
    readonly action: GuardAction;
    readonly details: readonly string[];
    readonly iteration: number;
    readonly task: string | null;
  }[];
  readonly commits: readonly {
    readonly commit: string;
    readonly iteration: number;
    readonly purpose: 'work' | 'record' | 'iteration' | 'merge';
    readonly at: string;
    /**
     * False: a rollback or an interruption took it off the branch (a ref in `refs` keeps it), or the
     * work commit was folded into the iteration's one commit (git.commit: one).
     */
    readonly kept: boolean;
  }[];
  /** Refs that keep work the harness refused or set aside: nothing is lost, it is here. */
  readonly refs: readonly ReceiptRef[];
  readonly humanEdits: readonly {
    readonly iteration: number;
    readonly author: string | null;
    readonly commit: string | null;
    readonly paths: readonly string[];
  }[];
  readonly parked: RunState['parked'];
  readonly questions: readonly { readonly iteration: number; readonly question: string }[];
  readonly usage: Usage;
  readonly sessions: { readonly total: number; readonly byStatus: Readonly<Record<string, number>> };
  /** Each session's final message (the worker's handoff), cut to `maxHandoffChars`. Worker text. */
  readonly handoffs: readonly {
    readonly iteration: number | null;
    readonly task: string | null;
    readonly text: string;
  }[];
  /** Lines of the log this baton left out, and a torn last line. */
  readonly warnings: readonly string[];
}

export interface ReceiptInput {
  readonly runId: string;
  readonly events: readonly RunEvent[];
  readonly state: RunState;
  readonly elapsedMs: number;
  readonly branch?: string | null;
  /** Feature id -> title, as FEATURES.json had them (the log records ids only). */
  readonly featureTitles?: ReadonlyMap<string, string>;
  readonly warnings?: readonly string[];
}

export const maxHandoffChars = 2000;

function clipText(text: string, maxChars: number): string {
  return text.length <= maxChars
    ? text
    : `${text.slice(0, maxChars)}… (${text.length - maxChars} more characters)`;
}

function checkOf(
  check: CheckResult,
  at: string,
  commit: string | null,
  iteration: number | null,
): ReceiptCheck {
  return {
    command: check.command,
    passed: check.passed,
    exitCode: check.exitCode,
    ended: check.ended,
    commit,
    iteration,
    at,
    outputPath: check.outputPath,
  };
}

/** Iterations whose work did not stay on the branch: their checks are not evidence of what is there. */
function discardedIterations(events: readonly RunEvent[]): Set<number> {
  const discarded = new Set<number>();
  for (const event of events) {
    if (event.type === 'iteration.rolled-back' || event.type === 'iteration.interrupted') {
      discarded.add(event.iteration);
    }
  }
  return discarded;
}

/** The latest kept check of each feature, in the order the log first names them. */
/**
 * With git.commit: one an iteration's work commit (what the checks ran on) is folded into the
 * iteration's one commit, the one on the branch: work commit -> that commit.
 */
function foldedCommits(events: readonly RunEvent[]): Map<string, string> {
  const work = new Map<number, string>();
  const folded = new Map<string, string>();
  for (const event of events) {
    if (event.type !== 'commit.created') continue;
    if (event.purpose === 'work') work.set(event.iteration, event.commit);
    const worked = work.get(event.iteration);
    if (event.purpose === 'iteration' && worked !== undefined) folded.set(worked, event.commit);
  }
  return folded;
}

function featureEvidence(events: readonly RunEvent[]): Map<string, ReceiptCheck> {
  const discarded = discardedIterations(events);
  const folded = foldedCommits(events);
  const evidence = new Map<string, ReceiptCheck>();
  const record = (checks: readonly CheckResult[], found: (check: CheckResult) => ReceiptCheck): void => {
    for (const check of checks) if (check.kind === 'feature') evidence.set(check.name, found(check));
  };
  for (const event of events) {
    if (event.type === 'verify.ended' && !discarded.has(event.iteration)) {
      const onBranch = folded.get(event.commit) ?? event.commit;
      record(event.checks, (check) => checkOf(check, event.at, onBranch, event.iteration));
    } else if (event.type === 'task.merged') {
      record(event.checks, (check) => checkOf(check, event.at, event.commit, null));
    } else if (event.type === 'tasks.judged') {
      record(event.checks, (check) => checkOf(check, event.at, null, null));
    }
  }
  return evidence;
}

function features(input: ReceiptInput): ReceiptFeature[] {
  const evidence = featureEvidence(input.events);
  const ids = [
    ...new Set([...(input.featureTitles?.keys() ?? []), ...evidence.keys(), ...input.state.passingFeatures]),
  ];
  const baseline = input.state.baseline;
  return ids.map((id) => ({
    id,
    title: input.featureTitles?.get(id) ?? null,
    passing: input.state.passingFeatures.includes(id),
    passingAtBaseline:
      baseline === null
        ? null
        : baseline.checks.some((check) => check.kind === 'feature' && check.name === id && check.passed),
    evidence: evidence.get(id) ?? null,
  }));
}

function baselineOf(state: RunState): Receipt['baseline'] {
  if (state.baseline === null) return null;
  const names = (passed: boolean): string[] =>
    state.baseline?.checks
      .filter((check) => check.passed === passed)
      .map((check) => `${check.kind}:${check.name}`) ?? [];
  return { commit: state.baseline.commit, passing: names(true), failing: names(false) };
}

function flakyChecks(events: readonly RunEvent[]): ReceiptFlakyCheck[] {
  const found: ReceiptFlakyCheck[] = [];
  for (const event of events) {
    const checks =
      event.type === 'verify.ended' || event.type === 'task.merged' || event.type === 'tasks.judged'
        ? event.checks
        : [];
    for (const check of checks) {
      if (check.flaky === undefined) continue;
      found.push({
        check: `${check.kind}:${check.name}`,
        iteration: event.type === 'verify.ended' ? event.iteration : null,
        failedRun: check.flaky,
      });
    }
  }
  return found;
}

function refOf(ref: string): ReceiptRef['kind'] {
  if (ref.startsWith('refs/baton/rejected/')) return 'rejected';
  if (ref.startsWith('refs/baton/interrupted/')) return 'interrupted';
  if (ref.startsWith('refs/baton/rate-limited/')) return 'rate-limited';
  return 'backup';
}

function refs(events: readonly RunEvent[]): ReceiptRef[] {
  const found: ReceiptRef[] = [];
  for (const event of events) {
    if (event.type === 'iteration.rolled-back' || event.type === 'iteration.interrupted') {
      if (event.savedAs !== null) {
        found.push({
          ref: event.savedAs,
          kind: refOf(event.savedAs),
          iteration: event.iteration,
          reason: event.reason,
        });
      }
    } else if (event.type === 'agent.rate-limited' && event.savedAs !== null) {
      found.push({
        ref: event.savedAs,
        kind: 'rate-limited',
        iteration: event.iteration,
        reason: event.message,
      });
    } else if (event.type === 'checkpoint.restored') {
      found.push({ ref: event.backup, kind: 'backup', iteration: null, reason: `rollback to ${event.tag}` });
    } else if (event.type === 'tree.polluted' && event.stash !== null) {
      found.push({
        ref: event.stash,
        kind: 'stash',
        iteration: event.iteration,
        reason: `files left outside the commit: ${event.paths.slice(0, 5).join(', ')}`,
      });
    }
  }
  return found;
}

function sessions(events: readonly RunEvent[]): Receipt['sessions'] {
  const byStatus: Record<string, number> = {};
  let total = 0;
  for (const event of events) {
    if (event.type === 'agent.ended' || event.type === 'task.worked') {
      total += 1;
      byStatus[event.status] = (byStatus[event.status] ?? 0) + 1;
    }
  }
  return { total, byStatus };
}

/** The receipt of one run: a pure fold of its events (and the fold's state). */
export function buildReceipt(input: ReceiptInput): Receipt {
  const { events, state } = input;
  const rejectedClaims: Receipt['rejectedClaims'][number][] = [];
  const guards: Receipt['guards'][number][] = [];
  const commits: Receipt['commits'][number][] = [];
  const humanEdits: Receipt['humanEdits'][number][] = [];
  const handoffs: Receipt['handoffs'][number][] = [];
  for (const event of events) {
    switch (event.type) {
      case 'judge.ended':
        if (event.verdict.claimRejected) {
          rejectedClaims.push({
            iteration: event.iteration,
            reason: event.verdict.reason,
            failing: event.verdict.failing,
          });
        }
        break;
      case 'tasks.judged':
        if (event.verdict.claimRejected) {
          rejectedClaims.push({
            iteration: null,
            reason: event.verdict.reason,
            failing: event.verdict.failing,
          });
        }
        break;
      case 'guard.fired':
        guards.push({
          guard: event.guard,
          action: event.action,
          details: event.details,
          iteration: event.iteration,
          task: event.task ?? null,
        });
        break;
      case 'commit.created':
        // The iteration's one commit replaces its work commit on the branch.
        if (event.purpose === 'iteration') {
          for (const [index, commit] of commits.entries()) {
            if (commit.iteration === event.iteration && commit.purpose === 'work') {
              commits[index] = { ...commit, kept: false };
            }
          }
        }
        commits.push({
          commit: event.commit,
          iteration: event.iteration,
          purpose: event.purpose,
          at: event.at,
          kept: true,
        });
        break;
      case 'iteration.rolled-back':
      case 'iteration.interrupted':
        // What the iteration committed so far is off the branch; a record commit after it is not.
        for (const [index, commit] of commits.entries()) {
          if (commit.iteration === event.iteration) commits[index] = { ...commit, kept: false };
        }
        break;
      case 'task.merged':
        commits.push({ commit: event.commit, iteration: 0, purpose: 'merge', at: event.at, kept: true });
        break;
      case 'human.edited':
        humanEdits.push({
          iteration: event.iteration,
          author: event.author ?? null,
          commit: event.commit,
          paths: event.paths,
        });
        break;
      case 'agent.ended':
        handoffs.push({
          iteration: event.iteration,
          task: null,
          text: clipText(event.finalMessage, maxHandoffChars),
        });
        break;
      case 'task.worked':
        handoffs.push({
          iteration: null,
          task: event.task,
          text: clipText(event.finalMessage, maxHandoffChars),
        });
        break;
      default:
        break;
    }
  }
  const list = features(input);
  return {
    schema: receiptSchemaVersion,
    runId: input.runId,
    goal: state.goal,
    branch: input.branch ?? null,
    startCommit: state.startCommit,
    status: state.status,
    verdict: { done: state.stop?.reason === 'done', reason: state.lastVerdict?.reason ?? null },
    stop: state.stop,
    startedAt: state.startedAt,
    endedAt: state.updatedAt,
    elapsedMs: input.elapsedMs,
    iterations: {
      completed: state.iterationsCompleted,
      interrupted: state.interruptions,
      last: state.lastIteration,
    },
    features: {
      passing: state.featuresPassing,
      total: Math.max(state.featuresTotal, list.length),
      list,
    },
    baseline: baselineOf(state),
    flaky: flakyChecks(events),
    proposals: state.proposals.map((proposal) => ({
      id: proposal.id,
      kind: proposal.kind,
      status: proposal.status,
      iteration: proposal.iteration,
      ref: proposal.ref,
      reasons: proposal.reasons,
      decision: proposal.decision,
      appliedAs: proposal.appliedAs,
    })),
    rejectedClaims,
    guards,
    commits,
    refs: refs(events),
    humanEdits,
    parked: state.parked,
    questions: state.questions.map(({ iteration, question }) => ({ iteration, question })),
    usage: state.usage,
    sessions: sessions(events),
    handoffs,
    warnings: input.warnings ?? [],
  };
}

import type { CheckResult } from '../log/events.ts';
import { head, singleLine } from '../util/text.ts';

/**
 * The message of an iteration's commit: a subject a reviewer can read in `git log --oneline`, then git
 * trailers that tie the commit to the run, the iteration and the evidence the harness holds for it
 * (`git log --format='%(trailers:key=Baton-Evidence)'`). Worker text (its handoff) is reduced to one
 * sanitised line: it can neither add trailers nor pose as the harness's.
 */
export interface IterationCommitFacts {
  readonly runId: string;
  readonly iteration: number;
  /** `progress`, `no progress`, `claim rejected`, `rolled back`, `done`. */
  readonly outcome: string;
  /** The worker's handoff (any text). */
  readonly handoff: string;
  readonly featuresPassing: number;
  readonly featuresTotal: number;
  readonly newlyPassing: readonly string[];
  readonly checks: readonly CheckResult[];
  /** The tree the checks ran on (the commit's own tree differs only in FEATURES.json and PROGRESS.md). */
  readonly verifiedTree: string | null;
}

/** The trailer that marks a commit as the harness's record of an iteration. */
export const runTrailer = 'Baton-Run';

const subjectChars = 72;
const conventionalSubject = /^[a-z]+(\([\w./-]+\))?!?: \S/;
const evidenceChars = 600;

function checkWord(check: CheckResult): string {
  return `${check.kind}:${singleLine(check.name)} ${check.passed ? 'pass' : 'fail'} (exit ${check.exitCode ?? 'none'})`;
}

export function iterationCommitMessage(facts: IterationCommitFacts): string {
  const said = singleLine(facts.handoff);
  // A handoff that starts like a conventional commit (`fix(parser): …`) is the subject as it is, so a
  // project's commit-msg hook that wants that form can be satisfied by the worker.
  const subject = head(
    said === ''
      ? `baton: iteration ${facts.iteration}: ${facts.outcome}`
      : conventionalSubject.test(said)
        ? said
        : `baton: ${said}`,
    subjectChars,
  );
  const counts = `${facts.featuresPassing}/${facts.featuresTotal} features passing`;
  const newly = facts.newlyPassing.length === 0 ? '' : `; newly passing: ${facts.newlyPassing.join(', ')}`;
  const checks = facts.checks.length === 0 ? '' : `; ${facts.checks.map(checkWord).join(', ')}`;
  const evidence = head(singleLine(`${counts}${newly}${checks}`), evidenceChars);
  const body = `Iteration ${facts.iteration} of baton run ${facts.runId}: ${facts.outcome}, ${counts}.`;
  const trailers = [
    `${runTrailer}: ${facts.runId}`,
    `Baton-Iteration: ${facts.iteration}`,
    `Baton-Outcome: ${facts.outcome}`,
    `Baton-Evidence: ${evidence}`,
    ...(facts.verifiedTree === null ? [] : [`Baton-Verified-Tree: ${facts.verifiedTree}`]),
  ];
  return `${subject}\n\n${body}\n\n${trailers.join('\n')}\n`;
}

/**
 * The message of the worker's commit before it is checked: with git.commit: one it is folded into the
 * iteration's commit; with two, or when the work is refused and kept under a ref, it stays as it is.
 */
export function workCommitMessage(runId: string, iteration: number, handoff: string): string {
  const said = singleLine(handoff);
  return `baton: iteration ${iteration} work${said === '' ? '' : `: ${head(said, 120)}`}\n\n${runTrailer}: ${runId}\nBaton-Iteration: ${iteration}\n`;
}

/** Whether a commit message is the harness's record of an iteration (it carries the run trailer). */
export function isIterationCommitMessage(message: string): boolean {
  return new RegExp(`^${runTrailer}: \\S+$`, 'm').test(message);
}

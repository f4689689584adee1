import type { AttemptPlan, AttemptResult } from '../parallel/task-worker.ts';

/** The BullMQ queue tasks travel on (one per Redis; a job names its run and remote). */
export const defaultQueueName = 'baton-tasks';

/** What a worker needs to run an attempt anywhere: the plan and where the repository is. */
export interface AttemptJob {
  readonly plan: AttemptPlan;
  /** The shared git remote: fetch the base from it, push the work to it. */
  readonly remote: string;
}

/** What a worker sends back; the work itself is on the remote, under `remoteRef`. */
export interface AttemptJobResult extends AttemptResult {
  readonly remoteRef: string | null;
  /** Which worker ran it (its name: host and pid unless given). */
  readonly by: string;
  /** The end of the session's transcript, kept as evidence by the coordinator. */
  readonly transcript: string;
}

/**
 * One job per attempt, named after it: adding it twice (a coordinator restarted between adding and
 * logging) finds the job already there instead of running the attempt twice.
 */
export function attemptJobId(plan: Pick<AttemptPlan, 'runId' | 'task' | 'attempt'>): string {
  return `${plan.runId}.${plan.task}.${plan.attempt}`;
}

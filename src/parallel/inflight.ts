import type { MergeOutcome } from './merge-queue.ts';
import type { AttemptOutcome } from './task-worker.ts';

/** What came back from an attempt or a merge; an Error when a harness part broke. */
export type Finished =
  | {
      readonly kind: 'attempt';
      readonly task: string;
      readonly worker: number;
      readonly outcome: AttemptOutcome | Error;
    }
  | { readonly kind: 'merge'; readonly task: string; readonly outcome: MergeOutcome | Error };

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The attempts and the one merge the coordinator is waiting for. */
export class Inflight {
  private readonly attempts = new Map<string, Promise<Finished>>();
  private merge: Promise<Finished> | undefined;

  get size(): number {
    return this.attempts.size + (this.merge === undefined ? 0 : 1);
  }

  get merging(): boolean {
    return this.merge !== undefined;
  }

  running(): ReadonlySet<string> {
    return new Set(this.attempts.keys());
  }

  addAttempt(task: string, worker: number, attempt: Promise<AttemptOutcome>): void {
    this.attempts.set(
      task,
      attempt.then(
        (outcome): Finished => ({ kind: 'attempt', task, worker, outcome }),
        (error: unknown): Finished => ({ kind: 'attempt', task, worker, outcome: asError(error) }),
      ),
    );
  }

  setMerge(task: string, merge: Promise<MergeOutcome>): void {
    this.merge = merge.then(
      (outcome): Finished => ({ kind: 'merge', task, outcome }),
      (error: unknown): Finished => ({ kind: 'merge', task, outcome: asError(error) }),
    );
  }

  /** The next one to finish, no longer in flight. */
  async next(): Promise<Finished> {
    const finished = await Promise.race([
      ...this.attempts.values(),
      ...(this.merge === undefined ? [] : [this.merge]),
    ]);
    if (finished.kind === 'merge') this.merge = undefined;
    else this.attempts.delete(finished.task);
    return finished;
  }
}

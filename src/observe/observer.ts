import type { RunEvent } from '../log/events.ts';
import type { RunState } from '../log/reducer.ts';

/** Something that watches a run's events as they are recorded (traces, notifications, a terminal). */
export interface RunObserver {
  readonly onEvent: (event: RunEvent, state: RunState) => void;
  /** Flush what is pending (spans, notifications in flight); called once the run returns. */
  readonly close: () => Promise<void>;
}

/** Several observers as one; one that throws does not stop the others, nor the run. */
export function combineObservers(observers: readonly (RunObserver | undefined)[]): RunObserver {
  const present = observers.filter((observer): observer is RunObserver => observer !== undefined);
  return {
    onEvent(event, state) {
      for (const observer of present) {
        try {
          observer.onEvent(event, state);
        } catch {
          // An observer is a bystander: its failure must not end the run it watches.
        }
      }
    },
    async close() {
      await Promise.allSettled(present.map((observer) => observer.close()));
    },
  };
}

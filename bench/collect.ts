import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { CheckResult, RunEvent } from '../src/log/events.ts';
import { iterationDir } from '../src/workspace/paths.ts';

/** What one iteration cost, split into the agent, the checks and what is left: the harness itself. */
export interface IterationTiming {
  readonly iteration: number;
  readonly totalMs: number;
  readonly agentMs: number;
  readonly checksMs: number;
  readonly overheadMs: number;
}

/** Memory and prompt size at the end of one iteration. */
export interface Sample {
  readonly iteration: number;
  readonly rssBytes: number;
  /** What V8 has reserved for its heap: RSS follows it, including a young generation that has grown. */
  readonly heapTotalBytes: number;
  /** What is still reachable after a full garbage collection: the data the harness really keeps. */
  readonly liveHeapBytes: number;
  readonly promptBytes: number;
}

export interface Collector {
  readonly onEvent: (event: RunEvent) => void;
  readonly timings: readonly IterationTiming[];
  readonly samples: ReadonlyMap<number, Sample>;
  runId(): string | undefined;
}

/**
 * A full garbage collection, so that retained data can be told apart from garbage not yet collected.
 * `npm run bench` starts node without --expose-gc; a context created after the flag is turned on at run
 * time gets `gc` anyway.
 */
function fullGarbageCollector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function sumDurations(checks: readonly CheckResult[]): number {
  return checks.reduce((total, check) => total + check.durationMs, 0);
}

/**
 * Listens to the run's events and keeps only numbers, so that the benchmark's own memory stays flat
 * and does not hide (or fake) growth in the harness.
 */
export function createCollector(
  workspace: string,
  sampleAt: ReadonlySet<number>,
  onIteration: (timing: IterationTiming) => void,
): Collector {
  const timings: IterationTiming[] = [];
  const samples = new Map<number, Sample>();
  const collectGarbage = fullGarbageCollector();
  let runId: string | undefined;
  // Per-iteration sums, reset when an iteration starts.
  let agentMs = 0;
  let checksMs = 0;

  const record = (iteration: number, totalMs: number): void => {
    const timing = { iteration, totalMs, agentMs, checksMs, overheadMs: totalMs - agentMs - checksMs };
    timings.push(timing);
    if (sampleAt.has(iteration) && runId !== undefined) {
      // RSS first, as the run left it; the collection (between two iterations, so outside every
      // measured duration) only serves the live-heap figure.
      const memory = process.memoryUsage();
      collectGarbage();
      const prompt = join(iterationDir(workspace, runId, iteration), 'prompt.md');
      samples.set(iteration, {
        iteration,
        rssBytes: memory.rss,
        heapTotalBytes: memory.heapTotal,
        liveHeapBytes: process.memoryUsage().heapUsed,
        promptBytes: statSync(prompt).size,
      });
    }
    onIteration(timing);
  };

  const onEvent = (event: RunEvent): void => {
    switch (event.type) {
      case 'run.started':
        runId = event.runId;
        break;
      case 'iteration.started':
        agentMs = 0;
        checksMs = 0;
        break;
      case 'agent.ended':
        agentMs += event.durationMs;
        break;
      case 'smoke.ended':
        checksMs += event.result?.durationMs ?? 0;
        break;
      case 'verify.ended':
        // A regression rollback verifies twice in one iteration; both runs are check time.
        checksMs += sumDurations(event.checks);
        break;
      case 'iteration.ended':
        record(event.iteration, event.durationMs);
        break;
      default:
        break;
    }
  };

  return { onEvent, timings, samples, runId: () => runId };
}

import type { Agent } from '../agents/agent.ts';
import type { Config } from '../config/resolve.ts';
import type { EventLog } from '../log/event-log.ts';
import type { CheckResult, NewRunEvent, RunEvent } from '../log/events.ts';
import type { RunState } from '../log/reducer.ts';

/** What one run hands each iteration. The state is only ever changed through `emit`. */
export interface LoopContext {
  readonly workspace: string;
  readonly runId: string;
  readonly config: Config;
  readonly agent: Agent;
  readonly agentTimeoutMs: number;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  readonly log: EventLog;
  readonly now: () => Date;
  state: RunState;
  /** Results of the previous iteration's checks, to detect regressions and show failures. */
  previousChecks: readonly CheckResult[];
  readonly emit: (event: NewRunEvent) => RunEvent;
}

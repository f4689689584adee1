import type { Agent } from '../agents/agent.ts';
import type { Config } from '../config/resolve.ts';
import type { GitIdentity } from '../git/run-git.ts';
import type { EventLog } from '../log/event-log.ts';
import type { CheckResult, NewRunEvent, RunEvent } from '../log/events.ts';
import type { RunState } from '../log/reducer.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';

/** What one run hands each iteration. The state is only ever changed through `emit`. */
export interface LoopContext {
  readonly workspace: string;
  readonly runId: string;
  /** The config in effect; a person's edit of baton.yaml is applied between iterations (applyConfig). */
  config: Config;
  /** Hash of the baton.yaml bytes the config in effect came from (loop/config-reload.ts). */
  configHash: string;
  /** Hash of the baton.yaml bytes last looked at (a refused edit is not refused again each iteration). */
  configLookedAt: string;
  /** Take an edited config: the config and what is built from it (agents, timeouts, locked files). */
  readonly applyConfig: (config: Config) => Promise<void>;
  /** The worker agent named in baton.yaml (or given by the caller). */
  agent: Agent;
  /** The agent the stall ladder switches to, when baton.yaml names one. */
  fallbackAgent: Agent | undefined;
  /** The agent for planning passes (the worker agent unless baton.yaml names a planner). */
  planner: Agent;
  agentTimeoutMs: number;
  /** Where agents and checks run (bwrap, or none). */
  readonly sandbox: Sandbox;
  /** Said once per run (an event) when workers run without isolation. */
  readonly sandboxWarning: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  readonly log: EventLog;
  readonly now: () => Date;
  /** Existing test files and protected files, path -> blob id, as they were when the run started. */
  locked: ReadonlyMap<string, string>;
  state: RunState;
  /** The person's git identity (a person's changes are committed as theirs); null when none is set. */
  readonly person: GitIdentity | null;
  /** Results of the previous iteration's checks, to detect regressions and show failures (from the fold). */
  readonly previousChecks: readonly CheckResult[];
  readonly emit: (event: NewRunEvent) => RunEvent;
}

export function activeAgent(context: LoopContext): Agent {
  return context.state.activeAgent === 'fallback' && context.fallbackAgent !== undefined
    ? context.fallbackAgent
    : context.agent;
}

/** Who the run's commits are by: `git.identity` in baton.yaml, else the person's git identity. */
export function commitIdentity(context: LoopContext): GitIdentity | undefined {
  return context.config.git.identity ?? context.person ?? undefined;
}

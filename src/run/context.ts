import type { Agent } from '../agents/agent.ts';
import type { Config } from '../config/resolve.ts';
import { defaultAgentTimeoutMs } from '../config/fragments/agent.ts';
import { BatonError, exitCodes } from '../errors.ts';
import { listTree } from '../git/git.ts';
import { personIdentity } from '../git/person-identity.ts';
import { lockedPaths } from '../guards/diff-review.ts';
import type { EventLog } from '../log/event-log.ts';
import type { CheckResult, NewRunEvent, RunEvent } from '../log/events.ts';
import { reduceRunState, type RunState } from '../log/reducer.ts';
import type { LoopContext } from '../loop/context.ts';
import { createAgentFromConfig } from '../agents/registry.ts';
import { prepareSandbox } from '../sandbox/sandbox.ts';

export interface ContextInput {
  readonly workspace: string;
  readonly runId: string;
  readonly config: Config;
  readonly log: EventLog;
  readonly state: RunState;
  readonly startCommit: string;
  readonly signal: AbortSignal;
  readonly agent: Agent | undefined;
  readonly planner: Agent | undefined;
  readonly env: NodeJS.ProcessEnv | undefined;
  readonly now: () => Date;
  readonly onEvent: ((event: RunEvent, state: RunState) => void) | undefined;
}

/** Everything an iteration needs, built the same way for a new run and for a resumed one. */
export async function buildLoopContext(input: ContextInput): Promise<LoopContext> {
  const { config, workspace } = input;
  const { sandbox, warning } = await prepareSandbox(workspace, config.sandbox);
  const agent =
    input.agent ?? (config.agent === undefined ? undefined : createAgentFromConfig(config.agent, workspace));
  if (agent === undefined) {
    throw new BatonError('baton.yaml names no agent', {
      code: 'NO_AGENT',
      fix: 'add an agent section to baton.yaml, e.g. agent: { type: command, command: "my-agent --print" }',
      exitCode: exitCodes.usage,
    });
  }
  // The files locked against the worker are the ones that existed when the run started, resumed or not.
  const locked = lockedPaths(await listTree(workspace, input.startCommit), [
    ...config.guards.testFiles,
    ...config.guards.protectedPaths,
  ]);
  const context: LoopContext = {
    workspace,
    runId: input.runId,
    config,
    agent,
    fallbackAgent:
      config.fallbackAgent === undefined ? undefined : createAgentFromConfig(config.fallbackAgent, workspace),
    planner:
      input.planner ??
      (config.planner === undefined ? agent : createAgentFromConfig(config.planner, workspace)),
    sandbox,
    sandboxWarning: warning,
    person: await personIdentity(workspace, input.env ?? process.env),
    locked,
    agentTimeoutMs: config.agent?.timeoutMs ?? defaultAgentTimeoutMs,
    env: input.env ?? process.env,
    signal: input.signal,
    log: input.log,
    now: input.now,
    state: input.state,
    // Read from the fold, never kept beside it, so a resumed run has exactly what the live one had.
    get previousChecks(): readonly CheckResult[] {
      return context.state.previousChecks;
    },
    emit: (event: NewRunEvent) => {
      const written = input.log.append(event, input.now());
      context.state = reduceRunState(context.state, written);
      input.onEvent?.(written, context.state);
      return written;
    },
  };
  return context;
}

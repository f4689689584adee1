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
import { configText } from '../loop/config-reload.ts';
import { modelReachWarning } from '../sandbox/model-reach.ts';

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
  const prepared = await prepareSandbox(workspace, config.sandbox);
  const { sandbox } = prepared;
  const blind = modelReachWarning(config.agent, sandbox.network);
  const warning =
    [prepared.warning, blind].filter((line): line is string => line !== undefined).join('; ') || undefined;
  const agent =
    input.agent ?? (config.agent === undefined ? undefined : createAgentFromConfig(config.agent, workspace));
  if (agent === undefined) {
    throw new BatonError('baton.yaml names no agent', {
      code: 'NO_AGENT',
      fix: 'add an agent section to baton.yaml, e.g. agent: { type: command, command: "my-agent --print" }',
      exitCode: exitCodes.usage,
    });
  }
  // The protected files are locked as they were when the run started, resumed or not. Tests are not
  // locked: a change to one is judged by running its accepted version (core/test-changes.ts).
  const startTree = await listTree(workspace, input.startCommit);
  const lockedBy = (guards: Config['guards']): ReadonlyMap<string, string> =>
    lockedPaths(startTree, guards.protectedPaths);
  const fallbackOf = (from: Config): Agent | undefined =>
    from.fallbackAgent === undefined ? undefined : createAgentFromConfig(from.fallbackAgent, workspace);
  const plannerOf = (from: Config, worker: Agent): Agent =>
    input.planner ?? (from.planner === undefined ? worker : createAgentFromConfig(from.planner, workspace));
  const startHash = configText(workspace).hash;
  const context: LoopContext = {
    workspace,
    runId: input.runId,
    config,
    configHash: startHash,
    configLookedAt: startHash,
    applyConfig: (next: Config) => {
      // An agent the caller gave stays; one baton.yaml names is built again from the edited section.
      const worker =
        input.agent ??
        (next.agent === undefined ? context.agent : createAgentFromConfig(next.agent, workspace));
      context.config = next;
      context.agent = worker;
      context.fallbackAgent = fallbackOf(next);
      context.planner = plannerOf(next, worker);
      context.agentTimeoutMs = next.agent?.timeoutMs ?? defaultAgentTimeoutMs;
      context.locked = lockedBy(next.guards);
      return Promise.resolve();
    },
    agent,
    fallbackAgent: fallbackOf(config),
    planner: plannerOf(config, agent),
    sandbox,
    sandboxWarning: warning,
    person: await personIdentity(workspace, input.env ?? process.env),
    locked: lockedBy(config.guards),
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

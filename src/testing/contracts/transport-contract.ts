import { ok, strictEqual } from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.ts';
import { commitAll, excludeLocally, fileAt, headCommit, initRepository, runGit } from '../../git/git.ts';
import { EventLog } from '../../log/event-log.ts';
import type { RunEvent } from '../../log/events.ts';
import { initialRunState } from '../../log/reducer.ts';
import type { TaskState } from '../../log/task-state.ts';
import { parallelState, type ParallelContext } from '../../parallel/context.ts';
import type { AttemptOutcome } from '../../parallel/task-worker.ts';
import type { TaskTransport } from '../../parallel/transport.ts';
import { branchCommit, RepositoryLock, taskBranch } from '../../parallel/worktrees.ts';
import { buildLoopContext } from '../../run/context.ts';
import { findRunProcesses } from '../../run/orphans.ts';
import { eventLogPath, harnessDirName, runDir } from '../../workspace/paths.ts';
import { renderTemplates } from '../../workspace/templates.ts';
import { taskPlan } from '../task-plan.ts';
import { waitUntil, withTempFolder, type ContractTestApi } from './test-api.ts';

export interface TransportContractSetup {
  /** A bare repository to share work through, for transports whose workers are elsewhere. */
  readonly remote: string;
  /** A folder for what the transport keeps (a worker's cache), removed after the test. */
  readonly dir: string;
}

export interface TransportUnderTest {
  readonly transport: TaskTransport;
  /** Stop what was started beside the transport (queue workers); called after `transport.close()`. */
  readonly stop?: () => Promise<void>;
}

export interface TransportContractOptions extends ContractTestApi {
  /**
   * Whether an attempt outlives the coordinator that dispatched it (a queued job does; a local session
   * does not): such a transport must offer `resumeAttempt`, the others must not.
   */
  readonly outlivesCoordinator: boolean;
  /** Each test's own limit (default 120 s). */
  readonly testTimeoutMs?: number;
}

type MakeTransport = (setup: TransportContractSetup) => TransportUnderTest | Promise<TransportUnderTest>;

/**
 * The worker every attempt gets, by task: `lands` writes its file, `idle` changes nothing, `hangs`
 * works until it is stopped. It is the command agent of the workspace's baton.yaml, so a transport that
 * runs attempts elsewhere (and reads the agent from the repository) runs the same one.
 */
const workerCommand =
  'case "$BATON_TASK_ID" in lands) mkdir -p src && echo landed > src/lands.txt ;; hangs) sleep 60 ;; esac';

interface Run {
  readonly context: ParallelContext;
  readonly abort: AbortController;
  readonly base: string;
  task(id: string): TaskState;
  events(): readonly RunEvent[];
}

/** A parallel run's state, as the coordinator has it once the planner's tasks are in the log. */
async function startRun(folder: string, remote: string): Promise<Run & { close(): Promise<void> }> {
  const workspace = join(folder, 'workspace');
  mkdirSync(workspace);
  await initRepository(workspace);
  const files = renderTemplates({
    goal: 'Land the tasks of the transport contract.',
    agentYaml: `agent:\n  type: command\n  command: ${JSON.stringify(workerCommand)}\n  timeout: 2m`,
    oraclesYaml: 'oracles: []',
    smokeCommand: 'true',
    features: {
      version: 1,
      features: [
        {
          id: 'F1',
          title: 'lands',
          steps: [],
          verify: 'test -f src/lands.txt',
          status: 'failing',
          evidence: null,
        },
      ],
    },
    doneOracles: [],
  });
  files['baton.yaml'] = `${files['baton.yaml'] ?? ''}\nparallel:\n  workers: 2\n  replans: 0\n`;
  for (const [name, content] of Object.entries(files)) writeFileSync(join(workspace, name), content);
  await excludeLocally(workspace, `/${harnessDirName}/`);
  await commitAll(workspace, 'the transport contract');
  await runGit(folder, ['init', '--quiet', '--bare', remote]);
  const base = (await headCommit(workspace)) ?? '';
  const runId = `contract-${Date.now()}`;
  mkdirSync(runDir(workspace, runId), { recursive: true });
  const { log } = EventLog.open(eventLogPath(workspace, runId));
  const events: RunEvent[] = [];
  const abort = new AbortController();
  const config = loadConfig(workspace);
  const loop = await buildLoopContext({
    workspace,
    runId,
    config,
    log,
    state: initialRunState,
    startCommit: base,
    signal: abort.signal,
    agent: undefined,
    planner: undefined,
    env: process.env,
    now: () => new Date(),
    onEvent: (event) => events.push(event),
  });
  loop.emit({
    type: 'run.started',
    runId,
    goal: 'Land the tasks of the transport contract.',
    workspace,
    headCommit: base,
    budgets: config.budgets,
    featuresTotal: 1,
    featuresPassing: 0,
    workers: 2,
  });
  loop.emit({
    type: 'tasks.planned',
    revision: 1,
    tasks: taskPlan(
      ['lands', 'idle', 'hangs'].map((id) => ({
        id,
        scope: ['src/**'],
        features: id === 'lands' ? ['F1'] : [],
      })),
    ).tasks,
    agent: 'contract',
    commit: base,
  });
  const context: ParallelContext = {
    loop,
    workers: 2,
    integrationBranch: 'main',
    repository: new RepositoryLock(),
  };
  return {
    context,
    abort,
    base,
    task: (id) => {
      const task = parallelState(context).tasks[id];
      if (task === undefined) throw new Error(`no task ${id}`);
      return task;
    },
    events: () => events,
    close: async () => {
      abort.abort();
      await loop.sandbox.close();
      log.close();
    },
  };
}

async function withRun(
  makeTransport: MakeTransport,
  body: (run: Run, transport: TaskTransport) => Promise<void>,
): Promise<void> {
  await withTempFolder('baton-transport-contract-', async (folder) => {
    const remote = join(folder, 'remote.git');
    const dir = join(folder, 'transport');
    mkdirSync(dir);
    const run = await startRun(folder, remote);
    const { transport, stop } = await makeTransport({ remote, dir });
    try {
      await body(run, transport);
    } finally {
      await run.close();
      await transport.close();
      await stop?.();
    }
  });
}

function landed(outcome: AttemptOutcome): string {
  ok(
    outcome.landed,
    `the attempt did not land: ${outcome.landed ? '' : `${outcome.reason}: ${outcome.diagnostics}`}`,
  );
  return outcome.commit;
}

/**
 * The TaskTransport contract, for any way of getting an attempt to a worker: a dispatched attempt comes
 * back with its outcome, its work on the task's local branch; an attempt that changed nothing does not
 * land; an attempt under way when the run is aborted ends without landing; a transport that can wait
 * again for an attempt (`resumeAttempt`) returns the same outcome.
 *
 * @example
 * import { describe, it } from 'vitest';
 * import { describeTransportContract } from 'baton/testing';
 *
 * describeTransportContract('my transport', ({ remote }) => ({ transport: createMyTransport(remote) }), {
 *   describe,
 *   it,
 * });
 */
export function describeTransportContract(
  name: string,
  makeTransport: MakeTransport,
  options: TransportContractOptions,
): void {
  const { describe, it } = options;
  const limit = options.testTimeoutMs ?? 120_000;

  describe(`${name}: the transport contract`, () => {
    it(
      "returns a dispatched attempt's outcome once its work is a commit on the task's local branch",
      () =>
        withRun(makeTransport, async (run, transport) => {
          const outcome = await transport.runAttempt(run.context, run.task('lands'), 1, run.base);
          const commit = landed(outcome);
          const { workspace, runId } = run.context.loop;
          strictEqual(await branchCommit(workspace, taskBranch(runId, 'lands')), commit);
          strictEqual(await fileAt(workspace, commit, 'src/lands.txt'), 'landed\n');
          const types = run.events().map((event) => event.type);
          ok(types.includes('task.started') && types.includes('task.worked'), types.join(', '));
          strictEqual(run.task('lands').attempts, 1);
        }),
      limit,
    );

    it(
      'does not land an attempt that changed nothing, and says so',
      () =>
        withRun(makeTransport, async (run, transport) => {
          const outcome = await transport.runAttempt(run.context, run.task('idle'), 1, run.base);
          ok(!outcome.landed, 'an attempt without changes landed');
          strictEqual(outcome.reason, 'no-changes', outcome.diagnostics);
        }),
      limit,
    );

    it(
      'ends an attempt under way when the run is aborted, without landing it',
      () =>
        withRun(makeTransport, async (run, transport) => {
          const started = performance.now();
          const outcome = transport.runAttempt(run.context, run.task('hangs'), 1, run.base);
          await waitUntil(
            'the attempt to start',
            () => run.events().some((event) => event.type === 'task.started'),
            limit / 2,
          );
          run.abort.abort();
          const ended = await outcome;
          ok(!ended.landed, 'an aborted attempt landed');
          if (!options.outlivesCoordinator) {
            // Its attempts end with it: nothing of the run may still be running once the outcome is in.
            strictEqual(
              findRunProcesses(run.context.loop.runId).length,
              0,
              'a process of the attempt still runs',
            );
          }
          ok(performance.now() - started < 50_000, 'the attempt ended before its worker would have');
        }),
      limit,
    );

    it(
      options.outlivesCoordinator
        ? 'waits again for an attempt a previous coordinator dispatched (resumeAttempt), with the outcome it had'
        : 'offers no resumeAttempt: its attempts end with their coordinator',
      () =>
        withRun(makeTransport, async (run, transport) => {
          strictEqual(transport.resumeAttempt !== undefined, options.outlivesCoordinator);
          if (transport.resumeAttempt === undefined) return;
          const first = landed(await transport.runAttempt(run.context, run.task('lands'), 1, run.base));
          const again = landed(await transport.resumeAttempt(run.context, run.task('lands')));
          strictEqual(again, first);
        }),
      limit,
    );
  });
}

import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { runElapsedMs } from '../api/explain.ts';
import { iterationEvidence, listRuns, runFeatureList } from '../api/inspect.ts';
import { BatonError, exitCodes } from '../errors.ts';
import { allIterations, type IterationSummary, type RunState } from '../log/reducer.ts';
import { orderedTasks } from '../log/task-state.ts';
import type { FeatureListResult } from '../workspace/features.ts';
import { eventLogPath } from '../workspace/paths.ts';
import { dashboardPage } from './page.ts';
import { downsample, RunIndex } from './run-index.ts';

export interface DashboardOptions {
  readonly workspace: string;
  /** 0: any free port. */
  readonly port?: number;
  /** Default 127.0.0.1: the dashboard shows prompts and transcripts; it is not for the network. */
  readonly host?: string;
  /** How often a live page's stream looks for new events. */
  readonly pollMs?: number;
}

export interface RunningDashboard {
  readonly url: string;
  close(): Promise<void>;
}

const pageSizeMax = 500;
/** Evidence files are cut to their last 200,000 characters: a page is not a file viewer. */
const evidenceChars = 200_000;

function outcomeOf(entry: IterationSummary): string {
  if (entry.endedAt === null) return entry.interrupted ? 'interrupted' : 'running';
  if (entry.verdict?.done === true) return 'done';
  if (entry.rolledBack) return 'rolled back';
  if (entry.verdict?.claimRejected === true) return 'claim rejected';
  return entry.progressed ? 'progress' : 'no progress';
}

function row(entry: IterationSummary): Record<string, unknown> {
  return {
    iteration: entry.iteration,
    outcome: outcomeOf(entry),
    startedAt: entry.startedAt,
    durationMs: entry.durationMs,
    featuresPassing: entry.featuresPassing,
    featuresTotal: entry.featuresTotal,
    agentStatus: entry.agentStatus,
    failedChecks: entry.failedChecks,
    guards: entry.guards,
    summary: entry.summary,
    verdict: entry.verdict?.reason ?? null,
  };
}

function summaryOf(
  runId: string,
  state: RunState,
  features: FeatureListResult,
  eventCount: number,
  elapsedMs: number,
): Record<string, unknown> {
  const iterations = allIterations(state);
  const counts: Record<string, number> = {};
  for (const entry of iterations) {
    const outcome = outcomeOf(entry);
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return {
    runId,
    goal: state.goal,
    status: state.status,
    startedAt: state.startedAt,
    updatedAt: state.updatedAt,
    /** Active wall-clock time, as explain and the budget count it (pauses and stops left out). */
    elapsedMs,
    stop: state.stop,
    paused: state.paused,
    budgets: state.budgets,
    usage: state.usage,
    iterations: iterations.length,
    iterationsCompleted: state.iterationsCompleted,
    currentIteration: state.currentIteration,
    outcomes: counts,
    featuresPassing: state.featuresPassing,
    featuresTotal: state.featuresTotal,
    lastVerdict: state.lastVerdict?.reason ?? null,
    sandbox: state.sandbox,
    parked: state.parked,
    questions: state.questions,
    events: eventCount,
    features: features.ok ? features.list.features : [],
    tasks:
      state.parallel === null
        ? null
        : orderedTasks(state.parallel).map((task) => ({
            id: task.spec.id,
            status: task.status,
            attempts: task.attempts,
            note: task.abandonedReason ?? task.lastReturn?.reason ?? null,
          })),
  };
}

/**
 * `baton dashboard`: a local web server over the runs' logs. One page; JSON endpoints that return
 * pages of the timeline (never the whole of a long run); the evidence of an iteration on demand; and a
 * server-sent-events stream that tells a live page when the log grew.
 */
export function createDashboardApp(options: DashboardOptions): Hono {
  const { workspace } = options;
  const pollMs = options.pollMs ?? 300;
  const indexes = new Map<string, RunIndex>();
  const indexFor = (runId: string): RunIndex => {
    if (!listRuns(workspace).includes(runId)) {
      throw new BatonError(`there is no run ${runId}`, { code: 'RUN_NOT_FOUND', exitCode: exitCodes.usage });
    }
    let index = indexes.get(runId);
    if (index === undefined) {
      index = new RunIndex(eventLogPath(workspace, runId));
      indexes.set(runId, index);
    }
    index.refresh();
    return index;
  };

  const app = new Hono();
  app.onError((error, c) =>
    c.json(
      { error: error.message },
      BatonError.isInstance(error) && error.code === 'RUN_NOT_FOUND' ? 404 : 500,
    ),
  );
  app.get('/', (c) => c.html(dashboardPage()));
  app.get('/api/runs', (c) => c.json({ runs: listRuns(workspace) }));
  app.get('/api/runs/:run', async (c) => {
    const runId = c.req.param('run');
    const index = indexFor(runId);
    const features = await runFeatureList(workspace, index.state);
    return c.json(
      summaryOf(runId, index.state, features, index.eventCount, runElapsedMs(workspace, runId, index.state)),
    );
  });
  app.get('/api/runs/:run/iterations', (c) => {
    const index = indexFor(c.req.param('run'));
    const iterations = allIterations(index.state);
    const limit = Math.min(pageSizeMax, Math.max(1, Number(c.req.query('limit') ?? '50') || 50));
    // Newest first; `before` pages back from an iteration number.
    const before = Number(c.req.query('before') ?? Number.POSITIVE_INFINITY);
    let end = iterations.length;
    while (end > 0 && (iterations[end - 1]?.iteration ?? 0) >= before) end -= 1;
    const page = iterations
      .slice(Math.max(0, end - limit), end)
      .reverse()
      .map(row);
    return c.json({ total: iterations.length, iterations: page });
  });
  app.get('/api/runs/:run/burn', (c) => {
    const index = indexFor(c.req.param('run'));
    return c.json({
      points: downsample(index.burn, Math.min(2_000, Number(c.req.query('max') ?? '300') || 300)),
    });
  });
  app.get('/api/runs/:run/iterations/:n', (c) => {
    const runId = c.req.param('run');
    const index = indexFor(runId);
    const n = Number(c.req.param('n'));
    const summary = Number.isInteger(n)
      ? allIterations(index.state).find((entry) => entry.iteration === n)
      : undefined;
    if (summary === undefined) {
      return c.json({ error: `run ${runId} has no iteration ${c.req.param('n')}` }, 404);
    }
    return c.json(iterationEvidence(workspace, runId, summary, evidenceChars));
  });
  app.get('/api/runs/:run/stream', (c) => {
    const runId = c.req.param('run');
    const index = indexFor(runId);
    return streamSSE(c, async (stream) => {
      const state = { open: true };
      stream.onAbort(() => {
        state.open = false;
      });
      await stream.writeSSE({ event: 'hello', data: JSON.stringify({ events: index.eventCount }) });
      while (state.open) {
        await stream.sleep(pollMs);
        const fresh = index.refresh();
        if (fresh.length > 0) {
          await stream.writeSSE({
            event: 'events',
            data: JSON.stringify({
              events: index.eventCount,
              types: fresh.slice(-20).map((event) => event.type),
            }),
          });
        }
      }
    });
  });
  return app;
}

export function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const app = createDashboardApp(options);
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port: options.port ?? 0, hostname: host },
      (info: AddressInfo) => {
        resolve({
          url: `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => {
                done();
              });
              if ('closeAllConnections' in server) server.closeAllConnections();
            }),
        });
      },
    );
    server.on('error', (error: Error) => {
      reject(
        new BatonError(`the dashboard cannot listen on ${host}:${options.port ?? 0}: ${error.message}`, {
          code: 'DASHBOARD_LISTEN',
          fix: 'pick another --port (or 0 for any free one)',
          exitCode: exitCodes.usage,
        }),
      );
    });
  });
}

import { appendFileSync, copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explain } from '../src/api/explain.ts';
import { readRun, status } from '../src/api/inspect.ts';
import { resumeRun, runLoop } from '../src/api/run.ts';
import { formatStatus } from '../src/cli/format.ts';
import { RunIndex } from '../src/dashboard/run-index.ts';
import type { BatonError } from '../src/errors.ts';
import { EventLog, parseLogText, readEventLog } from '../src/log/event-log.ts';
import { runEventSchemas, runEventTypes, type CheckResult, type RunEvent } from '../src/log/events.ts';
import { logVersion, upcast, upcasters } from '../src/log/log-version.ts';
import { parseEventLine } from '../src/log/parse-event.ts';
import { rollbackPoint, type RunState } from '../src/log/reducer.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { eventLogPath } from '../src/workspace/paths.ts';
import { recordGoldenLogs } from './fixtures/golden-logs/record.ts';
import { feature, makeWorkspace, tempDir } from './helpers.ts';

const goldenDir = join(import.meta.dirname, 'fixtures', 'golden-logs');

describe('event schemas', () => {
  it('are the one list of event types, and validate every field', () => {
    expect([...runEventTypes].sort()).toEqual(Object.keys(runEventSchemas).sort());
    expect(runEventTypes).toHaveLength(44);
    const good = { seq: 1, at: 'x', type: 'verify.ended', iteration: 1, commit: 'abc', checks: [] };
    expect(parseEventLine(JSON.stringify(good)).ok).toBe(true);
    const bad = parseEventLine(JSON.stringify({ ...good, checks: [{ name: 'F1' }] }));
    expect(bad).toMatchObject({ ok: false, problem: 'invalid', type: 'verify.ended', version: 1 });
    expect(bad.ok ? '' : bad.detail).toContain('checks.0.kind');
  });

  it('every line the log writes carries the version', () => {
    const path = join(tempDir(), 'events.jsonl');
    const { log } = EventLog.open(path);
    log.append({ type: 'run.paused', by: 'test' });
    log.close();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({
      v: logVersion,
      seq: 1,
      type: 'run.paused',
    });
  });
});

describe('upcasters', () => {
  it('form one chain from version 1 to the current version', () => {
    expect(upcasters.map((step) => step.from)).toEqual(
      Array.from({ length: logVersion - 1 }, (_, index) => index + 1),
    );
  });

  it('bring a version 1 line (no v) to the current version before it is validated', () => {
    const line = '{"seq":1,"at":"x","type":"run.paused","by":"a person"}';
    expect(parseEventLine(line)).toEqual({
      ok: true,
      version: 1,
      event: { v: logVersion, seq: 1, at: 'x', type: 'run.paused', by: 'a person' },
    });
  });

  it('apply their steps in order, from the version that wrote the event', () => {
    const steps = [
      {
        from: 1,
        up: (event: Readonly<Record<string, unknown>>) => ({ ...event, by: `(${String(event.who)})`, v: 2 }),
      },
      {
        from: 2,
        up: (event: Readonly<Record<string, unknown>>) => ({ ...event, by: `${String(event.by)}!`, v: 3 }),
      },
    ];
    expect(upcast({ type: 'run.paused', who: 'ann' }, 1, steps, 3)).toMatchObject({ by: '(ann)!', v: 3 });
    expect(upcast({ type: 'run.paused', by: 'bob', v: 2 }, 2, steps, 3)).toMatchObject({ by: 'bob!', v: 3 });
    expect(() => upcast({}, 1, steps.slice(1), 3)).toThrow(/no upcaster from event log version 1/);
  });
});

/** A workspace-shaped folder holding one golden log as its only run. */
function workspaceWith(log: string): { workspace: string; runId: string } {
  const workspace = tempDir();
  const runId = '20260101T000000000Z-golden';
  mkdirSync(join(workspace, '.baton', 'runs', runId), { recursive: true });
  copyFileSync(log, eventLogPath(workspace, runId));
  return { workspace, runId };
}

/** What resume used to rebuild by scanning the log: the reference the fold must agree with. */
function scannedChecks(events: readonly RunEvent[], state: RunState) {
  const byIteration = new Map<number, readonly CheckResult[]>();
  let ended = false;
  let previous: readonly CheckResult[] = [];
  for (const event of events) {
    if (event.type === 'verify.ended') byIteration.set(event.iteration, event.checks);
    if (event.type === 'iteration.ended') {
      ended = true;
      previous = byIteration.get(event.iteration) ?? [];
    }
    // The baseline holds until an iteration ends; a verification after accepted proposals, from then on.
    if (event.type === 'baseline.verified' && !ended) previous = event.checks;
    if (event.type === 'proposals.verified') previous = event.checks;
  }
  return {
    previous,
    atCheckpoint:
      state.lastCheckpoint === null ? [] : (byIteration.get(state.lastCheckpoint.iteration) ?? []),
  };
}

interface Expected {
  readonly stop: string;
  readonly iterations: number;
  readonly passing: number;
  readonly total: number;
  readonly rollbacks: number;
  readonly claimsRejected: readonly number[];
  readonly checkpoint: string | null;
  readonly merges?: number;
}

const expectations: Record<string, Expected> = {
  'demo-done-after-rejected-claim': {
    stop: 'done',
    iterations: 5,
    passing: 4,
    total: 4,
    rollbacks: 0,
    claimsRejected: [3],
    checkpoint: 'checkpoint-5',
  },
  'regression-rollback': {
    stop: 'done',
    iterations: 5,
    passing: 4,
    total: 4,
    rollbacks: 1,
    claimsRejected: [],
    checkpoint: 'checkpoint-5',
  },
  'parallel-done': {
    stop: 'done',
    iterations: 0,
    passing: 2,
    total: 2,
    rollbacks: 0,
    claimsRejected: [],
    checkpoint: null,
    merges: 2,
  },
  'stopped-by-person': {
    stop: 'stopped',
    iterations: 2,
    passing: 2,
    total: 3,
    rollbacks: 0,
    claimsRejected: [],
    checkpoint: 'checkpoint-2',
  },
};

describe('golden logs', () => {
  it('are what this version records: the recorder writes the same kinds of runs as the fixtures hold', async () => {
    // BATON_RECORD_GOLDEN_LOGS=<dir> keeps the recorded logs there (to add a new version's fixtures).
    const outDir = process.env.BATON_RECORD_GOLDEN_LOGS ?? tempDir();
    await recordGoldenLogs(outDir);
    const current = join(goldenDir, `v${logVersion}`);
    expect(readdirSync(outDir).sort()).toEqual(readdirSync(current).sort());
    const typesOf = (path: string): string[] =>
      [
        ...new Set(
          readFileSync(path, 'utf8')
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => (JSON.parse(line) as { type: string }).type),
        ),
      ].sort();
    for (const name of readdirSync(current)) {
      expect(typesOf(join(outDir, name)), name).toEqual(typesOf(join(current, name)));
    }
  }, 300_000);

  const versions = readdirSync(goldenDir).filter((name) => /^v\d+$/.test(name));
  it('exist for version 1 (before versioning) and for the current version', () => {
    expect(versions).toEqual(expect.arrayContaining(['v1', `v${logVersion}`]));
  });

  for (const version of versions) {
    for (const [name, expected] of Object.entries(expectations)) {
      it(`${version}/${name}: status, log, explain and the dashboard agree on it`, async () => {
        const path = join(goldenDir, version, `${name}.jsonl`);
        const { workspace, runId } = workspaceWith(path);

        // log (readRun): every line understood, each brought to the current version.
        const record = readRun(workspace);
        expect(record.warnings).toEqual([]);
        expect(record.tornTail).toBe(false);
        expect(record.events.every((event) => event.v === logVersion)).toBe(true);
        const { state } = record;
        expect(state.runId).not.toBeNull();
        expect(state.stop?.reason).toBe(expected.stop);
        expect(state.iterationsCompleted).toBe(expected.iterations);
        expect(state.featuresPassing).toBe(expected.passing);
        expect(state.featuresTotal).toBe(expected.total);
        expect(state.rollbacks).toBe(expected.rollbacks);
        expect(
          state.iterations
            .filter((entry) => entry.verdict?.claimRejected === true)
            .map((entry) => entry.iteration),
        ).toEqual(expected.claimsRejected);
        expect(state.lastCheckpoint?.tag.split('/').at(-1) ?? null).toBe(expected.checkpoint);
        if (expected.merges !== undefined) {
          expect(state.parallel?.merges).toBe(expected.merges);
          expect(state.parallel?.passingOracles).toEqual(['sane']);
        }

        // status
        const report = await status(workspace);
        expect(report.runId).toBe(runId);
        expect(report.state).toEqual(state);
        expect(formatStatus(report)).toContain(`features passing: ${expected.passing}/${expected.total}`);
        expect(formatStatus(report)).not.toContain('WARNING');

        // explain
        const explanation = explain(workspace);
        expect(explanation.warnings).toEqual([]);
        expect(explanation.stop?.reason).toBe(expected.stop);
        expect(explanation.budgets.find((line) => line.name === 'iterations')?.used).toBe(
          String(expected.iterations),
        );

        // the dashboard's incremental index folds to the same state
        const index = new RunIndex(path);
        index.refresh();
        expect(index.warnings).toEqual([]);
        expect(index.state).toEqual(state);

        // resume reads it strictly (no line left out) and the fold has what it used to rescan for
        const strict = readEventLog(path);
        expect(strict.events).toHaveLength(record.events.length);
        const scanned = scannedChecks(strict.events, state);
        expect(state.previousChecks).toEqual(scanned.previous);
        if (state.lastCheckpoint !== null) {
          expect(rollbackPoint(state)).toEqual({
            commit: state.lastCheckpoint.commit,
            checks: scanned.atCheckpoint,
          });
        }
        if (expected.iterations > 0) expect(state.previousChecks.length).toBeGreaterThan(0);
      });
    }
  }
});

describe('a log written by a newer baton', () => {
  const future = (seq: number): string =>
    `${JSON.stringify({ v: logVersion + 1, seq, at: '2027-01-01T00:00:00.000Z', type: 'run.teleported', to: 'mars' })}\n`;

  it('is shown by status, log, explain and the dashboard with a warning naming the line, type and version', async () => {
    const { workspace, runId } = workspaceWith(join(goldenDir, `v${logVersion}`, 'stopped-by-person.jsonl'));
    const path = eventLogPath(workspace, runId);
    const lines = readFileSync(path, 'utf8').split('\n').length - 1;
    appendFileSync(path, future(lines + 1));

    const record = readRun(workspace);
    expect(record.state.featuresPassing).toBe(2);
    expect(record.events).toHaveLength(lines);
    expect(record.warnings).toContainEqual(
      expect.objectContaining({ line: lines + 1, type: 'run.teleported', version: logVersion + 1 }),
    );
    const text = formatStatus(await status(workspace));
    expect(text).toContain('features passing: 2/3');
    expect(text).toMatch(
      new RegExp(`WARNING .*events\\.jsonl:${lines + 1} .*run\\.teleported.*version ${logVersion + 1}`),
    );
    expect(explain(workspace).warnings.map((warning) => warning.line)).toContain(lines + 1);
    const index = new RunIndex(path);
    index.refresh();
    expect(index.state.featuresPassing).toBe(2);
    expect(index.warnings[0]).toMatchObject({
      line: lines + 1,
      type: 'run.teleported',
      version: logVersion + 1,
    });
  });

  it('a corrupt line of this version is left out by readers too, but refused by a strict read', () => {
    const text =
      '{"seq":1,"at":"x","type":"run.paused","by":"a"}\n{"seq":2,"at":"x","type":"iteration.exploded"}\n';
    expect(parseLogText(text, 'events.jsonl', { tolerant: true }).warnings).toEqual([
      expect.objectContaining({ line: 2, type: 'iteration.exploded', version: 1 }),
    ]);
    expect(() => parseLogText(text)).toThrow(/events.jsonl:2 is not a known baton event/);
  });

  it('is refused by resume, and by run continuing it, naming both versions and the fix', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')],
      budgets: { iterations: 1 },
    });
    const worker = createFunctionAgent(({ cwd }) => {
      writeFileSync(join(cwd, 'a.txt'), 'a\n');
      return 'created a.txt';
    });
    const first = await runLoop({ workspace, agent: worker });
    expect(first.stop.reason).toBe('budget-iterations');
    const path = eventLogPath(workspace, first.runId);
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n').length - 1;
    appendFileSync(path, future(lines + 1));

    const refused = (await resumeRun({ workspace, agent: worker }).catch(
      (error: unknown) => error,
    )) as BatonError;
    expect(refused.code).toBe('LOG_TOO_NEW');
    expect(refused.message).toContain(`event log version ${logVersion + 1}`);
    expect(refused.message).toContain(`version ${logVersion}`);
    expect(refused.fix).toContain('upgrade baton');

    // Without its run.stopped the run is unfinished: `baton run` would continue it, and refuses too.
    const unfinished = text.split('\n').filter((line) => line !== '' && !line.includes('"run.stopped"'));
    writeFileSync(path, `${unfinished.join('\n')}\n${future(unfinished.length + 1)}`);
    const continued = (await runLoop({ workspace, agent: worker }).catch(
      (error: unknown) => error,
    )) as BatonError;
    expect(continued.code).toBe('LOG_TOO_NEW');
    expect(readFileSync(path, 'utf8')).toContain('run.teleported');
  });
});

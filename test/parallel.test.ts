import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Agent } from '../src/agents/agent.ts';
import { runLoop } from '../src/api/run.ts';
import { formatStatus } from '../src/cli/format.ts';
import { emptyUsage } from '../src/log/usage.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { readEventLog } from '../src/log/event-log.ts';
import type { RunEvent } from '../src/log/events.ts';
import { foldEvents } from '../src/log/reducer.ts';
import type { AgentScriptInput, ScriptRule } from '../src/testing/script.ts';
import { taskPlan, type TaskPlanEntry } from '../src/testing/task-plan.ts';
import { readFeatureList } from '../src/workspace/features.ts';
import { eventLogPath } from '../src/workspace/paths.ts';
import { checkOutRunBranch, feature, git, makeWorkspace } from './helpers.ts';

type RuleInput = Omit<Partial<ScriptRule>, 'when'> & { when?: ScriptRule['when'] };

/** A planner rule that writes TASKS.json, and worker rules keyed on the task heading of the prompt. */
function script(tasks: readonly TaskPlanEntry[], workerRules: readonly RuleInput[]): AgentScriptInput {
  const plan = taskPlan(tasks);

  return {
    name: 'parallel test agent',
    rules: [
      {
        name: 'plan',
        when: { promptIncludes: '# Plan the work', fileMissing: 'TASKS.json' },
        do: [{ write: { path: 'TASKS.json', content: JSON.stringify(plan, null, 2) } }],
        say: 'planned',
      },
      ...workerRules,
    ],
  };
}

/** A workspace whose baton.yaml runs the scripted agent (sandboxed, as a real agent) with parallel settings. */
async function parallelWorkspace(options: {
  features: ReturnType<typeof feature>[];
  files?: Record<string, string>;
  agent: AgentScriptInput;
  parallel: string;
  oracles?: { name: string; command: string }[];
}): Promise<string> {
  const workspace = await makeWorkspace({
    features: options.features,
    files: { 'README.md': '# project\n', ...options.files },
    oracles: options.oracles ?? [],
    agentYaml: 'agent:\n  type: scripted\n  script: agent.json\n  timeout: 1m',
  });
  writeFileSync(join(workspace, 'agent.json'), JSON.stringify(options.agent, null, 2));
  appendFileSync(join(workspace, 'baton.yaml'), `parallel:\n${options.parallel}\n`);
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-qm', 'parallel test setup');
  return workspace;
}

function eventsOf(workspace: string, runId: string): RunEvent[] {
  return readEventLog(eventLogPath(workspace, runId)).events;
}

function ofType<T extends RunEvent['type']>(
  events: readonly RunEvent[],
  type: T,
): Extract<RunEvent, { type: T }>[] {
  return events.filter((event): event is Extract<RunEvent, { type: T }> => event.type === type);
}

function writeTaskFile(id: string, after?: string): RuleInput {
  return {
    name: id,
    when: { promptIncludes: `# Task ${id} `, ...(after === undefined ? {} : { fileExists: after }) },
    do: [{ sleepMs: 150 }, { write: { path: `src/${id}.txt`, content: `${id} ok\n` } }],
    say: `wrote src/${id}.txt`,
  };
}

describe('parallel workers', () => {
  it('runs 8 tasks with dependencies on 4 workers: everything merged once, verified, in dependency order', async () => {
    const ids = ['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8'];
    // t2 needs t1; t4 needs t2 and t3; t8 needs t5, t6 and t7. A worker started too early finds nothing to build on.
    const dependsOn: Record<string, string[]> = { t2: ['t1'], t4: ['t2', 't3'], t8: ['t5', 't6', 't7'] };
    const workspace = await parallelWorkspace({
      features: ids.map((id) => feature(`F-${id}`, `grep -q '${id} ok' src/${id}.txt`)),
      agent: script(
        ids.map((id) => ({
          id,
          features: [`F-${id}`],
          scope: [`src/${id}.txt`],
          dependsOn: dependsOn[id] ?? [],
          verify: [`test -s src/${id}.txt`],
        })),
        ids.map((id) => writeTaskFile(id, dependsOn[id]?.map((dep) => `src/${dep}.txt`)[0])),
      ),
      parallel: '  workers: 4\n  replans: 0',
      oracles: [{ name: 'sane', command: 'test -f README.md' }],
    });
    const result = await runLoop({ workspace });
    expect(result.stop.reason).toBe('done');
    expect(result.state.featuresPassing).toBe(8);

    const events = eventsOf(workspace, result.runId);
    expect(foldEvents(events)).toEqual(result.state);
    expect(
      formatStatus({ runId: result.runId, state: result.state, features: [], featureProblems: [] }),
    ).toContain('tasks (4 workers, plan revision 1): 8 merged');
    const merged = ofType(events, 'task.merged');
    expect(merged.map((event) => event.task).sort()).toEqual(ids);
    expect(new Set(merged.map((event) => event.task)).size).toBe(8);
    // A dependency landed before any attempt of the task that needs it started.
    for (const [task, deps] of Object.entries(dependsOn)) {
      const started = events.findIndex((event) => event.type === 'task.started' && event.task === task);
      for (const dep of deps) {
        const landed = events.findIndex((event) => event.type === 'task.merged' && event.task === dep);
        expect(landed).toBeGreaterThan(-1);
        expect(landed).toBeLessThan(started);
      }
    }
    // Four workers really worked at once: some moment had four attempts under way.
    let running = 0;
    let most = 0;
    for (const event of events) {
      if (event.type === 'task.started') running += 1;
      if (event.type === 'task.worked') running -= 1;
      most = Math.max(most, running);
    }
    expect(most).toBe(4);
    expect(new Set(ofType(events, 'task.started').map((event) => event.worker))).toEqual(
      new Set([1, 2, 3, 4]),
    );

    // The integration branch has every file, FEATURES.json every feature passing with evidence, and no task branch is left.
    checkOutRunBranch(workspace, result.state);
    for (const id of ids) expect(readFileSync(join(workspace, `src/${id}.txt`), 'utf8')).toBe(`${id} ok\n`);
    const list = readFeatureList(workspace);
    if (!list.ok) throw new Error(list.problems.join('; '));
    expect(list.list.features.every((entry) => entry.status === 'passing' && entry.evidence !== null)).toBe(
      true,
    );
    expect(git(workspace, 'branch', '--list', 'baton-tasks/*').trim()).toBe('');
    expect(git(workspace, 'branch', '--list', '--format=%(refname:short)', 'baton/*').trim()).toBe(
      result.state.branch,
    );
    expect(git(workspace, 'worktree', 'list').trim().split('\n')).toHaveLength(1);
    expect(git(workspace, 'status', '--porcelain').trim()).toBe('');
    // Each task's work landed exactly once on the run's branch, and none of it on main.
    expect(git(workspace, 'log', '--format=%B', 'main')).not.toContain('Baton-Task:');
    const log = git(workspace, 'log', '--format=%B', result.state.branch ?? '');
    for (const id of ids) expect(log.split(`Baton-Task: ${result.runId}/${id}/`).length - 1).toBe(1);
  });

  async function strayingRun(scopeInSandbox: boolean) {
    const workspace = await parallelWorkspace({
      features: [feature('A', 'test -f src/a/done.txt'), feature('B', 'test -f src/b/done.txt')],
      agent: script(
        [
          { id: 'a', features: ['A'], scope: ['src/a/**'] },
          { id: 'b', features: ['B'], scope: ['src/b/**'] },
        ],
        [
          {
            name: 'a strays',
            when: { promptIncludes: '# Task a ' },
            do: [
              { write: { path: 'src/a/done.txt', content: 'a\n' } },
              { write: { path: 'README.md', content: '# rewritten by task a\n' } },
            ],
          },
          {
            name: 'b',
            when: { promptIncludes: '# Task b ' },
            do: [{ write: { path: 'src/b/done.txt', content: 'b\n' } }],
          },
        ],
      ),
      parallel: `  workers: 2\n  taskAttempts: 2\n  replans: 0\n  scopeInSandbox: ${String(scopeInSandbox)}`,
    });
    const result = await runLoop({ workspace });
    const events = eventsOf(workspace, result.runId);
    // Task a never lands, b does, and the run says why it stopped.
    expect(result.stop.reason).toBe('no-progress');
    expect(ofType(events, 'task.abandoned').map((event) => event.task)).toEqual(['a']);
    expect(ofType(events, 'task.merged').map((event) => event.task)).toEqual(['b']);
    expect(readFileSync(join(workspace, 'README.md'), 'utf8')).toBe('# project\n');
    expect(result.state.passingFeatures).toEqual(['B']);
    expect(result.stop.message).toContain('Abandoned tasks: a');
    return {
      workspace,
      result,
      returned: ofType(events, 'task.returned').filter((event) => event.task === 'a'),
    };
  }

  it('refuses a diff outside the task scope before merge, and keeps the refused work under a ref', async () => {
    const { workspace, result, returned } = await strayingRun(false);
    expect(returned).toHaveLength(2);
    expect(returned.every((event) => event.reason === 'out-of-scope')).toBe(true);
    expect(returned[0]?.diagnostics).toContain('README.md');
    expect(git(workspace, 'show', `refs/baton/returned/${result.runId}/a/1:README.md`)).toBe(
      '# rewritten by task a\n',
    );
  });

  it('makes the worktree read-only outside the task scope when the sandbox can', async () => {
    const { result, returned } = await strayingRun(true);
    expect(returned).toHaveLength(2);
    if (result.state.sandbox?.backend === 'bwrap') {
      // The write to README.md failed inside the sandbox: the worker could not even try it on.
      expect(returned.every((event) => event.reason === 'session-failed')).toBe(true);
      expect(returned[0]?.diagnostics).toMatch(/read-only|EROFS/i);
    } else {
      expect(returned.every((event) => event.reason === 'out-of-scope')).toBe(true);
    }
  });

  it('serializes two tasks that change the same lines: one lands, the other is rebased onto it and lands too', async () => {
    const appendLine = (id: string): RuleInput => ({
      name: id,
      when: { promptIncludes: `# Task ${id} `, fileLacks: { path: 'shared.txt', text: `line-${id}` } },
      do: [{ sleepMs: 100 }, { append: { path: 'shared.txt', content: `line-${id}\n` } }],
    });
    const workspace = await parallelWorkspace({
      features: [feature('X', 'grep -q line-x shared.txt'), feature('Y', 'grep -q line-y shared.txt')],
      files: { 'shared.txt': 'base\n' },
      agent: script(
        [
          { id: 'x', features: ['X'], scope: ['shared.txt'] },
          { id: 'y', features: ['Y'], scope: ['shared.txt'] },
        ],
        [appendLine('x'), appendLine('y')],
      ),
      parallel: '  workers: 2\n  replans: 0',
    });
    const result = await runLoop({ workspace });
    expect(result.stop.reason).toBe('done');
    const events = eventsOf(workspace, result.runId);
    const conflicts = ofType(events, 'task.returned').filter((event) => event.reason === 'conflict');
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]?.diagnostics).toContain('shared.txt');
    // Both started from the same tip, so they really ran side by side before the conflict.
    const firstAttempts = ofType(events, 'task.started').filter((event) => event.attempt === 1);
    expect(new Set(firstAttempts.map((event) => event.base)).size).toBe(1);
    expect(
      ofType(events, 'task.merged')
        .map((event) => event.task)
        .sort(),
    ).toEqual(['x', 'y']);
    checkOutRunBranch(workspace, result.state);
    const lines = readFileSync(join(workspace, 'shared.txt'), 'utf8').split('\n');
    expect(lines.filter((line) => line === 'line-x')).toHaveLength(1);
    expect(lines.filter((line) => line === 'line-y')).toHaveLength(1);
    // The retried attempt was told why its first one did not land.
    const retried = conflicts[0]?.task ?? '';
    const prompt = readFileSync(
      join(workspace, '.baton', 'runs', result.runId, 'tasks', retried, 'attempt-2', 'prompt.md'),
      'utf8',
    );
    expect(prompt).toContain('did not land (conflict)');
  });

  it('a failing task does not block the others; what depends on it is abandoned, the rest lands', async () => {
    const workspace = await parallelWorkspace({
      features: ['P', 'Q', 'R', 'S'].map((id) => feature(id, `test -f src/${id}.txt`)),
      agent: script(
        [
          { id: 'p', features: ['P'], scope: ['src/P.txt'], verify: ['exit 3'] },
          { id: 'q', features: ['Q'], scope: ['src/Q.txt'] },
          { id: 'r', features: ['R'], scope: ['src/R.txt'] },
          { id: 's', features: ['S'], scope: ['src/S.txt'], dependsOn: ['p'] },
        ],
        ['p', 'q', 'r', 's'].map((id) => ({
          name: id,
          when: { promptIncludes: `# Task ${id} ` },
          do: [{ write: { path: `src/${id.toUpperCase()}.txt`, content: 'ok\n' } }],
        })),
      ),
      parallel: '  workers: 2\n  taskAttempts: 2\n  replans: 0',
    });
    const result = await runLoop({ workspace });
    expect(result.stop.reason).toBe('no-progress');
    const events = eventsOf(workspace, result.runId);
    expect(
      ofType(events, 'task.merged')
        .map((event) => event.task)
        .sort(),
    ).toEqual(['q', 'r']);
    const returned = ofType(events, 'task.returned').filter((event) => event.task === 'p');
    expect(returned.map((event) => event.reason)).toEqual(['verification-failed', 'verification-failed']);
    expect(returned[0]?.diagnostics).toContain('exit 3');
    const abandoned = ofType(events, 'task.abandoned');
    expect(abandoned.map((event) => event.task)).toEqual(['p', 's']);
    expect(abandoned[1]?.reason).toContain('depends on p');
    expect(ofType(events, 'task.started').some((event) => event.task === 's')).toBe(false);
    expect(result.state.passingFeatures.slice().sort()).toEqual(['Q', 'R']);
  });

  it('a rate-limited worker session waits and is asked again; the attempt is not a failure', async () => {
    const workspace = await makeWorkspace({ features: [feature('F-a', 'test -f src/a.txt')] });
    appendFileSync(
      join(workspace, 'baton.yaml'),
      'parallel:\n  workers: 1\n  taskAttempts: 1\n  replans: 0\nrateLimits:\n  initialBackoff: 50\n',
    );
    git(workspace, 'commit', '-qam', 'parallel, fast backoff');
    let sessions = 0;
    const worker: Agent = {
      specificationVersion: 'agent-v1',
      id: 'limited-once',
      startSession(session) {
        sessions += 1;
        writeFileSync(session.transcriptPath, `session ${sessions}\n`);
        const base = {
          exitCode: 0,
          durationMs: 1,
          usage: emptyUsage,
          transcriptPath: session.transcriptPath,
        };
        if (sessions === 1) {
          writeFileSync(join(session.cwd, 'half-done.txt'), 'partial\n');
          return Promise.resolve({
            ...base,
            status: 'failed',
            exitCode: 1,
            finalMessage: '',
            error: '429',
            rateLimit: { message: '429: slow down', retryAfterMs: 10 },
          });
        }
        mkdirSync(join(session.cwd, 'src'), { recursive: true });
        writeFileSync(join(session.cwd, 'src/a.txt'), 'a\n');
        return Promise.resolve({
          ...base,
          status: 'completed',
          finalMessage: 'wrote src/a.txt',
          error: undefined,
        });
      },
    };
    const planner = createFunctionAgent(({ cwd }) => {
      writeFileSync(
        join(cwd, 'TASKS.json'),
        JSON.stringify(taskPlan([{ id: 'a', features: ['F-a'], scope: ['src/**'] }])),
      );
      return 'planned';
    });
    const result = await runLoop({ workspace, agent: worker, planner });
    expect(result.stop.reason).toBe('done');
    expect(sessions).toBe(2);
    const worked = ofType(eventsOf(workspace, result.runId), 'task.worked');
    expect(worked).toHaveLength(1);
    expect(worked[0]?.rateLimitWaits).toBe(1);
    expect(result.state.rateLimitWaits).toBe(1);
    // The rate-limited session's partial file did not land, and it was set aside, not deleted.
    expect(existsSync(join(workspace, 'half-done.txt'))).toBe(false);
    expect(git(workspace, 'show', `refs/baton/rate-limited/${result.runId}/a-1-1:half-done.txt`)).toBe(
      'partial\n',
    );
  });

  it("a parallel attempt gets the serial loop's guards on what it left uncommitted", async () => {
    const workspace = await makeWorkspace({ features: [feature('F-a', 'test -f src/a.txt')] });
    appendFileSync(
      join(workspace, 'baton.yaml'),
      'parallel:\n  workers: 1\n  taskAttempts: 2\n  replans: 0\n',
    );
    git(workspace, 'commit', '-qam', 'parallel');
    const configBefore = readFileSync(join(workspace, 'baton.yaml'), 'utf8');
    let sessions = 0;
    const worker = createFunctionAgent(({ cwd }) => {
      sessions += 1;
      mkdirSync(join(cwd, 'src'), { recursive: true });
      writeFileSync(join(cwd, 'src/a.txt'), 'a\n');
      if (sessions === 1) {
        // Games the checklist, edits the contract and leaves a scratch file, all in one attempt.
        const features = JSON.parse(readFileSync(join(cwd, 'FEATURES.json'), 'utf8')) as {
          features: { status: string }[];
        };
        for (const entry of features.features) entry.status = 'passing';
        writeFileSync(join(cwd, 'FEATURES.json'), JSON.stringify(features, null, 2));
        appendFileSync(join(cwd, 'baton.yaml'), '# loosened by the worker\n');
        writeFileSync(join(cwd, 'src/debug.log'), 'noise\n');
        return 'all passing now';
      }
      return 'wrote src/a.txt';
    });
    const planner = createFunctionAgent(({ cwd }) => {
      writeFileSync(
        join(cwd, 'TASKS.json'),
        JSON.stringify(taskPlan([{ id: 'a', features: ['F-a'], scope: ['src/**'] }])),
      );
      return 'planned';
    });
    const result = await runLoop({ workspace, agent: worker, planner });
    expect(result.stop.reason).toBe('done');
    const events = eventsOf(workspace, result.runId);
    const fired = ofType(events, 'guard.fired').filter((event) => event.task === 'a');
    expect(fired.map((event) => `${event.guard}:${event.action}`)).toEqual(
      expect.arrayContaining(['tampering:restored', 'test-gaming:rejected', 'pollution:moved']),
    );
    const returned = ofType(events, 'task.returned');
    expect(returned[0]?.reason).toBe('refused');
    expect(returned[0]?.diagnostics).toContain('changed the status or evidence of F-a');
    // The refused attempt is kept; the contract is the person's; the scratch file is out of the tree.
    expect(git(workspace, 'for-each-ref', '--format=%(refname)', 'refs/baton/returned/')).toContain('/a/');
    expect(readFileSync(join(workspace, 'baton.yaml'), 'utf8')).toBe(configBefore);
    expect(existsSync(join(workspace, 'src/debug.log'))).toBe(false);
    expect(existsSync(join(workspace, '.baton', 'scratch', result.runId, 'a-1', 'src/debug.log'))).toBe(true);
    expect(ofType(events, 'task.merged')).toHaveLength(1);
  });
});

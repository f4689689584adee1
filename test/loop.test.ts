import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRun } from '../src/api/inspect.ts';
import { runLoop } from '../src/api/run.ts';
import { BatonError } from '../src/errors.ts';
import { readEventLog } from '../src/log/event-log.ts';
import type { RunEvent } from '../src/log/events.ts';
import { foldEvents, type RunState } from '../src/log/reducer.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { readFeatureList } from '../src/workspace/features.ts';
import { eventLogPath } from '../src/workspace/paths.ts';
import { isProcessAlive } from '../src/util/process-alive.ts';
import { findRunProcesses } from '../src/run/orphans.ts';
import { checkOutRunBranch, feature, git, makeWorkspace } from './helpers.ts';

/** A worker that creates the next missing file of a list, one per session. */
function oneFilePerSession(files: readonly string[], claim = false) {
  return createFunctionAgent(({ cwd }) => {
    const next = files.find((file) => !existsSync(join(cwd, file)));
    if (next !== undefined) writeFileSync(join(cwd, next), 'ok\n');
    return `${next === undefined ? 'nothing left' : `created ${next}`}${claim ? '\nCLAIM: DONE' : ''}`;
  });
}

describe('the loop', () => {
  it('makes progress feature by feature, and the replayed log equals the live state at every step', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')],
      oracles: [{ name: 'sane', command: 'true' }],
      doneOracles: ['sane'],
    });
    const live: RunState[] = [];
    const seen: RunEvent[] = [];
    const result = await runLoop({
      workspace,
      agent: oneFilePerSession(['a.txt', 'b.txt']),
      onEvent: (event, state) => {
        seen.push(event);
        live.push(state);
      },
    });
    expect(result.stop.reason).toBe('done');
    expect(result.stop.exitCode).toBe(0);
    expect(result.state.iterationsCompleted).toBe(2);
    expect(result.state.featuresPassing).toBe(2);

    const { events, tornTail } = readEventLog(eventLogPath(workspace, result.runId));
    expect(tornTail).toBe(false);
    expect(events).toEqual(seen);
    expect(foldEvents(events)).toEqual(result.state);
    events.forEach((_event, index) => {
      expect(foldEvents(events.slice(0, index + 1))).toEqual(live[index]);
    });
    expect(readRun(workspace).state).toEqual(result.state);

    // Only the harness flipped the statuses, and each carries evidence pointing at a real commit.
    checkOutRunBranch(workspace, result.state);
    const list = readFeatureList(workspace);
    if (!list.ok) throw new Error(list.problems.join('; '));
    for (const entry of list.list.features) {
      expect(entry.status).toBe('passing');
      expect(entry.evidence?.exitCode).toBe(0);
      expect(git(workspace, 'cat-file', '-t', entry.evidence?.commit ?? '').trim()).toBe('commit');
    }
    expect(git(workspace, 'status', '--porcelain')).toBe('');
    // Checkpoints are baton's refs, never tags: `git describe` and `git push --tags` stay the project's.
    expect(
      git(workspace, 'for-each-ref', '--format=%(refname)', 'refs/baton/')
        .trim()
        .split('\n')
        .filter((ref) => /\/checkpoint-\d+$/.test(ref)),
    ).toHaveLength(2);
    expect(git(workspace, 'tag', '--list')).toBe('');
    expect(readFileSync(join(workspace, 'PROGRESS.md'), 'utf8')).toContain('## Iteration 2');
  });

  it('rejects a claimed-done run whose oracle fails, says why, and stops on the iteration budget', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f a.txt')],
      oracles: [{ name: 'suite', command: 'echo "2 tests failed" && exit 1' }],
      doneOracles: ['suite'],
      budgets: { iterations: 3, noProgressIterations: 0 },
    });
    const result = await runLoop({ workspace, agent: oneFilePerSession(['a.txt'], true) });
    expect(result.stop.reason).toBe('budget-iterations');
    expect(result.stop.exitCode).toBe(3);
    expect(result.state.iterations).toHaveLength(3);
    for (const entry of result.state.iterations) {
      expect(entry.claimedDone).toBe(true);
      expect(entry.verdict?.done).toBe(false);
      expect(entry.verdict?.claimRejected).toBe(true);
      expect(entry.verdict?.reason).toContain('the claim was rejected');
      expect(entry.verdict?.reason).toContain('oracle suite');
    }
    // The feature itself passes: the harness records that, but "done" needs the oracle too.
    expect(result.state.featuresPassing).toBe(1);
    // The rejection reaches the next worker, with the failing output.
    const prompt = readFileSync(
      join(workspace, '.baton/runs', result.runId, 'iterations/00002/prompt.md'),
      'utf8',
    );
    expect(prompt).toContain('the claim was rejected');
    expect(prompt).toContain('2 tests failed');
  });

  it('stops on the wall-clock budget, measured with an injected clock', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'false')],
      budgets: { wallClock: '1h', noProgressIterations: 0 },
    });
    let offsetMs = 0;
    const start = Date.now();
    const slowWorker = createFunctionAgent(({ env }) => {
      if (env.BATON_ROLE === 'planner') return 'the plan still fits';
      offsetMs += 20 * 60_000;
      return 'worked for twenty minutes';
    });
    const result = await runLoop({ workspace, agent: slowWorker, now: () => new Date(start + offsetMs) });
    expect(result.stop.reason).toBe('budget-wall-clock');
    expect(result.stop.exitCode).toBe(3);
    expect(result.state.iterationsCompleted).toBe(3);
    expect(result.stop.message).toContain('1h of 1h');
  });

  it('stops when no check newly passes for N iterations in a row', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f never.txt')],
      budgets: { iterations: 20, noProgressIterations: 2 },
    });
    const idle = createFunctionAgent(() => 'I looked around and changed nothing.');
    const result = await runLoop({ workspace, agent: idle });
    expect(result.stop.reason).toBe('no-progress');
    expect(result.stop.exitCode).toBe(4);
    expect(result.state.iterationsCompleted).toBe(2);
    expect(result.state.noProgressStreak).toBe(2);
  });

  it('refuses an iteration that flips a status itself (keeping the work under a ref), and restores a FEATURES.json a worker broke', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')],
      budgets: { iterations: 2, noProgressIterations: 0 },
    });
    const cheat = createFunctionAgent(({ cwd, env }) => {
      const path = join(cwd, 'FEATURES.json');
      if (env.BATON_ITERATION === '1') {
        writeFileSync(join(cwd, 'notes.txt'), 'first session\n');
        writeFileSync(path, readFileSync(path, 'utf8').replaceAll('"failing"', '"passing"'));
        return 'all features pass now\nCLAIM: DONE';
      }
      writeFileSync(join(cwd, 'more-notes.txt'), 'second session\n');
      writeFileSync(path, '{ "version": 1, "features": [ oops');
      return 'rewrote the checklist';
    });
    const result = await runLoop({ workspace, agent: cheat });
    checkOutRunBranch(workspace, result.state);
    const [first, second] = result.state.iterations;
    expect(first?.guards).toEqual(['test-gaming']);
    expect(first?.rolledBack).toBe(true);
    expect(first?.verdict?.claimRejected).toBe(true);
    expect(first?.verdict?.reason).toContain('changed the status or evidence of F1, F2');
    // Refused, not lost: the worker's commit is kept under a ref.
    expect(git(workspace, 'show', `refs/baton/rejected/${result.runId}/1:notes.txt`)).toBe('first session\n');
    expect(existsSync(join(workspace, 'notes.txt'))).toBe(false);

    expect(second?.guards).toEqual(['features']);
    expect(second?.rolledBack).toBe(false);
    expect(second?.verdict?.reason).toContain('FEATURES.json was left invalid and has been restored');
    const list = readFeatureList(workspace);
    expect(list.ok && list.list.features.map((entry) => entry.status)).toEqual(['failing', 'failing']);
    // The rest of the second worker's work stands.
    expect(git(workspace, 'show', 'HEAD:more-notes.txt')).toBe('second session\n');
  });

  it('refuses a detached HEAD (its commits would be orphaned) and changes nothing', async () => {
    const workspace = await makeWorkspace();
    git(workspace, 'checkout', '--quiet', '--detach');
    const head = git(workspace, 'rev-parse', 'HEAD').trim();
    const error = await runLoop({ workspace, agent: oneFilePerSession(['done.txt']) }).catch(
      (caught: unknown) => caught,
    );
    expect((error as BatonError).code).toBe('DETACHED_HEAD');
    expect((error as BatonError).fix).toContain('git switch -c');
    expect(git(workspace, 'rev-parse', 'HEAD').trim()).toBe(head);
    expect(existsSync(join(workspace, 'done.txt'))).toBe(false);
    expect(existsSync(join(workspace, '.baton/runs'))).toBe(false);
  });

  it('refuses to start on a dirty tree and changes nothing', async () => {
    const workspace = await makeWorkspace();
    writeFileSync(join(workspace, 'unsaved.txt'), 'a person was editing this\n');
    const error = await runLoop({ workspace, agent: oneFilePerSession(['done.txt']) }).catch(
      (caught: unknown) => caught,
    );
    expect(BatonError.isInstance(error)).toBe(true);
    expect((error as BatonError).code).toBe('DIRTY_TREE');
    expect((error as BatonError).fix).toContain('git stash -u');
    expect(readFileSync(join(workspace, 'unsaved.txt'), 'utf8')).toBe('a person was editing this\n');
    expect(existsSync(join(workspace, '.baton/runs'))).toBe(false);
  });

  it('names the fix when the agent program does not exist, and records the stop', async () => {
    for (const command of ['["baton-no-such-agent", "--print"]', '"baton-no-such-agent --print"']) {
      const workspace = await makeWorkspace({ agentYaml: `agent:\n  type: command\n  command: ${command}` });
      const error = await runLoop({ workspace }).catch((caught: unknown) => caught);
      expect((error as BatonError).code).toBe('AGENT_MISSING');
      expect((error as BatonError).fix).toContain('agent.command');
      expect(readRun(workspace).state.stop).toMatchObject({ reason: 'error' });
      expect(git(workspace, 'status', '--porcelain')).toBe('');
    }
  });

  it('ends a hung agent at its timeout and kills everything it started (unsandboxed: by process group)', async () => {
    const workspace = await makeWorkspace({
      agentYaml: `agent:\n  type: command\n  command: "sleep 300 & echo $! > \\"$BATON_WORKSPACE/../orphan.pid\\"; sleep 300"\n  timeout: 1s\nsandbox:\n  backend: none`,
      budgets: { iterations: 1 },
    });
    const result = await runLoop({ workspace });
    expect(result.state.iterations[0]?.agentStatus).toBe('timed-out');
    expect(result.stop.reason).toBe('budget-iterations');
    const pid = Number(readFileSync(join(workspace, '../orphan.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('ends a hung agent at its timeout and kills everything it started (in the default sandbox)', async () => {
    const workspace = await makeWorkspace({
      agentYaml: 'agent:\n  type: command\n  command: "sleep 300 & sleep 300"\n  timeout: 1s',
      budgets: { iterations: 1 },
    });
    const result = await runLoop({ workspace });
    expect(result.state.iterations[0]?.agentStatus).toBe('timed-out');
    expect(findRunProcesses(result.runId)).toEqual([]);
  });
});

import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listRuns } from '../src/api/inspect.ts';
import { eventLogPath } from '../src/workspace/paths.ts';
import {
  copyWorkspace,
  expectEndsLike,
  expectKilledByFault,
  expectRunsRecoverable,
  finalState,
  inBatches,
  latestEvents,
  resumeAfterCrash,
  runCli,
  serialWorkspace,
  type FinalState,
} from './crash-helpers.ts';

/**
 * kill -9 where the event boundaries do not reach, then resume: a four-iteration run as a real CLI
 * process, SIGKILLed through BATON_FAULT (no clock) right before a git command (mid-commit, mid-reset,
 * mid-tag, between an oracle run and its record), twice in a row (the resumed harness dies too), and
 * halfway through writing an event (a torn last line). Each ends like an uninterrupted run.
 * test/crash-boundaries.test.ts kills it after every event.
 */
const gitStep = Number(process.env.BATON_CHAOS_GIT_STEP ?? '6');
const concurrency = 2;

async function prepared(): Promise<{ base: string; reference: FinalState; events: number }> {
  const base = await serialWorkspace(4);
  const referenceWorkspace = copyWorkspace(base);
  const reference = await runCli(['run', '-C', referenceWorkspace]);
  expect(reference.code, reference.output).toBe(0);
  return { base, reference: finalState(referenceWorkspace), events: latestEvents(referenceWorkspace).length };
}

/** After the crashes: `baton resume` or `baton run` (which resumes a run that never stopped), then the invariants. */
async function finish(
  reference: FinalState,
  workspace: string,
  verb: 'resume' | 'run',
  context: string,
): Promise<void> {
  if (verb === 'resume') {
    await resumeAfterCrash(workspace, context);
  } else {
    const second = await runCli(['run', '-C', workspace]);
    expect(second.code, `${context}; run printed: ${second.output}`).toBe(0);
  }
  expectEndsLike(reference, workspace, context);
  expectRunsRecoverable(workspace, context);
}

describe('kill -9 at any moment loses nothing', () => {
  it(
    'killed before its k-th git command, for every k in steps, then resumed or run again',
    { timeout: 1_800_000 },
    async () => {
      const { base, reference } = await prepared();
      let killed = 0;
      let resumedInterrupted = 0;
      let pastTheEnd = false;
      // Kill before git command 1, 1 + step, ... until the run needs fewer git commands than that.
      for (let batch = 0; !pastTheEnd; batch += 1) {
        const boundaries = Array.from(
          { length: concurrency },
          (_, offset) => 1 + (batch * concurrency + offset) * gitStep,
        );
        const outcomes = await inBatches(boundaries, concurrency, async (boundary) => {
          const workspace = copyWorkspace(base);
          const verb = boundary % 2 === 0 ? 'resume' : 'run';
          const context = `kill before git command ${boundary}, then ${verb}`;
          const crashed = await runCli(['run', '-C', workspace], `kill-at-git:${boundary}`);
          if (crashed.signal === null) {
            // The whole run needed fewer git commands: it must simply have finished.
            expect(crashed.code, `${context}: ${crashed.output}`).toBe(0);
            expectEndsLike(reference, workspace, context);
            return 'finished' as const;
          }
          expectKilledByFault(crashed, context);
          await finish(reference, workspace, verb, context);
          return latestEvents(workspace).some((event) => event.type === 'iteration.interrupted')
            ? ('interrupted' as const)
            : ('killed' as const);
        });
        killed += outcomes.filter((outcome) => outcome !== 'finished').length;
        resumedInterrupted += outcomes.filter((outcome) => outcome === 'interrupted').length;
        pastTheEnd = outcomes.includes('finished');
      }
      const summary = {
        gitStep,
        killedBeforeAGitCommand: killed,
        resumedAnInterruptedIteration: resumedInterrupted,
      };
      mkdirSync('test-artifacts', { recursive: true });
      writeFileSync('test-artifacts/chaos.json', `${JSON.stringify(summary, null, 2)}\n`);
      process.stdout.write(`chaos: ${JSON.stringify(summary)}\n`);
      // A run makes dozens of git calls; most kills land mid-iteration, so resume puts work aside.
      expect(killed).toBeGreaterThan(4);
      expect(resumedInterrupted).toBeGreaterThan(0);
    },
  );

  it(
    'killed, then killed again while resuming, then resumed: still nothing lost',
    { timeout: 600_000 },
    async () => {
      const { base, reference, events } = await prepared();
      // First crash mid-agent, mid-verify and after a record commit; the resumed harness dies after its j-th event.
      const pairs: [number, number][] = [
        [5, 3],
        [Math.min(events - 2, 18), 4],
        [Math.min(events - 2, 30), 6],
      ];
      await inBatches(pairs, concurrency, async ([first, second]) => {
        const workspace = copyWorkspace(base);
        const context = `kill after event ${first}, then kill the resume after its event ${second}`;
        expectKilledByFault(await runCli(['run', '-C', workspace], `kill-after-event:${first}`), context);
        const resumed = await runCli(['resume', '-C', workspace], `kill-after-event:${second}`);
        expectKilledByFault(resumed, context);
        await finish(reference, workspace, 'resume', context);
        // Both crashes were seen and reconciled: two resumptions in the log.
        expect(
          latestEvents(workspace).filter((event) => event.type === 'run.resumed'),
          context,
        ).toHaveLength(2);
      });
    },
  );

  it(
    'killed halfway through writing an event (a torn last line), then run again',
    { timeout: 600_000 },
    async () => {
      const { base, reference } = await prepared();
      await inBatches([3, 6, 12, 19], concurrency, async (boundary) => {
        const workspace = copyWorkspace(base);
        const context = `kill after event ${boundary}, with the next event half written`;
        expectKilledByFault(await runCli(['run', '-C', workspace], `kill-after-event:${boundary}`), context);
        // What a kill during the next write leaves: part of a line, no newline (a write is not atomic).
        const runId = listRuns(workspace).at(-1) ?? '';
        const path = eventLogPath(workspace, runId);
        const lastLine = readFileSync(path, 'utf8').trimEnd().split('\n').at(-1) ?? '';
        appendFileSync(
          path,
          lastLine.slice(0, Math.floor(lastLine.length / 2)).replace(/"seq":\d+/, `"seq":${boundary + 1}`),
        );
        await finish(reference, workspace, 'run', context);
      });
    },
  );
});

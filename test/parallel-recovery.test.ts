import { describe, expect, it } from 'vitest';
import {
  copyWorkspace,
  expectEveryTaskLandedOnce,
  expectKilledByFault,
  expectRunsRecoverable,
  inBatches,
  latestEvents,
  parallelWorkspace,
  resumeAfterCrash,
  runCli,
} from './crash-helpers.ts';

/**
 * SIGKILL the coordinator of a parallel run right before its k-th git command, for k in steps over the
 * whole run (planning, a worker's worktree and commit, a rebase, a merge's checks, the fast-forward,
 * the evidence commit), through BATON_FAULT, then resume: every task lands exactly once, no worktree,
 * branch or process is left behind, and the tree is clean. test/crash-boundaries.test.ts kills it at
 * event boundaries.
 */
const gitStep = Number(process.env.BATON_PARALLEL_CHAOS_GIT_STEP ?? '12');
const concurrency = 2;

describe('a parallel run survives its coordinator', () => {
  it(
    'killed before its k-th git command, for every k in steps, then resumed: every task lands once',
    { timeout: 1_800_000 },
    async () => {
      const base = await parallelWorkspace(3);
      let trials = 0;
      let interrupted = 0;
      let pastTheEnd = false;
      for (let batch = 0; !pastTheEnd; batch += 1) {
        const boundaries = Array.from(
          { length: concurrency },
          (_, offset) => 1 + (batch * concurrency + offset) * gitStep,
        );
        const outcomes = await inBatches(boundaries, concurrency, async (boundary) => {
          const workspace = copyWorkspace(base);
          const context = `kill before git command ${boundary}`;
          const crashed = await runCli(['run', '-C', workspace], `kill-at-git:${boundary}`);
          if (crashed.signal === null) {
            // The run needed fewer git commands than that: it must simply have finished.
            expect(crashed.code, `${context}: ${crashed.output}`).toBe(0);
            expectEveryTaskLandedOnce(workspace, context);
            return undefined;
          }
          expectKilledByFault(crashed, context);
          const resumed = await resumeAfterCrash(workspace, context);
          const full = `${context}; resume printed: ${resumed.output}`;
          expectEveryTaskLandedOnce(workspace, full);
          expectRunsRecoverable(workspace, full);
          return latestEvents(workspace).filter(
            (event) => event.type === 'task.returned' && event.reason === 'interrupted',
          ).length;
        });
        for (const outcome of outcomes) {
          if (outcome === undefined) pastTheEnd = true;
          else {
            trials += 1;
            interrupted += outcome;
          }
        }
      }
      console.log(
        `parallel chaos: ${trials} coordinators killed before a git command (every ${gitStep}th), attempts interrupted and re-run: ${interrupted}`,
      );
      expect(trials).toBeGreaterThan(3);
      expect(interrupted).toBeGreaterThan(0);
    },
  );
});

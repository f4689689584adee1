import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { Explanation } from '../api/explain.ts';
import type { RunEvent } from '../log/events.ts';
import type { RunState } from '../log/reducer.ts';

// Each command imports the API it calls when it runs (see cli/main.ts).

export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly setExitCode: (code: number) => void;
  readonly eventPrinter: (json: boolean) => Promise<(event: RunEvent, state: RunState) => void>;
  /** Run a long operation with SIGINT/SIGTERM wired to its abort signal. */
  readonly withInterrupts: <T>(work: (signal: AbortSignal) => Promise<T>) => Promise<T>;
}

export function workspaceOption(): Option {
  return new Option('-C, --workspace <dir>', 'the workspace (default: the current directory)').default('.');
}

export function formatExplanation(explanation: Explanation): string {
  const lines = [`run ${explanation.runId}`, `  ${explanation.headline}`];
  if (explanation.lastVerdict !== null) lines.push(`  last verdict: ${explanation.lastVerdict}`);
  lines.push('  budgets:');
  for (const budget of explanation.budgets) {
    lines.push(
      `    ${budget.name.padEnd(11)} used ${budget.used.padEnd(9)} of ${budget.limit.padEnd(9)} left ${budget.left}`,
    );
  }
  lines.push(
    `  iterations without progress: ${explanation.noProgress.streak} (stop at ${explanation.noProgress.limit || 'never'})`,
  );
  if (explanation.lastCheckpoint !== null) {
    lines.push(
      `  last checkpoint: ${explanation.lastCheckpoint.tag} (${explanation.lastCheckpoint.commit.slice(0, 8)})`,
    );
  }
  for (const entry of explanation.parked) lines.push(`  parked ${entry.feature}: ${entry.reason}`);
  for (const question of explanation.questions) {
    lines.push(
      `  question (iteration ${question.iteration}${question.feature === null ? '' : `, ${question.feature}`}): ${question.question}`,
    );
  }
  const firings = Object.entries(explanation.guardFirings);
  if (firings.length > 0) {
    lines.push(`  guards fired: ${firings.map(([name, count]) => `${name} ×${String(count)}`).join(', ')}`);
  }
  return lines.join('\n');
}

/** pause, resume, stop, steer, checkpoints, rollback, explain: a person's hands on a long run. */
export function registerControlCommands(program: Command, io: CommandIo): void {
  program
    .command('pause')
    .description('pause the running harness after its current iteration')
    .addOption(workspaceOption())
    .action(async (flags: { workspace: string }) => {
      const { pauseRun } = await import('../api/control.ts');
      io.out(pauseRun(flags.workspace).message);
    });

  program
    .command('resume')
    .description('let a paused harness go on, or continue a stopped or crashed run in this process')
    .addOption(workspaceOption())
    .option('--run <id>', 'the run to continue (default: the newest)')
    .option('--json', 'print every event as a JSON line')
    .action(async (flags: { workspace: string; run?: string; json?: boolean }) => {
      const { resumeOrUnpause } = await import('../api/control.ts');
      const { printRunSummary } = await import('./run-summary.ts');
      const onEvent = await io.eventPrinter(flags.json === true);
      const outcome = await io.withInterrupts((signal) =>
        resumeOrUnpause({
          workspace: resolve(flags.workspace),
          signal,
          onEvent,
          ...(flags.run === undefined ? {} : { runId: flags.run }),
        }),
      );
      if (outcome.unpaused) io.out(outcome.message);
      else {
        if (flags.json !== true) printRunSummary(io, outcome.receipt);
        io.setExitCode(outcome.stop.exitCode);
      }
    });

  program
    .command('stop')
    .description('stop the running harness after its current iteration (--now: within seconds)')
    .addOption(workspaceOption())
    .option('--now', 'interrupt the current iteration; its work is kept under a ref, not committed')
    .action(async (flags: { workspace: string; now?: boolean }) => {
      const { stopRun } = await import('../api/control.ts');
      const result = stopRun(flags.workspace, flags.now === true);
      io.out(result.message);
    });

  program
    .command('steer')
    .description("leave a message for the next worker's prompt")
    .argument('<message>', 'what the next worker should know or do')
    .option(
      '--unpark <ids>',
      'comma-separated feature ids to work on again (e.g. after answering a question)',
    )
    .addOption(workspaceOption())
    .action(async (message: string, flags: { workspace: string; unpark?: string }) => {
      const { steerRun } = await import('../api/control.ts');
      const unpark =
        flags.unpark === undefined
          ? []
          : flags.unpark
              .split(',')
              .map((id) => id.trim())
              .filter((id) => id !== '');
      io.out(steerRun(flags.workspace, message, unpark).message);
    });

  program
    .command('proposals')
    .description('changes to the verification contract or to tested behaviour that wait for a decision')
    .addOption(workspaceOption())
    .option('--run <id>', 'a run id (default: the newest)')
    .option('--json', 'print as JSON')
    .action(async (flags: { workspace: string; run?: string; json?: boolean }) => {
      const { describeProposal, listProposals } = await import('../api/proposals.ts');
      const { runId, proposals } = listProposals(flags.workspace, flags.run);
      if (flags.json === true) {
        io.out(JSON.stringify({ runId, proposals }, null, 2));
        return;
      }
      if (proposals.length === 0) io.out(`run ${runId} has no proposals`);
      for (const proposal of proposals) io.out(describeProposal(proposal));
    });

  for (const [name, decision] of [
    ['accept', 'accepted'],
    ['reject', 'rejected'],
  ] as const) {
    program
      .command(name)
      .description(
        decision === 'accepted'
          ? 'accept a proposal: the run puts it on its branch before its next iteration'
          : 'reject a proposal: its commit stays under its ref, off the branch',
      )
      .argument('<id>', 'the proposal (P1, P2, ...: `baton proposals`)')
      .option('--reason <text>', 'why, recorded with the decision', 'decided by a person')
      .option('--run <id>', 'a run id (default: the newest)')
      .option('--json', 'print the result as JSON')
      .addOption(workspaceOption())
      .action(
        async (id: string, flags: { workspace: string; reason: string; run?: string; json?: boolean }) => {
          const { decideProposal } = await import('../api/proposals.ts');
          const result = decideProposal(flags.workspace, id, decision, flags.reason, flags.run);
          io.out(flags.json === true ? JSON.stringify({ id, decision, ...result }) : result.message);
        },
      );
  }

  program
    .command('checkpoints')
    .description("the run's checkpoints: states where nothing that passed before failed")
    .addOption(workspaceOption())
    .option('--run <id>', 'a run id (default: the newest)')
    .option('--json', 'print as JSON')
    .action(async (flags: { workspace: string; run?: string; json?: boolean }) => {
      const { listCheckpoints } = await import('../api/checkpoints.ts');
      const checkpoints = listCheckpoints(flags.workspace, flags.run);
      if (flags.json === true) {
        io.out(JSON.stringify(checkpoints, null, 2));
        return;
      }
      if (checkpoints.length === 0) io.out('no checkpoints yet');
      for (const checkpoint of checkpoints) {
        io.out(
          `  ${String(checkpoint.iteration).padStart(4)}  ${checkpoint.commit.slice(0, 8)}  ${checkpoint.featuresPassing ?? '?'}/${checkpoint.featuresTotal ?? '?'} passing  ${checkpoint.tag}`,
        );
      }
    });

  program
    .command('rollback')
    .description(
      "put the workspace back to a checkpoint; refuses to take a person's commits or uncommitted work unless --force, and keeps everything it takes under refs/baton/backup/",
    )
    .argument('<checkpoint>', 'an iteration number from `baton checkpoints`, or a checkpoint ref')
    .addOption(workspaceOption())
    .option('--dry-run', 'say what would move; change nothing')
    .option(
      '--force',
      "also take a person's commits and uncommitted work off the branch (kept, with the undo command)",
    )
    .option('--json', 'print as JSON')
    .action(
      async (
        target: string,
        flags: { workspace: string; json?: boolean; dryRun?: boolean; force?: boolean },
      ) => {
        const { rollbackTo } = await import('../api/checkpoints.ts');
        const result = await rollbackTo(flags.workspace, target, {
          dryRun: flags.dryRun,
          force: flags.force,
        });
        if (flags.json === true) {
          io.out(JSON.stringify(result, null, 2));
          return;
        }
        const verb = result.applied ? 'rolled back to' : 'would roll back to';
        io.out(
          `${verb} ${result.tag} (${result.commit.slice(0, 8)}): ${result.featuresPassing}/${result.featuresTotal} features passing`,
        );
        for (const entry of result.undone) {
          io.out(
            `  ${result.applied ? 'took off' : 'would take off'} ${entry.commit.slice(0, 8)} ${entry.subject}${entry.person ? ` (a person's commit, by ${entry.author})` : ''}`,
          );
        }
        if (result.uncommitted.length > 0) {
          io.out(
            `  ${result.applied ? 'set aside' : 'would set aside'} uncommitted work: ${result.uncommitted.join(', ')}`,
          );
        }
        if (!result.applied) {
          io.out(
            result.undone.length === 0 && result.uncommitted.length === 0
              ? '  nothing beyond the checkpoint would move'
              : '  nothing was changed (--dry-run)',
          );
          return;
        }
        if (result.backup === null) io.out('  nothing beyond the checkpoint needed keeping');
        else {
          io.out(`  everything it took is kept at ${result.backup}`);
          if (result.undo !== null) io.out(`  to undo: ${result.undo}`);
        }
      },
    );

  program
    .command('explain')
    .description('why the run is where it is: the stop or continue reason, the last verdict, the budget left')
    .addOption(workspaceOption())
    .option('--run <id>', 'a run id (default: the newest)')
    .option('--json', 'print as JSON')
    .action(async (flags: { workspace: string; run?: string; json?: boolean }) => {
      const { explain } = await import('../api/explain.ts');
      const explanation = explain(flags.workspace, flags.run);
      io.out(flags.json === true ? JSON.stringify(explanation, null, 2) : formatExplanation(explanation));
    });
}

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { BatonError, describeError, exitCodes, isStopRecorded } from '../errors.ts';
import type { RunEvent } from '../log/events.ts';
import { allIterations, type RunState } from '../log/reducer.ts';
import type { FakeModelScriptInput } from '../testing/fake-model/script.ts';
import { registerControlCommands, workspaceOption } from './control-commands.ts';
import { registerDistributedCommands } from './distributed-commands.ts';
import { registerDoctorCommand } from './doctor-command.ts';
import type { ProgressStream } from './progress.ts';
import { registerReportCommands } from './report-commands.ts';

// Each command imports what it uses when it runs (`await import`): `baton --version` and `baton status`
// do not load the loop, the agents, the queue or the dashboard server (issue 18, a fast CLI).

interface Output {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** A terminal for live progress; absent (not a TTY, a test): plain lines. */
  readonly terminal?: ProgressStream | undefined;
}

const processOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  terminal: process.stdout.isTTY ? process.stdout : undefined,
};

/** How a run is shown: JSON lines, a live status line on a terminal, or plain lines. */
/**
 * Set once a run's stop line (with its message and fix) was shown to a person: an error that ended the
 * run is then not printed a second time.
 */
let stopShown = false;

async function eventPrinter(
  json: boolean,
  output: Output,
): Promise<(event: RunEvent, state: RunState) => void> {
  const shown = (event: RunEvent): void => {
    if (!json && event.type === 'run.stopped') stopShown = true;
  };
  const { formatEvent } = await import('./format.ts');
  if (!json && output.terminal !== undefined) {
    const { createProgressReporter } = await import('./progress.ts');
    const reporter = createProgressReporter(output.terminal);
    return (event, state) => {
      reporter.onEvent(event, state);
      shown(event);
    };
  }
  return (event) => {
    if (json) output.out(JSON.stringify(event));
    else {
      const line = formatEvent(event);
      if (line !== undefined) output.out(line);
    }
    shown(event);
  };
}

/** Run long work with SIGINT and SIGTERM turned into an abort: the harness stops cleanly. */
async function withInterrupts<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => {
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Build the CLI. It parses flags, calls the library and formats what comes back; nothing more. */
export function createProgram(
  output: Output = processOutput,
  setExitCode: (code: number) => void = (code) => (process.exitCode = code),
): Command {
  const program = new Command('baton')
    .description(
      'Keep coding agents working unattended: fresh sessions, durable state, a judge that is not the worker.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('init')
    .description(
      'turn a goal into durable state: SPEC.md, FEATURES.json, plan, progress, AGENTS.md, init.sh, baton.yaml, a git baseline',
    )
    .argument('[goal]', 'the goal, as text')
    .option('--goal-file <file>', 'read the goal from a file')
    .option(
      '--agent <command>',
      'the worker agent command: written into baton.yaml, and run once as the initializer',
    )
    .option('--no-initializer', 'do not run the initializer session even when --agent is given')
    .option('--force', 'write the state files again even if they exist')
    .option(
      '--git-init',
      'the folder is not a git repository yet: run `git init` (writing a .gitignore if there is none) before the baseline',
    )
    .option(
      '--oracle <command>',
      "the command that must pass for the run to be done (default: the project's test command, when one is found)",
    )
    .option(
      '--smoke <command>',
      "the smoke test run before every iteration (default: the project's test command)",
    )
    .addOption(workspaceOption())
    .option('--json', 'print the result as JSON')
    .action(
      async (
        goalText: string | undefined,
        flags: {
          goalFile?: string;
          agent?: string;
          initializer: boolean;
          force?: boolean;
          gitInit?: boolean;
          oracle?: string;
          smoke?: string;
          workspace: string;
          json?: boolean;
        },
      ) => {
        const goal = flags.goalFile === undefined ? (goalText ?? '') : readFileSync(flags.goalFile, 'utf8');
        const { commandAgentYaml, runInit } = await import('../api/init.ts');
        const { formatInitBaseline } = await import('./format.ts');
        const result = await runInit({
          workspace: resolve(flags.workspace),
          goal,
          ...(flags.agent === undefined
            ? {}
            : {
                agentYaml: commandAgentYaml(flags.agent),
                ...(flags.initializer ? { initializerCommand: flags.agent } : {}),
              }),
          ...(flags.oracle === undefined
            ? {}
            : {
                oraclesYaml: `oracles:\n  - name: tests\n    command: ${JSON.stringify(flags.oracle)}\n    timeout: 10m`,
                doneOracles: ['tests'],
              }),
          ...(flags.smoke === undefined ? {} : { smokeCommand: flags.smoke }),
          force: flags.force === true,
          gitInit: flags.gitInit === true,
        });
        if (flags.json === true) output.out(JSON.stringify(result, null, 2));
        else {
          output.out(`initialised ${result.workspace} at ${result.commit.slice(0, 8)}`);
          for (const line of formatInitBaseline(result)) output.out(`  ${line}`);
          output.out(
            `  wrote: ${result.written.join(', ')}${result.kept.length > 0 ? `; kept existing: ${result.kept.join(', ')}` : ''}`,
          );
          output.out(`  ${result.featureCount} feature(s) in FEATURES.json, all failing`);
          if (result.initializer !== null) {
            output.out(`  the initializer wrote them (accepted on attempt ${result.initializer.attempts})`);
          }
          output.out(
            'next: edit FEATURES.json (each feature needs a verify command) and the agent in baton.yaml, then `baton run`',
          );
        }
      },
    );

  program
    .command('run')
    .description('run the loop: fresh agent sessions until the judge says done or a budget stops it')
    .addOption(workspaceOption())
    .option('--json', 'print every event as a JSON line')
    .option(
      '--workers <n>',
      'parallel workers: a planner cuts the work into tasks, each worker runs one in its own git worktree, a merge queue lands them (default: parallel.workers in baton.yaml)',
    )
    .option('--branch <name>', 'the branch a new run commits to (default: baton/<run-id>, made from HEAD)')
    .option('--in-place', 'commit onto the current branch instead of a run branch')
    .option('--new', 'start a new run even when the newest one is unfinished (default: continue it)')
    .action(
      async (flags: {
        workspace: string;
        json?: boolean;
        workers?: string;
        branch?: string;
        inPlace?: boolean;
        new?: boolean;
      }) => {
        const workers = flags.workers === undefined ? undefined : Number(flags.workers);
        if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 64)) {
          throw new BatonError(`--workers ${flags.workers ?? ''} is not a number of workers`, {
            code: 'USAGE',
            fix: 'pass a whole number from 1 to 64, e.g. --workers 4',
            exitCode: exitCodes.usage,
          });
        }
        const { runLoop } = await import('../api/run.ts');
        const { printRunSummary } = await import('./run-summary.ts');
        const onEvent = await eventPrinter(flags.json === true, output);
        const result = await withInterrupts((signal) =>
          runLoop({
            workspace: resolve(flags.workspace),
            signal,
            onEvent,
            ...(workers === undefined ? {} : { workers }),
            ...(flags.branch === undefined ? {} : { branch: flags.branch }),
            ...(flags.inPlace === true ? { inPlace: true } : {}),
            ...(flags.new === true ? { newRun: true } : {}),
            // The first line says which run this is, and whether it continues one.
            onBegin: (begin) => {
              if (flags.json !== true) output.out(begin.message);
            },
          }),
        );
        if (flags.json !== true) printRunSummary(output, result.receipt);
        setExitCode(result.stop.exitCode);
      },
    );

  program
    .command('status')
    .description('where the run stands: iterations, features passing, last verdict, stop reason')
    .addOption(workspaceOption())
    .option('--json', 'print as JSON')
    .action(async (flags: { workspace: string; json?: boolean }) => {
      const { status } = await import('../api/inspect.ts');
      const { formatStatus } = await import('./format.ts');
      const report = await status(resolve(flags.workspace));
      output.out(flags.json === true ? JSON.stringify(report, null, 2) : formatStatus(report));
    });

  program
    .command('log')
    .description('the timeline of a run, one row per iteration')
    .addOption(workspaceOption())
    .option('--run <id>', 'a run id (default: the newest)')
    .option('--json', 'print as JSON')
    .action(async (flags: { workspace: string; run?: string; json?: boolean }) => {
      const { readRun } = await import('../api/inspect.ts');
      const { formatTimeline } = await import('./format.ts');
      const record = readRun(resolve(flags.workspace), flags.run);
      if (flags.json === true) {
        output.out(
          JSON.stringify(
            {
              runId: record.runId,
              tornTail: record.tornTail,
              stop: record.state.stop,
              iterations: allIterations(record.state),
            },
            null,
            2,
          ),
        );
      } else output.out(formatTimeline(record.state));
    });

  program
    .command('show')
    .description("one iteration's evidence: prompt, transcript, diff, check output, verdict")
    .argument('<iteration>', 'the iteration number')
    .addOption(workspaceOption())
    .option('--run <id>', 'a run id (default: the newest)')
    .option('--json', 'print as JSON')
    .action(async (iterationText: string, flags: { workspace: string; run?: string; json?: boolean }) => {
      const iteration = Number(iterationText);
      if (!Number.isInteger(iteration) || iteration < 1) {
        throw new BatonError(`"${iterationText}" is not an iteration number`, {
          code: 'USAGE',
          fix: 'pass a whole number from `baton log`, e.g. baton show 3',
          exitCode: exitCodes.usage,
        });
      }
      const { showIteration } = await import('../api/inspect.ts');
      const { formatIteration } = await import('./format.ts');
      const evidence = showIteration(resolve(flags.workspace), iteration, flags.run);
      output.out(flags.json === true ? JSON.stringify(evidence, null, 2) : formatIteration(evidence));
    });

  program
    .command('hook')
    .description('hooks for agent CLIs; `baton hook claude-stop` is a Claude Code Stop hook')
    .argument('<name>', 'claude-stop')
    .addOption(workspaceOption().default(undefined))
    .option('--cap <n>', 'blocks per Claude session before it may stop anyway', '5')
    .action(async (name: string, flags: { workspace?: string; cap: string }) => {
      if (name !== 'claude-stop') {
        throw new BatonError(`there is no hook ${name}`, {
          code: 'USAGE',
          fix: 'use `baton hook claude-stop`',
          exitCode: exitCodes.usage,
        });
      }
      const { runClaudeStopHook } = await import('../api/claude-hook.ts');
      const answer = await runClaudeStopHook({
        input: readFileSync(0, 'utf8'),
        cap: Number(flags.cap),
        ...(flags.workspace === undefined ? {} : { workspace: resolve(flags.workspace) }),
      });
      if (answer.stdout !== '') output.out(answer.stdout);
    });

  program
    .command('fake-model-server')
    .description(
      'a scripted model API on 127.0.0.1 (Anthropic Messages, OpenAI Responses and Chat Completions) to test agents offline',
    )
    .requiredOption(
      '--script <file>',
      'the script: JSON rules matched on request content (see docs/agents.md)',
    )
    .option('--port <port>', 'the port (0: any free one)', '0')
    .action(async (flags: { script: string; port: string }) => {
      const { startFakeModelServer } = await import('../testing/fake-model/server.ts');
      const server = await startFakeModelServer({
        script: JSON.parse(readFileSync(resolve(flags.script), 'utf8')) as FakeModelScriptInput,
        port: Number(flags.port),
      });
      output.out(
        `fake model server listening on ${server.url}  (Anthropic: ANTHROPIC_BASE_URL=${server.anthropicBaseUrl}; OpenAI: ${server.openaiBaseUrl})`,
      );
      await withInterrupts(
        (signal) =>
          new Promise<void>((done) => {
            signal.addEventListener('abort', () => {
              done();
            });
          }),
      );
      await server.close();
    });

  program
    .command('dashboard')
    .description(
      'a local web page over the runs: timeline, features and evidence, budget burn; live while a run goes on',
    )
    .addOption(workspaceOption())
    .option('--port <port>', 'the port (0: any free one)', '4477')
    .option(
      '--host <host>',
      'the address to listen on (the page shows prompts and transcripts: keep it local)',
      '127.0.0.1',
    )
    .action(async (flags: { workspace: string; port: string; host: string }) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        throw new BatonError(`--port ${flags.port} is not a port`, {
          code: 'USAGE',
          fix: 'pass a number from 0 to 65535, e.g. --port 4477',
          exitCode: exitCodes.usage,
        });
      }
      const { startDashboard } = await import('../dashboard/server.ts');
      const dashboard = await startDashboard({ workspace: resolve(flags.workspace), port, host: flags.host });
      output.out(`baton dashboard: ${dashboard.url}  (Ctrl-C stops it)`);
      await withInterrupts(
        (signal) =>
          new Promise<void>((done) => {
            signal.addEventListener('abort', () => {
              done();
            });
          }),
      );
      await dashboard.close();
    });

  program
    .command('demo')
    .description('run the offline demo: an example project, a scripted worker, the real loop and judge')
    .option('--dir <dir>', 'create the example project here (default: a temporary folder)')
    .option('--json', 'print every event as a JSON line')
    .action(async (flags: { dir?: string; json?: boolean }) => {
      const json = flags.json === true;
      if (!json) {
        output.out(
          'baton demo: a scripted worker builds "textkit" (4 features, a real node:test suite) in a fresh git repo.',
        );
        output.out('It makes honest progress, but once claims to be done too early: watch the judge.\n');
      }
      const { runDemo } = await import('../api/demo.ts');
      const { formatTimeline } = await import('./format.ts');
      const result = await runDemo({
        ...(flags.dir === undefined ? {} : { directory: resolve(flags.dir) }),
        onEvent: await eventPrinter(json, output),
      });
      if (!json) {
        output.out(`\n${formatTimeline(result.state)}`);
        const rejected = result.state.iterations.filter(
          (entry) => entry.verdict?.claimRejected === true,
        ).length;
        output.out(
          `\nverdict: ${result.stop.reason === 'done' ? result.stop.message : `not done (${result.stop.reason}): ${result.stop.message}`}`,
        );
        output.out(`early claims rejected by the judge: ${rejected}`);
        output.out(
          `workspace: ${result.workspace}  (try: baton log -C ${result.workspace}; baton show 3 -C ${result.workspace}; baton report -C ${result.workspace})`,
        );
        if (result.state.branch !== null && result.state.baseBranch !== null) {
          output.out(
            `the work is on the run's branch ${result.state.branch}; ${result.state.baseBranch} is checked out again (git -C ${result.workspace} switch ${result.state.branch} to look)`,
          );
        }
      }
      setExitCode(result.stop.exitCode);
    });

  const io = {
    out: output.out,
    err: output.err,
    setExitCode,
    eventPrinter: (json: boolean) => eventPrinter(json, output),
    withInterrupts,
  };
  registerControlCommands(program, io);
  registerDistributedCommands(program, io);
  registerReportCommands(program, io);
  registerDoctorCommand(program, io);
  return program;
}

/** Run the CLI with argv; every failure becomes a message that names the fix, and an exit code. */
export async function main(argv: readonly string[], output: Output = processOutput): Promise<number> {
  let exitCode = 0;
  const program = createProgram(output, (code) => {
    exitCode = code;
  });
  program.configureOutput({
    writeOut: (text) => {
      output.out(text.trimEnd());
    },
    writeErr: (text) => {
      output.err(text.trimEnd());
    },
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : exitCodes.usage;
    // Said once: the run's stop line already gave this error and its fix.
    if (!(stopShown && isStopRecorded(error))) output.err(`baton: ${describeError(error)}`);
    return BatonError.isInstance(error) ? error.exitCode : exitCodes.error;
  }
}

import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/resolve.ts';
import type { CheckResult } from '../log/events.ts';
import { runCheck, type CheckContext, type CheckSpec } from '../checks/registry.ts';
import type { ProjectHook } from '../git/project-hooks.ts';
import type { Feature } from '../workspace/features.ts';
import { stateFiles } from '../workspace/paths.ts';
import { checkGate } from './check-gate.ts';

/**
 * What the harness runs as evidence, in one place for every mode (serial iteration, merge queue,
 * integration judge, Claude Stop hook): a feature's verify command, an oracle, the smoke test.
 */
export function featureCheck(
  feature: Feature,
  config: Pick<Config, 'verifyTimeoutMs' | 'verifyExclusive'>,
): CheckSpec {
  return {
    type: 'command',
    name: feature.id,
    kind: 'feature',
    command: feature.verify,
    timeoutMs: config.verifyTimeoutMs,
    exclusive: config.verifyExclusive.includes(feature.id),
  };
}

export function oracleCheck(oracle: Config['oracles'][number]): CheckSpec {
  return {
    type: 'command',
    name: oracle.name,
    kind: 'oracle',
    command: oracle.command,
    timeoutMs: oracle.timeoutMs,
    exclusive: oracle.exclusive,
  };
}

/** Every feature's verify command, then every oracle. */
export function verificationChecks(
  features: readonly Feature[],
  config: Pick<Config, 'verifyTimeoutMs' | 'verifyExclusive' | 'oracles'>,
): CheckSpec[] {
  return [...features.map((feature) => featureCheck(feature, config)), ...config.oracles.map(oracleCheck)];
}

function shellWord(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * One of the project's git hooks, run as git would (from the top of the worktree; commit-msg with the
 * message file as its argument), but in the sandbox like every check.
 */
export function hookCheck(
  hook: ProjectHook,
  config: Pick<Config, 'verifyTimeoutMs'>,
  messageFile: string,
): CheckSpec {
  const program = hook.path.startsWith('/') ? hook.path : `./${hook.path}`;
  return {
    type: 'command',
    name: hook.name,
    kind: 'hook',
    command:
      hook.name === 'commit-msg' ? `${shellWord(program)} ${shellWord(messageFile)}` : shellWord(program),
    timeoutMs: config.verifyTimeoutMs,
  };
}

/** `smoke.command`, or `./init.sh smoke` when the workspace has an init.sh; none otherwise. */
export function smokeCheck(workspace: string, config: Pick<Config, 'smoke'>): CheckSpec | undefined {
  const command =
    config.smoke.command ??
    (existsSync(join(workspace, stateFiles.init)) ? `./${stateFiles.init} smoke` : undefined);
  return command === undefined
    ? undefined
    : { type: 'command', name: 'smoke', kind: 'smoke', command, timeoutMs: config.smoke.timeoutMs };
}

export interface RunChecksOptions {
  /**
   * `kind:name` of the checks that passed before the change: one of them that fails now is run once more
   * before its failure counts (a regression is rolled back); one that passes then is flaky, said in its
   * result, and not blamed on the worker.
   */
  readonly passedBefore?: ReadonlySet<string>;
  /** How many checks run at the same time (default 1: one after another); see `checkConcurrency`. */
  readonly concurrency?: number;
}

/** `verify.concurrency`, or the machine's cores when it is not set. */
export function checkConcurrency(config: Pick<Config, 'verifyConcurrency'>): number {
  return config.verifyConcurrency ?? availableParallelism();
}

/** The second run of a check that passed before and failed now: its result, marked flaky when it passes. */
async function runOnceMore(spec: CheckSpec, first: CheckResult, context: CheckContext): Promise<CheckResult> {
  const outputDir = join(context.outputDir, 'run-again');
  mkdirSync(outputDir, { recursive: true });
  const second = await runCheck(spec, { ...context, outputDir });
  return second.passed ? { ...second, flaky: { ended: first.ended, outputPath: first.outputPath } } : first;
}

/**
 * Run checks, each sandboxed with its own output file: up to `concurrency` at the same time, in the
 * order given (a check starts when one before it ends), an exclusive one alone (what runs ends first,
 * nothing starts until it ends). The results keep the order of `specs`, however the runs interleave.
 */
export async function runChecks(
  specs: readonly CheckSpec[],
  context: CheckContext,
  options: RunChecksOptions = {},
): Promise<CheckResult[]> {
  const runOne = async (spec: CheckSpec): Promise<CheckResult> => {
    const leave = await checkGate.enter(spec.exclusive === true);
    try {
      const first = await runCheck(spec, context);
      const again =
        !first.passed &&
        !context.signal.aborted &&
        options.passedBefore?.has(`${spec.kind}:${spec.name}`) === true;
      return again ? await runOnceMore(spec, first, context) : first;
    } finally {
      leave();
    }
  };
  const limit = Math.max(1, options.concurrency ?? 1);
  const results: CheckResult[] = new Array<CheckResult>(specs.length);
  const running = new Set<Promise<void>>();
  // A check that throws (its sandbox refused it) ends the batch: nothing more starts, the running ones
  // are waited for (their output folders stay theirs until they end), then the error is the caller's.
  let failure: { readonly error: unknown } | undefined;
  for (const [index, spec] of specs.entries()) {
    const exclusive = spec.exclusive === true;
    // An exclusive check waits for every running one; any check waits for a free place.
    while (failure === undefined && running.size > 0 && (exclusive || running.size >= limit)) {
      await Promise.race(running);
    }
    if (failure !== undefined) break;
    const run: Promise<void> = runOne(spec)
      .then(
        (result) => {
          results[index] = result;
        },
        (error: unknown) => {
          failure ??= { error };
        },
      )
      .finally(() => running.delete(run));
    running.add(run);
    if (exclusive) await run;
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure.error;
  return results;
}

import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Agent } from '../agents/agent.ts';
import { createCommandAgent } from '../agents/command-agent.ts';
import { loadConfig } from '../config/load.ts';
import { defaultAgentTimeoutMs } from '../config/fragments/agent.ts';
import { runAgentSession } from '../core/session.ts';
import { prepareSandbox, type Sandbox } from '../sandbox/sandbox.ts';
import { readRegularFile } from '../util/safe-io.ts';
import { tail } from '../util/text.ts';
import { BatonError, exitCodes } from '../errors.ts';
import { excludeLocally } from '../git/git.ts';
import type { LeftOut } from '../workspace/baseline-policy.ts';
import type { DetectedTestCommand } from '../workspace/detect-test-command.ts';
import { personIdentity } from '../git/person-identity.ts';
import { buildInitializerPrompt } from '../loop/initializer-prompt.ts';
import { readFeatureList, writeFeatureList, type FeatureList } from '../workspace/features.ts';
import { harnessDir, harnessDirName, stateFiles } from '../workspace/paths.ts';
import { renderTemplates, starterFeatures } from '../workspace/templates.ts';
import {
  commitBaseline,
  detectProjectTestCommand,
  prepareRepository,
  type BaselineCommit,
  type RepositoryOrigin,
} from './init-repository.ts';

export { commandAgentYaml } from '../workspace/templates.ts';
export { leaveOutReasonText } from '../workspace/baseline-policy.ts';

export interface InitOptions {
  readonly workspace: string;
  readonly goal: string;
  /**
   * Runs an initializer session that writes SPEC.md, FEATURES.json and the plan, in the sandbox
   * baton.yaml describes (like every session the harness starts).
   */
  readonly agent?: Agent;
  /**
   * Or: the command of a `command` agent for the initializer session (`baton init --agent "<command>"`),
   * run sandboxed as baton.yaml says, like every worker.
   */
  readonly initializerCommand?: string;
  /** The agent section of baton.yaml, as YAML text (e.g. from `--agent "<command>"`). */
  readonly agentYaml?: string;
  /**
   * The oracles section of baton.yaml. Default: the project's own test command (package.json, pytest,
   * cargo, go), as an oracle named `tests` the run needs for done, when one is found.
   */
  readonly oraclesYaml?: string;
  /** Names of oracles (defined in oraclesYaml) that must pass for the run to be done. */
  readonly doneOracles?: readonly string[];
  /** Use this checklist instead of the starter one (no initializer needed). */
  readonly features?: FeatureList;
  /** The smoke test of init.sh. Default: the project's own test command when one is found. */
  readonly smokeCommand?: string;
  /**
   * A folder that is not a git repository and not empty is refused unless this is set: then init runs
   * `git init`, writing a .gitignore first when there is none.
   */
  readonly gitInit?: boolean;
  /** Overwrite state files that already exist. */
  readonly force?: boolean;
  readonly maxInitializerAttempts?: number;
  readonly initializerTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

export interface InitResult {
  readonly workspace: string;
  readonly commit: string;
  readonly written: readonly string[];
  readonly kept: readonly string[];
  readonly featureCount: number;
  readonly repository: RepositoryOrigin;
  readonly gitignoreWritten: boolean;
  readonly committed: BaselineCommit['committed'];
  /** Files and folders left on disk and out of the baseline, ignored locally (.git/info/exclude). */
  readonly leftOut: readonly LeftOut[];
  /** The project's test command, when init made it the default oracle and smoke test (and for which). */
  readonly testCommand: (DetectedTestCommand & { readonly usedFor: readonly ('oracle' | 'smoke')[] }) | null;
  readonly initializer: {
    readonly attempts: number;
    readonly rejected: readonly (readonly string[])[];
  } | null;
}

async function runInitializer(
  options: InitOptions,
  agent: Agent,
  workspace: string,
  sandbox: Sandbox,
): Promise<InitResult['initializer']> {
  const maxAttempts = options.maxInitializerAttempts ?? 3;
  const rejected: string[][] = [];
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const evidence = join(harnessDir(workspace), 'init', `attempt-${attempt}`);
    mkdirSync(evidence, { recursive: true });
    const prompt = buildInitializerPrompt({ goal: options.goal, attempt, problems: rejected.at(-1) ?? [] });
    writeFileSync(join(evidence, 'prompt.md'), prompt);
    const session = await runAgentSession({
      agent,
      sandbox,
      identity: { runId: 'init', role: 'initializer', workspace, iteration: 0 },
      prompt,
      env: options.env ?? process.env,
      timeoutMs: options.initializerTimeoutMs ?? defaultAgentTimeoutMs,
      signal: options.signal ?? new AbortController().signal,
      transcriptPath: join(evidence, 'transcript.log'),
    });
    writeFileSync(join(evidence, 'handoff.md'), session.finalMessage);
    const result = readFeatureList(workspace);
    // A session that failed wrote nothing to accept, whatever FEATURES.json holds (the starter list).
    const failed =
      session.status === 'completed'
        ? []
        : [
            `the initializer session did not finish (${session.error ?? session.status}): ${tail(readTranscriptEnd(session.transcriptPath), 600)}`,
          ];
    const problems =
      failed.length > 0
        ? failed
        : result.ok
          ? result.list.features.length === 0
            ? ['FEATURES.json has no features: list at least one, each with a verify command']
            : []
          : [...result.problems];
    if (problems.length === 0 && result.ok) {
      // Whatever the initializer wrote, nothing starts out passing: only the harness flips a status.
      writeFeatureList(workspace, {
        ...result.list,
        features: result.list.features.map((feature) => ({
          ...feature,
          status: 'failing' as const,
          evidence: null,
        })),
      });
      return { attempts: attempt, rejected };
    }
    writeFileSync(join(evidence, 'rejected.txt'), `${problems.join('\n')}\n`);
    rejected.push(problems);
  }
  throw new BatonError(
    `the initializer wrote no valid FEATURES.json in ${maxAttempts} attempts; last problems: ${(rejected.at(-1) ?? []).join('; ')}`,
    {
      code: 'INITIALIZER_FAILED',
      fix: 'fix FEATURES.json by hand (its prompts and transcripts are in .baton/init/), then commit the workspace; nothing was deleted',
    },
  );
}

function readTranscriptEnd(path: string): string {
  return readRegularFile(path, { maxBytes: 2_000, fromEnd: true })?.text.trim() ?? '';
}

/** The initializer's sessions, in the sandbox the workspace's baton.yaml (just written) describes. */
async function runSandboxedInitializer(
  options: InitOptions,
  agent: Agent,
  workspace: string,
): Promise<InitResult['initializer']> {
  const { sandbox } = await prepareSandbox(workspace, loadConfig(workspace).sandbox);
  try {
    return await runInitializer(options, agent, workspace, sandbox);
  } finally {
    await sandbox.close();
  }
}

/** Turn a goal into durable state: the state files, baton.yaml and a git baseline. */
export async function runInit(options: InitOptions): Promise<InitResult> {
  const workspace = resolve(options.workspace);
  if (options.goal.trim() === '') {
    throw new BatonError('the goal is empty', {
      code: 'GOAL_EMPTY',
      fix: 'pass the goal as text or with --goal-file <file>',
      exitCode: exitCodes.usage,
    });
  }
  if (!options.force && existsSync(join(workspace, stateFiles.config))) {
    throw new BatonError(`${workspace} already has a ${stateFiles.config}`, {
      code: 'ALREADY_INITIALISED',
      fix: 'run `baton run` to continue, or `baton init --force` to write the state files again',
      exitCode: exitCodes.usage,
    });
  }
  const repository = await prepareRepository(workspace, options.gitInit === true);
  const checks = defaultChecks(options, workspace);
  const features = options.features ?? starterFeatures(options.goal);
  const files = renderTemplates({
    goal: options.goal,
    agentYaml: options.agentYaml,
    oraclesYaml: checks.oraclesYaml,
    smokeCommand: checks.smokeCommand,
    features,
    doneOracles: checks.doneOracles,
  });
  const written: string[] = [];
  const kept: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const path = join(workspace, name);
    if (existsSync(path) && !options.force && name !== stateFiles.config) {
      kept.push(name);
      continue;
    }
    writeFileSync(path, content);
    written.push(name);
  }
  chmodSync(join(workspace, stateFiles.init), 0o755);
  await excludeLocally(workspace, `/${harnessDirName}/`);

  const initializer =
    options.features !== undefined
      ? null
      : options.agent !== undefined
        ? await runSandboxedInitializer(options, options.agent, workspace)
        : options.initializerCommand !== undefined
          ? await runSandboxedInitializer(
              options,
              createCommandAgent({ command: options.initializerCommand, prompt: 'stdin' }),
              workspace,
            )
          : null;
  const list = readFeatureList(workspace);
  const baseline = await commitBaseline(
    workspace,
    `baton: baseline for "${options.goal.trim().split('\n')[0]?.slice(0, 72) ?? ''}"`,
    [...Object.keys(files), ...(repository.gitignoreWritten ? ['.gitignore'] : [])],
    // The person ran `baton init`: the baseline is their commit (baton's identity only when none is set).
    (await personIdentity(workspace, options.env ?? process.env)) ?? undefined,
  );
  return {
    workspace,
    commit: baseline.commit,
    written,
    kept,
    featureCount: list.ok ? list.list.features.length : 0,
    repository: repository.origin,
    gitignoreWritten: repository.gitignoreWritten,
    committed: baseline.committed,
    leftOut: baseline.leftOut,
    testCommand: checks.testCommand,
    initializer,
  };
}

interface DefaultChecks {
  readonly oraclesYaml: string | undefined;
  readonly doneOracles: readonly string[];
  readonly smokeCommand: string;
  readonly testCommand: InitResult['testCommand'];
}

/** The project's own test command fills in the oracle and the smoke test the person did not give. */
function defaultChecks(options: InitOptions, workspace: string): DefaultChecks {
  const detected =
    options.oraclesYaml === undefined || options.smokeCommand === undefined
      ? detectProjectTestCommand(workspace)
      : undefined;
  const asOracle = detected !== undefined && options.oraclesYaml === undefined;
  const asSmoke = detected !== undefined && options.smokeCommand === undefined;
  return {
    oraclesYaml: asOracle
      ? `oracles:\n  - name: tests\n    command: ${JSON.stringify(detected.command)}\n    timeout: 10m`
      : options.oraclesYaml,
    doneOracles: options.doneOracles ?? (asOracle ? ['tests'] : []),
    smokeCommand: asSmoke
      ? detected.command
      : (options.smokeCommand ?? 'git rev-parse --verify HEAD >/dev/null'),
    testCommand:
      detected === undefined || (!asOracle && !asSmoke)
        ? null
        : {
            ...detected,
            usedFor: [...(asOracle ? ['oracle' as const] : []), ...(asSmoke ? ['smoke' as const] : [])],
          },
  };
}

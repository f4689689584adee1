import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { claimsDone } from '../agents/agent.ts';
import { loadConfig } from '../config/load.ts';
import { BatonError, exitCodes } from '../errors.ts';
import { changedPaths } from '../git/git.ts';
import type { CheckResult, Verdict } from '../log/events.ts';
import { checkConcurrency, runChecks, verificationChecks } from '../core/check-specs.ts';
import { decideVerdict } from '../core/judge.ts';
import { prepareSandbox } from '../sandbox/sandbox.ts';
import { readFeatureList } from '../workspace/features.ts';
import { harnessDir } from '../workspace/paths.ts';
import { readGoal } from '../workspace/spec.ts';

/** The Stop hook's input as Claude Code sends it on stdin (unknown fields are ignored). */
const stopInput = z.looseObject({
  session_id: z.string().min(1),
  stop_hook_active: z.boolean().default(false),
  cwd: z.string().optional(),
  last_assistant_message: z.string().default(''),
});

export interface StopHookOptions {
  /** The hook's JSON, as read from stdin. */
  readonly input: string;
  /** The workspace (default: the hook input's cwd). */
  readonly workspace?: string;
  /** Blocks per Claude session before the hook lets it stop anyway (Claude itself gives up after 8). */
  readonly cap?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export interface StopHookAnswer {
  /** What to print on stdout: the block decision, or nothing to let Claude stop. */
  readonly stdout: string;
  readonly verdict: Verdict;
  readonly blocks: number;
}

/**
 * `baton hook claude-stop`: Claude Code asks whether it may stop; baton runs the features' verify
 * commands and the oracles itself, applies the judge (and the model judge when configured), and
 * answers {"decision":"block","reason":...} until the done condition holds. A session blocked `cap`
 * times in a row, with stop_hook_active set, is let go: the hook must not trap an agent forever.
 */
export async function runClaudeStopHook(options: StopHookOptions): Promise<StopHookAnswer> {
  let raw: unknown;
  try {
    raw = JSON.parse(options.input);
  } catch {
    throw new BatonError('the Stop hook input is not JSON', {
      code: 'HOOK_INPUT',
      fix: 'configure the hook as {"type":"command","command":"baton hook claude-stop"}: Claude Code sends its JSON on stdin',
      exitCode: exitCodes.usage,
    });
  }
  const parsed = stopInput.safeParse(raw);
  if (!parsed.success) {
    throw new BatonError(
      `the Stop hook input lacks what baton needs: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
      {
        code: 'HOOK_INPUT',
        fix: 'run it as a Claude Code Stop hook (it sends session_id, stop_hook_active, cwd)',
        exitCode: exitCodes.usage,
      },
    );
  }
  const input = parsed.data;
  const workspace = resolve(options.workspace ?? input.cwd ?? process.cwd());
  const config = loadConfig(workspace);
  const env = options.env ?? process.env;
  const dir = join(
    harnessDir(workspace),
    'hooks',
    'claude-stop',
    input.session_id.replace(/[^A-Za-z0-9_-]/g, '_'),
  );
  mkdirSync(join(dir, 'checks'), { recursive: true });
  const countFile = join(dir, 'blocks.json');
  const blocksBefore = existsSync(countFile)
    ? (JSON.parse(readFileSync(countFile, 'utf8')) as { blocks: number }).blocks
    : 0;

  const features = readFeatureList(workspace);
  if (!features.ok) {
    throw new BatonError(`FEATURES.json cannot be used: ${features.problems.join('; ')}`, {
      code: 'FEATURES_INVALID',
      fix: 'correct FEATURES.json or restore it with `git checkout -- FEATURES.json`',
      exitCode: exitCodes.usage,
    });
  }
  const { sandbox } = await prepareSandbox(workspace, config.sandbox);
  const checks: CheckResult[] = [];
  try {
    const context = {
      workspace,
      outputDir: join(dir, 'checks'),
      env,
      signal: new AbortController().signal,
      sandbox,
    };
    checks.push(
      ...(await runChecks(verificationChecks(features.list.features, config), context, {
        concurrency: checkConcurrency(config),
      })),
    );
  } finally {
    await sandbox.close();
  }
  // The tree is the agent's work in progress here: cleanliness is for the harness's own commits.
  const verdict = await decideVerdict({
    evidence: {
      done: { ...config.done, cleanTree: false },
      checks,
      featureIds: features.list.features.map((feature) => feature.id),
      claimed: claimsDone(input.last_assistant_message),
      pollutedPaths: [],
      refusals: [],
    },
    judgeConfig: config.judge,
    consult: 'when-done',
    modelEvidence: async () => ({
      goal: readGoal(workspace),
      features: features.list.features,
      diffStat: (await changedPaths(workspace)).join('\n'),
      handoff: input.last_assistant_message,
    }),
    env,
    signal: new AbortController().signal,
  });
  const cap = options.cap ?? 5;
  if (verdict.done || (input.stop_hook_active && blocksBefore >= cap)) {
    writeFileSync(countFile, JSON.stringify({ blocks: 0 }));
    return { stdout: '', verdict, blocks: blocksBefore };
  }
  writeFileSync(countFile, JSON.stringify({ blocks: blocksBefore + 1 }));
  const reason = `baton ran the checks: ${verdict.reason} Keep working until they pass; stopping now leaves the goal unmet.`;
  return { stdout: JSON.stringify({ decision: 'block', reason }), verdict, blocks: blocksBefore + 1 };
}

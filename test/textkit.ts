import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { runInit } from '../src/api/init.ts';
import { runLoop, type RunLoopResult } from '../src/api/run.ts';
import { textkitFeatures, textkitFiles, textkitGoal, textkitHonestRules } from '../src/demo/textkit.ts';
import { readEventLog } from '../src/log/event-log.ts';
import type { RunEvent } from '../src/log/events.ts';
import type { AgentScriptInput } from '../src/testing/script.ts';
import { createScriptedAgent } from '../src/testing/scripted-agent.ts';
import { eventLogPath } from '../src/workspace/paths.ts';
import { checkOutRunBranch, git, tempDir } from './helpers.ts';
import type { Agent } from '../src/agents/agent.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { taskPlan } from '../src/testing/task-plan.ts';

export { textkitHonestRules };
export type Rule = AgentScriptInput['rules'][number];

/** The demo's textkit project, initialised, with extra baton.yaml text appended (guards, budgets, agents). */
export async function makeTextkit(extraYaml = ''): Promise<{ root: string; workspace: string }> {
  const root = tempDir('baton-textkit-');
  const workspace = join(root, 'textkit');
  for (const [path, content] of Object.entries(textkitFiles)) {
    mkdirSync(dirname(join(workspace, path)), { recursive: true });
    writeFileSync(join(workspace, path), content);
  }
  git(workspace, 'init', '-q', '--initial-branch=main');
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-qm', 'textkit');
  await runInit({
    workspace,
    goal: textkitGoal,
    features: textkitFeatures,
    oraclesYaml: 'oracles:\n  - name: tests\n    command: node --test\n    timeout: 2m',
    doneOracles: ['tests'],
    smokeCommand: `node -e "import('./src/index.js')"`,
  });
  if (extraYaml !== '') {
    const path = join(workspace, 'baton.yaml');
    let text = readFileSync(path, 'utf8');
    // Later keys win in our own edits: drop the template's budgets when the test brings its own.
    if (/^budgets:/m.test(extraYaml)) text = text.replace(/^budgets:\n(?: {2}.*\n)+/m, '');
    writeFileSync(path, `${text}\n${extraYaml}\n`);
    git(workspace, 'commit', '-qam', 'test settings');
  }
  return { root, workspace };
}

export interface TextkitRun extends RunLoopResult {
  readonly workspace: string;
  readonly events: readonly RunEvent[];
}

export type Mode = 'serial' | 'parallel';

/**
 * The parallel settings of the matrix: two workers, three attempts per task, one re-plan. The matrix
 * tests the harness's own guards, so the sandbox does not also make the worktree read-only outside the
 * task's scope (on by default, it would stop a write to FEATURES.json or PROGRESS.md before any guard
 * sees it); that layer has its own tests (test/parallel.test.ts, and the matrix's default-sandbox case).
 */
export const parallelYaml =
  'parallel:\n  workers: 2\n  taskAttempts: 3\n  replans: 1\n  scopeInSandbox: false\n';

/**
 * The parallel planner: one task per feature its prompt lists as failing, its implementation and its tests in scope. On the
 * first revision a task is named after its feature (`F3`), later `F3-r2`, so a rule can aim at one task's
 * first attempt through its prompt (`# Task F3 (attempt 1)`). `dependsOn` orders first-revision tasks;
 * `extra` lets a planner do something more (a stray edit).
 */
export function featurePlanner(
  options: {
    readonly dependsOn?: Readonly<Record<string, readonly string[]>>;
    readonly extra?: (cwd: string) => void;
  } = {},
): Agent {
  let revision = 0;
  return createFunctionAgent(({ cwd, prompt }) => {
    revision += 1;
    // What a planner is asked to plan: the prompt's list of features still failing.
    const listed = prompt.split('## Features still failing\n')[1]?.split('\n\n')[0] ?? '';
    const failing = [...listed.matchAll(/^- ([^:]+):/gm)].map((match) => match[1] ?? '');
    const plan = taskPlan(
      failing.map((id) => ({
        id: revision === 1 ? id : `${id}-r${revision}`,
        features: [id],
        scope: ['src/**', 'test/**'],
        dependsOn: revision === 1 ? (options.dependsOn?.[id] ?? []) : [],
      })),
    );
    writeFileSync(join(cwd, 'TASKS.json'), `${JSON.stringify(plan, null, 2)}\n`);
    options.extra?.(cwd);
    return `planned ${failing.join(', ')}`;
  }, 'planner');
}

/**
 * The honest rules for a mode. A parallel task's worktree shows every other feature failing too, so each
 * rule also needs its feature in the task's prompt (a task prompt lists only its own features), and it leaves the plan alone.
 */
export function honestFor(mode: Mode, rules: readonly Rule[] = textkitHonestRules): Rule[] {
  if (mode === 'serial') return [...rules];
  return rules.map((rule) => {
    const feature = rule.when?.featureFailing;
    // A task may change only its scope: the plan is TASKS.json, which the harness owns.
    const work = (rule.do ?? []).filter(
      (action) => !('replace' in action && action.replace.path === 'IMPLEMENTATION_PLAN.md'),
    );
    return feature === undefined || rule.when?.promptIncludes !== undefined
      ? { ...rule, do: work }
      : { ...rule, do: work, when: { ...rule.when, promptIncludes: `- ${feature}: ` } };
  });
}

export interface TextkitOptions {
  readonly fallback?: readonly Rule[];
  readonly mode?: Mode;
  /** The parallel planner (default: one task per failing feature). */
  readonly planner?: Agent;
  /** The parallel settings (default: parallelYaml). */
  readonly yaml?: string;
}

/** Run the real loop on textkit with a scripted worker (a real process) made of these rules. */
export async function runTextkit(
  rules: readonly Rule[],
  extraYaml = '',
  options: TextkitOptions | readonly Rule[] = {},
): Promise<TextkitRun> {
  const {
    fallback,
    mode = 'serial',
    planner,
    yaml: parallel = parallelYaml,
  } = isRules(options) ? { fallback: options } : options;
  const yaml = [
    extraYaml,
    mode === 'parallel' ? parallel : '',
    fallback === undefined
      ? ''
      : 'fallbackAgent:\n  type: scripted\n  script: ../fallback.json\n  timeout: 2m\n',
  ].join('\n');
  const { root, workspace } = await makeTextkit(yaml.trim() === '' ? '' : yaml);
  if (fallback !== undefined) {
    writeFileSync(join(root, 'fallback.json'), JSON.stringify({ name: 'fallback', rules: fallback }));
  }
  const agent = createScriptedAgent({ name: 'adversary', rules: [...rules] }, root);
  const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
  const result = await runLoop({
    workspace,
    agent,
    env,
    ...(mode === 'parallel' ? { planner: planner ?? featurePlanner() } : {}),
  });
  // The run left main checked out; its work is on the run's branch.
  checkOutRunBranch(workspace, result.state);
  return { ...result, workspace, events: readEventLog(eventLogPath(workspace, result.runId)).events };
}

function isRules(options: TextkitOptions | readonly Rule[]): options is readonly Rule[] {
  return Array.isArray(options);
}

/** Every checkpoint of the run is still in the branch's history: nothing committed was lost. */
export function checkpointsAreAncestors(run: TextkitRun): boolean {
  const tags = git(run.workspace, 'for-each-ref', '--format=%(refname)', `refs/baton/${run.runId}/`)
    .trim()
    .split('\n')
    .filter((line) => /\/checkpoint-\d+$/.test(line));
  return tags.every((name) => {
    try {
      git(run.workspace, 'merge-base', '--is-ancestor', name, 'HEAD');
      return true;
    } catch {
      return false;
    }
  });
}

export function guardEvents(run: TextkitRun, guard: string): Extract<RunEvent, { type: 'guard.fired' }>[] {
  return run.events.filter(
    (event): event is Extract<RunEvent, { type: 'guard.fired' }> =>
      event.type === 'guard.fired' && event.guard === guard,
  );
}

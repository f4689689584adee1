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
import { git, tempDir } from './helpers.ts';

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

/** Run the real loop on textkit with a scripted worker (a real process) made of these rules. */
export async function runTextkit(
  rules: readonly Rule[],
  extraYaml = '',
  fallback?: readonly Rule[],
): Promise<TextkitRun> {
  const { root, workspace } = await makeTextkit(
    fallback === undefined
      ? extraYaml
      : `${extraYaml}\nfallbackAgent:\n  type: scripted\n  script: ../fallback.json\n  timeout: 2m\n`,
  );
  if (fallback !== undefined) {
    writeFileSync(join(root, 'fallback.json'), JSON.stringify({ name: 'fallback', rules: fallback }));
  }
  const agent = createScriptedAgent({ name: 'adversary', rules: [...rules] }, root);
  const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
  const result = await runLoop({ workspace, agent, env });
  return { ...result, workspace, events: readEventLog(eventLogPath(workspace, result.runId)).events };
}

/** Every checkpoint of the run is still in the branch's history: nothing committed was lost. */
export function checkpointsAreAncestors(run: TextkitRun): boolean {
  const tags = git(run.workspace, 'tag', '--list', `baton/${run.runId}/*`)
    .trim()
    .split('\n')
    .filter((line) => line !== '');
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

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { commitAll, initRepository } from '../git/git.ts';
import type { RunEvent } from '../log/events.ts';
import type { RunState } from '../log/reducer.ts';
import { textkitAgentScript, textkitFeatures, textkitFiles, textkitGoal } from '../demo/textkit.ts';
import { runInit } from './init.ts';
import { runLoop, type RunLoopResult } from './run.ts';

export interface DemoOptions {
  /** Where to create the example project (default: a new temporary folder). */
  readonly directory?: string;
  readonly onEvent?: (event: RunEvent, state: RunState) => void;
  readonly signal?: AbortSignal;
}

export interface DemoResult extends RunLoopResult {
  readonly workspace: string;
}

/**
 * The offline demo: a real example project with a real test suite, a real git history and the real
 * loop, driven by a scripted worker that makes honest progress and once declares victory too early.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const root = options.directory ?? mkdtempSync(join(tmpdir(), 'baton-demo-'));
  const workspace = join(root, 'textkit');
  for (const [path, content] of Object.entries(textkitFiles)) {
    mkdirSync(dirname(join(workspace, path)), { recursive: true });
    writeFileSync(join(workspace, path), content);
  }
  await initRepository(workspace);
  await commitAll(workspace, 'textkit: stubs and tests');
  writeFileSync(join(root, 'demo-worker.json'), `${JSON.stringify(textkitAgentScript, null, 2)}\n`);
  await runInit({
    workspace,
    goal: textkitGoal,
    features: textkitFeatures,
    agentYaml: 'agent:\n  type: scripted\n  script: ../demo-worker.json\n  timeout: 2m',
    oraclesYaml: 'oracles:\n  - name: tests\n    command: node --test\n    timeout: 2m',
    // The judge needs the whole suite green, not only each feature's own tests.
    doneOracles: ['tests'],
    smokeCommand: `node -e "import('./src/index.js')"`,
  });
  // The checks run `node`: make it the Node running baton, whatever the PATH says.
  const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
  const result = await runLoop({
    workspace,
    env,
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { ...result, workspace };
}

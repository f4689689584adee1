import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { onTestFinished } from 'vitest';
import { runInit } from '../src/api/init.ts';
import type { Feature, FeatureList } from '../src/workspace/features.ts';

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(prefix = 'baton-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=test', '-c', 'user.email=test@localhost', '-c', 'commit.gpgsign=false', ...args],
    {
      cwd,
      encoding: 'utf8',
    },
  );
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

export function feature(id: string, verify: string, title = `feature ${id}`): Feature {
  return { id, title, steps: [], verify, status: 'failing', evidence: null };
}

export interface WorkspaceOptions {
  readonly files?: Record<string, string>;
  readonly features?: readonly Feature[];
  readonly oracles?: readonly { readonly name: string; readonly command: string }[];
  readonly doneOracles?: readonly string[];
  /** YAML lines appended to baton.yaml's budgets section, e.g. "iterations: 3". */
  readonly budgets?: {
    readonly iterations?: number;
    readonly wallClock?: string;
    readonly noProgressIterations?: number;
  };
  readonly agentYaml?: string;
  readonly smokeCommand?: string;
}

/**
 * An initialised workspace in a temp dir: project files committed, then `runInit` with the given
 * features, oracles and budgets. Returns the workspace path.
 */
export async function makeWorkspace(options: WorkspaceOptions = {}): Promise<string> {
  const root = tempDir();
  const workspace = join(root, 'ws');
  mkdirSync(workspace);
  git(workspace, 'init', '-q', '--initial-branch=main');
  writeFiles(workspace, options.files ?? { 'README.md': '# project\n' });
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-qm', 'project');
  const features: FeatureList = {
    version: 1,
    features: [...(options.features ?? [feature('F1', 'test -f done.txt')])],
  };
  const oracles = options.oracles ?? [];
  await runInit({
    workspace,
    goal: 'Make the features pass.',
    features,
    agentYaml: options.agentYaml ?? 'agent:\n  type: command\n  command: ["true"]\n  timeout: 1m',
    oraclesYaml:
      oracles.length === 0
        ? 'oracles: []'
        : `oracles:\n${oracles.map((oracle) => `  - name: ${oracle.name}\n    command: ${JSON.stringify(oracle.command)}\n    timeout: 1m`).join('\n')}`,
    doneOracles: options.doneOracles ?? [],
    smokeCommand: options.smokeCommand ?? 'true',
  });
  if (options.budgets !== undefined) {
    const path = join(workspace, 'baton.yaml');
    let text = readFileSync(path, 'utf8');
    const budgets = options.budgets;
    if (budgets.iterations !== undefined) {
      text = text.replace(/iterations: \d+/, `iterations: ${budgets.iterations}`);
    }
    if (budgets.wallClock !== undefined) {
      text = text.replace(/wallClock: \S+/, `wallClock: ${budgets.wallClock}`);
    }
    if (budgets.noProgressIterations !== undefined) {
      text = text.replace(
        /noProgressIterations: \d+/,
        `noProgressIterations: ${budgets.noProgressIterations}`,
      );
    }
    writeFileSync(path, text);
    git(workspace, 'commit', '-qam', 'budgets for this test');
  }
  return workspace;
}

/**
 * Look at a stopped run's work as a person would: a run works on its own branch and checks the
 * person's branch out again when it stops, so the tree shows the run's branch only after
 * `git switch baton/<run-id>`. A run in place (or still on its branch) is left as it is.
 */
export function checkOutRunBranch(
  workspace: string,
  state: { readonly branch: string | null; readonly baseBranch: string | null },
): void {
  if (state.branch === null || state.baseBranch === null) return;
  // The workspace may belong to another user (a harness run through setpriv): look at it anyway.
  const safe = ['-c', `safe.directory=${workspace}`];
  if (git(workspace, ...safe, 'symbolic-ref', '--short', 'HEAD').trim() === state.branch) return;
  git(workspace, ...safe, 'switch', '-q', state.branch);
}

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { runInit } from '../src/index.ts';

const filesPerFolder = 100;

/** git as a person would run it, under a throwaway identity, never signing. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'commit.gpgsign=false', ...args],
    { cwd, encoding: 'utf8' },
  );
}

/** A project of `count` small source files, 100 to a folder, so git has a realistic index to scan. */
function writeProjectFiles(workspace: string, count: number): void {
  for (let index = 0; index < count; index += 1) {
    const folder = join(
      workspace,
      'src',
      `module-${String(Math.floor(index / filesPerFolder)).padStart(3, '0')}`,
    );
    if (index % filesPerFolder === 0) mkdirSync(folder, { recursive: true });
    const name = `file-${String(index % filesPerFolder).padStart(3, '0')}.ts`;
    writeFileSync(
      join(folder, name),
      `// generated for the baton benchmark\nexport const value${index} = ${index};\nexport function get${index}(): number {\n  return value${index};\n}\n`,
    );
  }
}

/**
 * Budgets for a long run that never finishes: only the iteration budget may end it. The stall ladder is
 * turned off too, because with one feature that never passes it would park that feature after a few
 * iterations and the run would stop ("every failing feature is parked") long before the iteration budget.
 */
function rewriteBudgets(workspace: string, iterations: number): void {
  const path = join(workspace, 'baton.yaml');
  // Edit through the YAML document, not with regexes, so comments stay and a template change cannot
  // silently make the rewrite miss.
  const document = parseDocument(readFileSync(path, 'utf8'));
  document.setIn(['budgets', 'iterations'], iterations);
  document.setIn(['budgets', 'noProgressIterations'], 0);
  document.setIn(['budgets', 'wallClock'], '2h');
  document.setIn(['guards', 'stall'], { replanAfter: 0, switchAgentAfter: 0, parkAfter: 0 });
  writeFileSync(path, document.toString());
  git(workspace, 'commit', '--quiet', '--all', '--message', 'bench: budgets for a long run');
}

/**
 * An initialised baton workspace inside `root`: `files` committed project files, one feature whose verify
 * command always fails (so the run is never done and a failing-check excerpt is in every prompt), a
 * trivial oracle, and a command agent that does nothing.
 */
export async function createBenchWorkspace(root: string, files: number, iterations: number): Promise<string> {
  const workspace = join(root, 'workspace');
  mkdirSync(workspace);
  git(workspace, 'init', '--quiet', '--initial-branch=main');
  writeProjectFiles(workspace, files);
  git(workspace, 'add', '--all');
  git(workspace, 'commit', '--quiet', '--message', 'bench: project files');
  // A project a person works on is usually cloned, so its objects are packed. Thousands of loose objects
  // from the fresh commit would instead trip `git gc --auto` at a random point in the middle of the run.
  git(workspace, 'gc', '--quiet');
  await runInit({
    workspace,
    goal: 'Keep the benchmark running: the one feature never passes.',
    features: {
      version: 1,
      features: [
        {
          id: 'F1',
          title: 'A feature whose verify command always fails',
          steps: [],
          verify: 'false',
          status: 'failing',
          evidence: null,
        },
      ],
    },
    oraclesYaml: 'oracles:\n  - name: trivial\n    command: "true"\n    timeout: 1m',
    smokeCommand: 'true',
    agentYaml: 'agent:\n  type: command\n  command: ["true"]\n  timeout: 1m',
  });
  rewriteBudgets(workspace, iterations);
  return workspace;
}

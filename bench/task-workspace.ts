import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInit } from '../src/index.ts';
import { taskPlan } from '../src/testing/index.ts';
import { git } from './workspace.ts';

/**
 * A workspace for the parallel benchmarks: `tasks` independent tasks, each writing one file, a planner
 * that copies the plan, and workers that wait `agentSeconds` (as agents waiting on a model do).
 */
export async function createTaskWorkspace(
  root: string,
  label: string,
  tasks: number,
  agentSeconds: number,
  parallelYaml: string,
): Promise<string> {
  const workspace = join(root, label);
  mkdirSync(workspace);
  git(workspace, 'init', '-q', '--initial-branch=main');
  writeFileSync(join(workspace, 'README.md'), '# bench project\n');
  const ids = Array.from({ length: tasks }, (_, index) => `t${String(index + 1).padStart(2, '0')}`);
  writeFileSync(
    join(workspace, 'plan.json'),
    JSON.stringify(
      taskPlan(
        ids.map((id) => ({
          id,
          features: [`F-${id}`],
          scope: [`src/${id}.txt`],
          verify: [`test -s src/${id}.txt`],
        })),
      ),
    ),
  );
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-qm', 'bench project');
  await runInit({
    workspace,
    goal: `Write ${tasks} files in parallel.`,
    features: {
      version: 1,
      features: ids.map((id) => ({
        id: `F-${id}`,
        title: `src/${id}.txt exists`,
        steps: [],
        verify: `test -s src/${id}.txt`,
        status: 'failing' as const,
        evidence: null,
      })),
    },
    agentYaml: `agent:\n  type: command\n  command: "if [ \\"$BATON_ROLE\\" = planner ]; then cp plan.json TASKS.json; else sleep ${agentSeconds}; mkdir -p src; echo ok > src/$BATON_TASK_ID.txt; fi"\n  timeout: 5m`,
    oraclesYaml: 'oracles: []',
    doneOracles: [],
    smokeCommand: 'true',
  });
  appendFileSync(join(workspace, 'baton.yaml'), `parallel:\n${parallelYaml}\n`);
  git(workspace, 'commit', '-qam', `bench: ${label}`);
  return workspace;
}

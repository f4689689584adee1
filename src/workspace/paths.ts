import { join } from 'node:path';

/** The durable state files every workspace has, and the harness's own folder. */
export const stateFiles = {
  config: 'baton.yaml',
  spec: 'SPEC.md',
  features: 'FEATURES.json',
  plan: 'IMPLEMENTATION_PLAN.md',
  progress: 'PROGRESS.md',
  agents: 'AGENTS.md',
  init: 'init.sh',
} as const;

export const harnessDirName = '.baton';

export function harnessDir(workspace: string): string {
  return join(workspace, harnessDirName);
}

export function runsDir(workspace: string): string {
  return join(workspace, harnessDirName, 'runs');
}

export function runDir(workspace: string, runId: string): string {
  return join(runsDir(workspace), runId);
}

export function eventLogPath(workspace: string, runId: string): string {
  return join(runDir(workspace, runId), 'events.jsonl');
}

export function iterationDir(workspace: string, runId: string, iteration: number): string {
  return join(runDir(workspace, runId), 'iterations', String(iteration).padStart(5, '0'));
}

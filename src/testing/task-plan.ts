import type { TaskGraph } from '../parallel/task-graph.ts';

export interface TaskPlanEntry {
  readonly id: string;
  readonly scope: readonly string[];
  readonly goal?: string;
  readonly features?: readonly string[];
  readonly dependsOn?: readonly string[];
  readonly verify?: readonly string[];
}

/**
 * A TASKS.json plan for a scripted planner (write it with a `write` action, or copy it from a file):
 * the defaults fill in what a test does not care about.
 */
export function taskPlan(entries: readonly TaskPlanEntry[]): TaskGraph {
  return {
    version: 1,
    tasks: entries.map((entry) => ({
      id: entry.id,
      goal: entry.goal ?? `do task ${entry.id}`,
      features: [...(entry.features ?? [])],
      scope: [...entry.scope],
      dependsOn: [...(entry.dependsOn ?? [])],
      verify: [...(entry.verify ?? [])],
    })),
  };
}

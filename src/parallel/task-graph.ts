import { z } from 'zod';

/**
 * The planner's output, TASKS.json: the remaining work cut into tasks a worker can do alone. A task
 * names the features it makes pass, the files it may change (globs), the tasks that must land first,
 * and the commands that prove it. The harness validates it; nothing runs on a plan it cannot trust.
 */
export const tasksFileName = 'TASKS.json';

const taskId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, 'expected an id of letters, digits, - and _ (at most 64)');

export const taskSpecSchema = z.strictObject({
  id: taskId,
  goal: z.string().min(1, 'say what the task is for'),
  features: z.array(z.string()).default([]),
  scope: z.array(z.string().min(1)).min(1, 'a task needs a write scope: at least one glob'),
  dependsOn: z.array(taskId).default([]),
  verify: z.array(z.string().min(1)).default([]),
});

export const taskGraphSchema = z.strictObject({
  version: z.literal(1),
  tasks: z.array(taskSpecSchema).min(1, 'a plan needs at least one task'),
});

export type TaskSpec = z.output<typeof taskSpecSchema>;
export type TaskGraph = z.output<typeof taskGraphSchema>;

export type GraphCheck = { ok: true; tasks: TaskSpec[] } | { ok: false; problems: string[] };

/** Files only the harness writes: no task may claim them, no task's diff may touch them. */
export const harnessOwnedPaths = [
  'FEATURES.json',
  'PROGRESS.md',
  'TASKS.json',
  'baton.yaml',
  '.baton/**',
  '.git/**',
];

function findCycle(tasks: readonly TaskSpec[]): string[] | undefined {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const next of byId.get(id)?.dependsOn ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const task of tasks) {
    const cycle = visit(task.id);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

/**
 * Parse and check a plan: the schema, unique ids, features that exist, dependencies that exist (a task
 * of this plan, or one merged earlier), no cycles, no scope over harness-owned files.
 */
export function checkTaskGraph(
  text: string,
  featureIds: readonly string[],
  mergedTaskIds: readonly string[],
): GraphCheck {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`${tasksFileName} is not JSON: ${(error as Error).message}`] };
  }
  const parsed = taskGraphSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`),
    };
  }
  const problems: string[] = [];
  const tasks = parsed.data.tasks.filter((task) => !mergedTaskIds.includes(task.id));
  const ids = new Set<string>();
  for (const task of tasks) {
    if (ids.has(task.id)) problems.push(`task ${task.id} appears twice`);
    ids.add(task.id);
  }
  const known = new Set(featureIds);
  for (const task of tasks) {
    for (const feature of task.features) {
      if (!known.has(feature)) {
        problems.push(`task ${task.id} names feature ${feature}, which FEATURES.json lacks`);
      }
    }
    for (const dependency of task.dependsOn) {
      if (!ids.has(dependency) && !mergedTaskIds.includes(dependency)) {
        problems.push(`task ${task.id} depends on ${dependency}, which is not a task`);
      }
    }
    // A broad glob such as `**` is fine: harness-owned files are refused at merge whatever the scope.
    for (const glob of task.scope) {
      if (harnessOwnedPaths.includes(glob) || glob.startsWith('.baton') || glob.startsWith('.git/')) {
        problems.push(`task ${task.id} claims ${glob}, which only the harness writes`);
      }
    }
  }
  const cycle = findCycle(tasks);
  if (cycle !== undefined) problems.push(`dependencies form a cycle: ${cycle.join(' -> ')}`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, tasks };
}

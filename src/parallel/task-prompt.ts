import type { PlannedTask, Verdict } from '../log/events.ts';
import type { Feature } from '../workspace/features.ts';
import { tasksFileName } from './task-graph.ts';
import { clip, singleLine } from '../util/text.ts';

/** Text inside a fence, which no line of it can close (worker output, file names). */
function fenced(text: string): string {
  return text.replaceAll('```', "'''");
}

export interface TaskPromptInput {
  readonly goal: string;
  readonly task: PlannedTask;
  readonly attempt: number;
  readonly features: readonly Feature[];
  readonly landed: readonly string[];
  /** Why the previous attempt did not land, when there was one. */
  readonly lastReturn: { readonly reason: string; readonly diagnostics: string } | null;
}

/** The prompt of one task attempt: the task alone, its limits, and what went wrong last time. */
export function buildTaskPrompt(input: TaskPromptInput): string {
  const { task } = input;
  const features = input.features.filter((feature) => task.features.includes(feature.id));
  const lines = [
    `# Task ${task.id} (attempt ${input.attempt})`,
    '',
    `You are one of several workers; each has its own task and its own copy of the repository. Do this task`,
    `and nothing else, then stop. The harness verifies your work and merges it; do not commit.`,
    '',
    `Overall goal: ${clip(input.goal, 600)}`,
    '',
    `## Your task`,
    task.goal,
    '',
    `## You may change only files matching`,
    ...task.scope.map((glob) => `- ${glob}`),
    'A change to any other file refuses the whole attempt. Never edit FEATURES.json, PROGRESS.md,',
    `${tasksFileName} or baton.yaml: the harness owns them.`,
  ];
  if (features.length > 0) {
    lines.push('', '## Features this task makes pass');
    for (const feature of features) {
      lines.push(
        `- ${feature.id}: ${singleLine(feature.title)}`,
        `  verified by: ${singleLine(feature.verify)}`,
      );
      for (const step of feature.steps) lines.push(`  - ${singleLine(step)}`);
    }
  }
  if (task.verify.length > 0) {
    lines.push(
      '',
      '## The harness runs these before merging',
      ...task.verify.map((command) => `- ${command}`),
    );
  }
  if (task.dependsOn.length > 0) {
    lines.push('', `Tasks already merged that this one builds on: ${task.dependsOn.join(', ')}.`);
  }
  if (input.lastReturn !== null) {
    lines.push(
      '',
      `## Your previous attempt did not land (${singleLine(input.lastReturn.reason)})`,
      'The repository now has the latest merged work. Diagnostics:',
      '```',
      fenced(clip(input.lastReturn.diagnostics, 3_000)),
      '```',
    );
  }
  lines.push('', 'End with a short note: what you changed and how you checked it.');
  return `${lines.join('\n')}\n`;
}

export interface PlanPromptInput {
  readonly goal: string;
  readonly revision: number;
  readonly failing: readonly Feature[];
  readonly merged: readonly string[];
  readonly abandoned: readonly { readonly id: string; readonly reason: string }[];
  readonly lastVerdict: Verdict | null;
  readonly problems: readonly string[];
  readonly workers: number;
}

/** The planner's prompt: cut the failing features into tasks that can run in parallel. */
export function buildPlanPrompt(input: PlanPromptInput): string {
  const lines = [
    `# Plan the work (plan revision ${input.revision})`,
    '',
    `Goal: ${clip(input.goal, 1_000)}`,
    '',
    `Up to ${input.workers} workers will work at the same time, each on one task in its own copy of the`,
    'repository; they cannot talk to each other. Cut the remaining work into tasks that touch disjoint files',
    'where possible; where one task needs another, say so in dependsOn. Do not change any other file.',
    '',
    `Write ${tasksFileName} in the repository root, exactly this shape:`,
    '```json',
    '{ "version": 1, "tasks": [ { "id": "parser", "goal": "what to do", "features": ["feature-id"],',
    '    "scope": ["src/parser/**"], "dependsOn": [], "verify": ["npm test -- parser"] } ] }',
    '```',
    '',
    '## Features still failing',
    ...input.failing.map(
      (feature) =>
        `- ${feature.id}: ${singleLine(feature.title)} (verified by: ${singleLine(feature.verify)})`,
    ),
  ];
  if (input.merged.length > 0) {
    lines.push('', `Tasks already merged (do not repeat them): ${input.merged.join(', ')}`);
  }
  if (input.abandoned.length > 0) {
    lines.push('', '## Tasks that failed (plan them differently)');
    for (const entry of input.abandoned) lines.push(`- ${entry.id}: ${clip(singleLine(entry.reason), 400)}`);
  }
  if (input.lastVerdict !== null) {
    lines.push('', `Last verdict: ${clip(singleLine(input.lastVerdict.reason), 800)}`);
  }
  if (input.problems.length > 0) {
    lines.push(
      '',
      `## Your last ${tasksFileName} was refused`,
      ...input.problems.map((problem) => `- ${problem}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

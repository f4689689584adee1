import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { claimDoneMarker } from '../agents/agent.ts';
import { parseFeatureList } from '../workspace/features.ts';
import type { AgentScript, ScriptAction, ScriptCondition, ScriptRule } from './script.ts';

export interface ScriptedSessionInput {
  readonly script: AgentScript;
  readonly cwd: string;
  readonly prompt: string;
  readonly iteration: number | undefined;
  readonly log: (line: string) => void;
}

export interface ScriptedSessionOutcome {
  readonly rule: string | null;
  readonly message: string;
  readonly exitCode: number;
  readonly usage: ScriptRule['usage'];
}

function readText(cwd: string, path: string): string | undefined {
  const full = resolve(cwd, path);
  return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
}

function featureStatuses(cwd: string): Map<string, string> {
  const text = readText(cwd, 'FEATURES.json');
  const parsed = text === undefined ? undefined : parseFeatureList(text);
  const statuses = new Map<string, string>();
  if (parsed?.ok === true) {
    for (const feature of parsed.list.features) statuses.set(feature.id, feature.status);
  }
  return statuses;
}

export function conditionHolds(condition: ScriptCondition, input: ScriptedSessionInput): boolean {
  const statuses = featureStatuses(input.cwd);
  const passing = [...statuses.values()].filter((status) => status === 'passing').length;
  const checks: (boolean | undefined)[] = [
    condition.featureFailing === undefined ? undefined : statuses.get(condition.featureFailing) === 'failing',
    condition.featurePassing === undefined ? undefined : statuses.get(condition.featurePassing) === 'passing',
    condition.passingAtLeast === undefined ? undefined : passing >= condition.passingAtLeast,
    condition.passingExactly === undefined ? undefined : passing === condition.passingExactly,
    condition.fileExists === undefined ? undefined : readText(input.cwd, condition.fileExists) !== undefined,
    condition.fileMissing === undefined
      ? undefined
      : readText(input.cwd, condition.fileMissing) === undefined,
    condition.fileContains === undefined
      ? undefined
      : (readText(input.cwd, condition.fileContains.path) ?? '').includes(condition.fileContains.text),
    condition.fileLacks === undefined
      ? undefined
      : !(readText(input.cwd, condition.fileLacks.path) ?? '').includes(condition.fileLacks.text),
    condition.promptIncludes === undefined ? undefined : input.prompt.includes(condition.promptIncludes),
    condition.promptExcludes === undefined ? undefined : !input.prompt.includes(condition.promptExcludes),
    condition.iteration === undefined ? undefined : input.iteration === condition.iteration,
  ];
  return checks.every((check) => check !== false);
}

function perform(action: ScriptAction, input: ScriptedSessionInput): number | undefined {
  const inside = (path: string): string => resolve(input.cwd, path);
  if ('write' in action) {
    mkdirSync(dirname(inside(action.write.path)), { recursive: true });
    writeFileSync(inside(action.write.path), action.write.content);
    input.log(`write ${action.write.path} (${action.write.content.length} bytes)`);
  } else if ('append' in action) {
    mkdirSync(dirname(inside(action.append.path)), { recursive: true });
    appendFileSync(inside(action.append.path), action.append.content);
    input.log(`append ${action.append.path}`);
  } else if ('replace' in action) {
    const before = readFileSync(inside(action.replace.path), 'utf8');
    writeFileSync(inside(action.replace.path), before.split(action.replace.find).join(action.replace.with));
    input.log(`edit ${action.replace.path}`);
  } else if ('delete' in action) {
    rmSync(inside(action.delete), { recursive: true, force: true });
    input.log(`delete ${action.delete}`);
  } else if ('run' in action) {
    input.log(`run ${action.run}`);
    try {
      const output = execSync(action.run, {
        cwd: input.cwd,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      if (output.trim() !== '') input.log(output.trimEnd());
    } catch (error) {
      input.log(`command failed: ${(error as Error).message.split('\n')[0] ?? ''}`);
    }
  } else if ('sleepMs' in action) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, action.sleepMs);
  } else {
    return action.exit;
  }
  return undefined;
}

/** One session of a scripted agent: orient from disk, take the first matching rule, act, hand off. */
export function runScriptedSession(input: ScriptedSessionInput): ScriptedSessionOutcome {
  input.log(`${input.script.name}: reading FEATURES.json and the prompt`);
  const chosen: ScriptRule | undefined = input.script.rules.find((rule) => conditionHolds(rule.when, input));
  if (chosen === undefined) {
    input.log('no rule matches the workspace');
    return { rule: null, message: input.script.otherwise, exitCode: 0, usage: undefined };
  }
  const name = chosen.name ?? `rule ${input.script.rules.indexOf(chosen) + 1}`;
  input.log(`chose ${name}`);
  for (const action of chosen.do) {
    const exitCode = perform(action, input);
    if (exitCode !== undefined) return { rule: name, message: chosen.say, exitCode, usage: chosen.usage };
  }
  const message = chosen.claimDone ? `${chosen.say}\n${claimDoneMarker}` : chosen.say;
  return { rule: name, message, exitCode: 0, usage: chosen.usage };
}

export function scriptedAgentMainPath(): string {
  // Beside this file: .ts under the sources (Node strips the types), .js once built.
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return join(dirname(new URL(import.meta.url).pathname), `scripted-agent-main.${extension}`);
}

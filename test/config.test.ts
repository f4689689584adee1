import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText } from '../src/config/load.ts';
import { configJsonSchemaText } from '../src/config/json-schema.ts';
import { configSchema } from '../src/config/schema.ts';
import { defaultAgentTimeoutMs } from '../src/config/fragments/agent.ts';
import { defaultLimits } from '../src/sandbox/policy.ts';
import { BatonError } from '../src/errors.ts';
import { tempDir } from './helpers.ts';

const valid = `version: 1
agent:
  type: command
  command: my-agent --print
oracles:
  - name: tests
    command: npm test
done:
  oracles: [tests]
budgets:
  iterations: 10
  wallClock: 1h30m
`;

function problemsOf(text: string): { field: string; message: string; fix: string }[] {
  const result = parseConfigText(text);
  if (result.ok) throw new Error('expected the config to be refused');
  return [...result.problems];
}

describe('baton.yaml', () => {
  it('resolves a valid file with defaults and durations in milliseconds', () => {
    const result = parseConfigText(valid);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.budgets).toEqual({
      iterations: 10,
      wallClockMs: 5_400_000,
      noProgressIterations: 5,
      tokens: undefined,
      costUsd: undefined,
      perIteration: { tokens: undefined, costUsd: undefined },
    });
    expect(result.config.guards.regression).toBe('rollback');
    expect(result.config.guards.stall).toEqual({ replanAfter: 2, switchAgentAfter: 3, parkAfter: 4 });
    expect(result.config.guards.pollution.mode).toBe('scratch');
    expect(result.config.agent).toMatchObject({
      type: 'command',
      command: 'my-agent --print',
      prompt: 'stdin',
      timeoutMs: 1_800_000,
    });
    expect(result.config.done).toEqual({
      features: 'all',
      oracles: ['tests'],
      cleanTree: true,
      requireClaim: false,
    });
    expect(result.config.oracles[0]?.timeoutMs).toBe(600_000);
  });

  it('reports broken YAML with its line and how to fix it', () => {
    const [problem] = problemsOf('version: 1\nagent:\n  type: command\n   command: "unclosed\n');
    expect(problem?.field).toMatch(/^line \d+, column \d+$/);
    expect(problem?.message).toContain('is not valid YAML');
    expect(problem?.fix).toContain('indentation');
  });

  it('names an unknown key and suggests the setting that was meant', () => {
    const problems = problemsOf(valid.replace('wallClock: 1h30m', 'wallclok: 1h30m'));
    expect(problems).toContainEqual({
      field: 'budgets.wallclok',
      message: 'is not a known setting',
      fix: 'did you mean "wallClock"? Rename it or remove it',
    });
  });

  it('suggests the setting meant in every section, nested ones and each agent type included', () => {
    const suggestion = (text: string) => problemsOf(text).map((problem) => [problem.field, problem.fix]);
    expect(
      suggestion(valid.replace('    command: npm test\n', '    command: npm test\n    timout: 1m\n')),
    ).toEqual([['oracles.0.timout', 'did you mean "timeout"? Rename it or remove it']]);
    expect(suggestion('version: 1\nagent:\n  type: codex\n  idleTimout: 1m\n')).toEqual([
      ['agent.idleTimout', 'did you mean "idleTimeout"? Rename it or remove it'],
    ]);
    expect(suggestion('version: 1\nsandbox:\n  limits:\n    memry: 1GiB\n')).toEqual([
      ['sandbox.limits.memry', 'did you mean "memory"? Rename it or remove it'],
    ]);
    expect(suggestion('version: 1\ndone:\n  zzzzzzzz: 1\n')).toEqual([
      ['done.zzzzzzzz', 'remove it; known settings here: features, oracles, cleanTree, requireClaim'],
    ]);
  });

  it('resolves durations and sizes in the schema itself, its defaults written once', () => {
    const parsed = configSchema.parse({
      version: 1,
      agent: { type: 'claude-code' },
      sandbox: { limits: { fileSize: '10MiB', cpu: '90s' } },
    });
    expect(parsed.agent).toMatchObject({ timeoutMs: defaultAgentTimeoutMs, idleTimeoutMs: 600_000 });
    expect(defaultAgentTimeoutMs).toBe(1_800_000);
    expect(parsed.sandbox.limits).toEqual({
      ...defaultLimits,
      fileSizeBytes: 10 * 1024 ** 2,
      cpuSeconds: 90,
    });
    expect(defaultLimits).toEqual({
      processes: 512,
      fileSizeBytes: 1024 ** 3,
      cpuSeconds: 3_600,
      memoryBytes: 4 * 1024 ** 3,
      openFiles: 4_096,
    });
    expect(parsed.verifyTimeoutMs).toBe(600_000);
    expect(parsed.rateLimits).toEqual({ retries: 8, initialBackoffMs: 30_000, maxBackoffMs: 900_000 });
    expect(parsed.notify.timeoutMs).toBe(10_000);
  });

  it('names a field of the wrong type', () => {
    const problems = problemsOf(valid.replace('iterations: 10', 'iterations: ten'));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.field).toBe('budgets.iterations');
    expect(problems[0]?.message).toMatch(/expected number/);
    expect(problems[0]?.fix).toContain('budgets.iterations');
  });

  it('refuses a duration it cannot read', () => {
    const problems = problemsOf(valid.replace('wallClock: 1h30m', 'wallClock: soon'));
    expect(problems[0]?.field).toBe('budgets.wallClock');
    expect(problems[0]?.message).toContain("expected a duration such as '90s'");
  });

  it('refuses a done condition that names an undefined oracle', () => {
    const problems = problemsOf(valid.replace('oracles: [tests]', 'oracles: [tests, lint]'));
    expect(problems).toEqual([
      {
        field: 'done.oracles.1',
        message: 'names the oracle "lint", which is not defined',
        fix: 'use one of: tests; or define "lint" under oracles:',
      },
    ]);
  });

  it('explains an agent without a type', () => {
    const problems = problemsOf(valid.replace('  type: command\n', ''));
    expect(problems[0]?.field).toBe('agent');
    expect(problems[0]?.fix).toContain('type: command');
  });

  it('refuses a done condition that checks nothing', () => {
    const problems = problemsOf('version: 1\ndone:\n  features: none\n');
    expect(problems[0]?.field).toBe('done');
    expect(problems[0]?.message).toContain('checks nothing');
  });

  it('refuses a file that is not a mapping, and a wrong version', () => {
    expect(problemsOf('- just\n- a list\n')[0]?.message).toBe('is not a mapping of settings');
    expect(problemsOf('version: 2\n')[0]?.field).toBe('version');
  });

  it('throws a BatonError listing every problem when loading from disk, and one naming the fix when missing', () => {
    const dir = tempDir();
    expect(() => loadConfig(dir)).toThrow(/no baton.yaml/);
    writeFileSync(
      join(dir, 'baton.yaml'),
      valid.replace('iterations: 10', 'iterations: -1').replace('wallClock: 1h30m', 'wallClock: x'),
    );
    try {
      loadConfig(dir);
      expect.unreachable();
    } catch (error) {
      expect(BatonError.isInstance(error)).toBe(true);
      const message = (error as BatonError).message;
      expect(message).toContain('2 problems');
      expect(message).toContain('budgets.iterations');
      expect(message).toContain('budgets.wallClock');
      expect((error as BatonError).exitCode).toBe(2);
    }
  });

  it('ships a JSON Schema generated from the validator (run `npm run schema` when this fails)', () => {
    const committed = readFileSync(new URL('../schema/baton.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(configJsonSchemaText());
  });
});

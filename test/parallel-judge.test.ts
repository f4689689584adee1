import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLoop } from '../src/api/run.ts';
import { readEventLog } from '../src/log/event-log.ts';
import type { RunEvent } from '../src/log/events.ts';
import type { AgentScriptInput } from '../src/testing/script.ts';
import { taskPlan } from '../src/testing/task-plan.ts';
import { eventLogPath } from '../src/workspace/paths.ts';
import { feature, git, makeWorkspace } from './helpers.ts';

const test = (name: string, body: string): string =>
  [
    "const test = require('node:test');",
    "const assert = require('node:assert');",
    `test('${name}', () => {`,
    body,
    '});',
    '',
  ].join('\n');

/**
 * Three tasks on two workers, each a different kind of test change: t1 fixes its code and removes a
 * duplicate assertion (legitimate: its accepted test still passes on the new code); t2 changes tested
 * behaviour with its test (a proposal); t3 writes the missing test of F3 so that it passes whatever the
 * code does (evidence that does not discriminate: F3 fails at the baseline); t4 also changes the test
 * script of package.json (the verification contract: a proposal).
 */
describe('the merge queue judges test changes as the serial loop does', () => {
  it('lands a legitimate test edit, keeps a behaviour change and a contract change as proposals, refuses a vacuous test', async () => {
    const tasks = [
      { id: 't1', features: ['F1'], scope: ['one.js', 'test/one.test.js'] },
      { id: 't2', features: ['F2'], scope: ['slug.js', 'test/slug.test.js'] },
      { id: 't3', features: ['F3'], scope: ['test/three.test.js'] },
      { id: 't4', features: ['F4'], scope: ['four.js', 'package.json'] },
    ].map((task) => ({ ...task, dependsOn: [], verify: [] }));
    const agent: AgentScriptInput = {
      name: 'parallel judge test agent',
      rules: [
        {
          name: 'plan',
          when: { promptIncludes: '# Plan the work', fileMissing: 'TASKS.json' },
          do: [{ write: { path: 'TASKS.json', content: JSON.stringify(taskPlan(tasks), null, 2) } }],
          say: 'planned',
        },
        {
          name: 't1',
          when: { promptIncludes: '# Task t1 ' },
          do: [
            { write: { path: 'one.js', content: 'module.exports = () => 1;\n' } },
            {
              write: {
                path: 'test/one.test.js',
                content: test('one', "  assert.strictEqual(require('../one.js')(), 1);"),
              },
            },
          ],
          say: 'fixed one and removed the duplicate assertion',
        },
        {
          name: 't2',
          when: { promptIncludes: '# Task t2 ' },
          do: [
            { write: { path: 'slug.js', content: "module.exports = (a, b) => a + '_' + b;\n" } },
            {
              write: {
                path: 'test/slug.test.js',
                content: test('slug', "  assert.strictEqual(require('../slug.js')('a', 'b'), 'a_b');"),
              },
            },
          ],
          say: 'slug joins with underscores now',
        },
        {
          name: 't3',
          when: { promptIncludes: '# Task t3 ' },
          do: [
            {
              write: {
                path: 'test/three.test.js',
                content: test('three', "  assert.ok(typeof require('../three.js')() === 'number');"),
              },
            },
          ],
          say: 'wrote the test of three',
        },
        {
          name: 't4',
          when: { promptIncludes: '# Task t4 ' },
          do: [
            { write: { path: 'four.js', content: 'module.exports = 4;\n' } },
            { write: { path: 'package.json', content: '{ "scripts": { "test": "exit 0" } }\n' } },
          ],
          say: 'wrote four.js; the test script is quicker now',
        },
      ],
    };
    const workspace = await makeWorkspace({
      features: [
        feature('F1', 'node --test test/one.test.js'),
        feature('F2', 'node --test test/slug.test.js'),
        feature('F3', 'node --test test/three.test.js'),
        feature('F4', 'test -f four.js'),
      ],
      files: {
        'README.md': '# lib\n',
        'one.js': 'module.exports = () => 0;\n',
        'test/one.test.js': test(
          'one',
          "  assert.strictEqual(require('../one.js')(), 1);\n  assert.strictEqual(require('../one.js')(), 1);",
        ),
        'slug.js': "module.exports = (a, b) => a + '-' + b;\n",
        'test/slug.test.js': test('slug', "  assert.strictEqual(require('../slug.js')('a', 'b'), 'a-b');"),
        'three.js': 'module.exports = () => 0;\n',
        'package.json': '{ "scripts": { "test": "node --test" } }\n',
      },
      agentYaml: 'agent:\n  type: scripted\n  script: agent.json\n  timeout: 1m',
    });
    writeFileSync(join(workspace, 'agent.json'), JSON.stringify(agent, null, 2));
    appendFileSync(
      join(workspace, 'baton.yaml'),
      'parallel:\n  workers: 2\n  replans: 0\n  taskAttempts: 1\n',
    );
    git(workspace, 'add', '-A');
    git(workspace, 'commit', '-qm', 'parallel judge test setup');

    const result = await runLoop({ workspace });
    const events: readonly RunEvent[] = readEventLog(eventLogPath(workspace, result.runId)).events;

    // The baseline: F2 passes before any worker, F1 and F3 fail.
    const baseline = events.find((event) => event.type === 'baseline.verified');
    expect(
      baseline?.type === 'baseline.verified'
        ? baseline.checks.filter((check) => check.passed).map((check) => check.name)
        : [],
    ).toEqual(['F2']);

    const merged = events.flatMap((event) => (event.type === 'task.merged' ? [event.task] : []));
    expect(merged).toEqual(['t1']);
    const guards = events.flatMap((event) =>
      event.type === 'guard.fired' ? [`${event.task ?? '-'} ${event.guard} ${event.action}`] : [],
    );
    expect(guards).toContain('t2 test-gaming proposed');
    expect(guards).toContain('t3 vacuous-check rejected');
    expect(guards.filter((entry) => entry.startsWith('t1'))).toEqual([]);
    expect(guards).toContain('t4 contract proposed');
    expect(
      result.state.proposals
        .map((proposal) => `${proposal.kind} ${proposal.status} ${proposal.features.join(',')}`)
        .sort(),
    ).toEqual(['behaviour open F2', 'contract open ']);
    expect(merged).not.toContain('t4');
    expect(result.state.passingFeatures).toContain('F1');
    expect(result.state.passingFeatures).not.toContain('F3');
    expect(result.stop.reason).not.toBe('done');
  });
});

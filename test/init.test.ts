import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInit } from '../src/api/init.ts';
import { loadConfig } from '../src/config/load.ts';
import { BatonError } from '../src/errors.ts';
import type { Agent } from '../src/agents/agent.ts';
import { emptyUsage } from '../src/log/usage.ts';
import { createScriptedAgent } from '../src/testing/scripted-agent.ts';
import { readFeatureList } from '../src/workspace/features.ts';
import { git, tempDir } from './helpers.ts';

const goal = 'Build a CSV to JSON converter with streaming and tests.';

describe('baton init', () => {
  it('scaffolds every state file, a valid baton.yaml and a git baseline in an empty folder', async () => {
    const workspace = join(tempDir(), 'new-project');
    const result = await runInit({ workspace, goal });
    expect([...result.written].sort()).toEqual([
      'AGENTS.md',
      'FEATURES.json',
      'IMPLEMENTATION_PLAN.md',
      'PROGRESS.md',
      'SPEC.md',
      'baton.yaml',
      'init.sh',
    ]);
    expect(readFileSync(join(workspace, 'SPEC.md'), 'utf8')).toContain(goal);
    const list = readFeatureList(workspace);
    expect(list.ok && list.list.features.every((entry) => entry.status === 'failing')).toBe(true);
    expect(statSync(join(workspace, 'init.sh')).mode & 0o111).not.toBe(0);
    expect(loadConfig(workspace).goal).toBe(goal);
    expect(git(workspace, 'log', '--format=%s').trim()).toBe(`baton: baseline for "${goal}"`);
    expect(git(workspace, 'status', '--porcelain')).toBe('');
    expect(result.commit).toBe(git(workspace, 'rev-parse', 'HEAD').trim());
    // The harness's own folder is ignored without touching the project's .gitignore.
    expect(readFileSync(join(workspace, '.git/info/exclude'), 'utf8')).toContain('/.baton/');
  });

  it('refuses to initialise twice unless forced, and refuses a dirty repository', async () => {
    const workspace = join(tempDir(), 'p');
    await runInit({ workspace, goal });
    await expect(runInit({ workspace, goal })).rejects.toMatchObject({ code: 'ALREADY_INITIALISED' });
    await runInit({ workspace, goal: 'A new goal', force: true });
    expect(readFileSync(join(workspace, 'SPEC.md'), 'utf8')).toContain('A new goal');

    const other = join(tempDir(), 'q');
    await runInit({ workspace: other, goal });
    writeFileSync(join(other, 'wip.txt'), 'uncommitted\n');
    await expect(runInit({ workspace: other, goal, force: true })).rejects.toMatchObject({
      code: 'DIRTY_TREE',
    });
    expect(readFileSync(join(other, 'wip.txt'), 'utf8')).toBe('uncommitted\n');
  });

  it('sends the initializer back with the reasons when its FEATURES.json is invalid, and forces every status to failing', async () => {
    const scripts = tempDir();
    const valid = {
      version: 1,
      features: [
        {
          id: 'F1',
          title: 'parse a CSV header',
          steps: [],
          verify: 'node --test test/header.test.js',
          status: 'passing',
          evidence: null,
        },
        {
          id: 'F2',
          title: 'stream rows',
          steps: [],
          verify: 'node --test test/stream.test.js',
          status: 'failing',
          evidence: null,
        },
      ],
    };
    const initializer = createScriptedAgent(
      {
        rules: [
          {
            name: 'sloppy first attempt',
            when: { promptExcludes: 'previous attempt was rejected' },
            do: [
              {
                write: {
                  path: 'FEATURES.json',
                  content:
                    '{"version": 1, "features": [{"id": "F1", "title": "parse", "status": "failing"}]}',
                },
              },
            ],
            say: 'wrote the checklist',
          },
          {
            name: 'fixed attempt',
            when: { promptIncludes: 'verify' },
            do: [
              { write: { path: 'FEATURES.json', content: JSON.stringify(valid) } },
              { write: { path: 'SPEC.md', content: '# Spec\n\n## Goal\nCSV to JSON.\n' } },
            ],
            say: 'added verify commands',
          },
        ],
      },
      scripts,
    );
    const workspace = join(tempDir(), 'p');
    const result = await runInit({ workspace, goal, agent: initializer });
    expect(result.initializer?.attempts).toBe(2);
    expect(result.initializer?.rejected[0]?.join(' ')).toContain('features.0.verify');
    expect(readFileSync(join(workspace, '.baton/init/attempt-2/prompt.md'), 'utf8')).toContain(
      'features.0.verify',
    );
    const list = readFeatureList(workspace);
    expect(list.ok && list.list.features.map((entry) => [entry.id, entry.status])).toEqual([
      ['F1', 'failing'],
      ['F2', 'failing'],
    ]);
    expect(git(workspace, 'show', 'HEAD:SPEC.md')).toContain('CSV to JSON.');
    expect(git(workspace, 'status', '--porcelain')).toBe('');
  });

  it('gives up after a bounded number of attempts, says where the evidence is, and deletes nothing', async () => {
    const initializer = createScriptedAgent(
      { rules: [{ do: [{ write: { path: 'FEATURES.json', content: 'not json at all' } }], say: 'done' }] },
      tempDir(),
    );
    const workspace = join(tempDir(), 'p');
    const error = await runInit({ workspace, goal, agent: initializer, maxInitializerAttempts: 2 }).catch(
      (caught: unknown) => caught,
    );
    expect(BatonError.isInstance(error)).toBe(true);
    expect((error as BatonError).code).toBe('INITIALIZER_FAILED');
    expect((error as BatonError).message).toContain('2 attempts');
    expect((error as BatonError).fix).toContain('.baton/init/');
    expect(existsSync(join(workspace, '.baton/init/attempt-2/transcript.log'))).toBe(true);
    expect(readFileSync(join(workspace, 'FEATURES.json'), 'utf8')).toBe('not json at all');
  });

  it('reports an initializer session that failed as a failure, not as the starter list accepted', async () => {
    const initializer: Agent = {
      specificationVersion: 'agent-v1',
      id: 'unreachable-model',
      startSession: (session) => {
        writeFileSync(session.transcriptPath, 'API Error: Connection refused\n');
        return Promise.resolve({
          status: 'failed',
          exitCode: 1,
          durationMs: 1,
          usage: emptyUsage,
          transcriptPath: session.transcriptPath,
          finalMessage: '',
          error: 'agent exited with 1',
        });
      },
    };
    const workspace = join(tempDir(), 'p');
    const error = await runInit({ workspace, goal, agent: initializer, maxInitializerAttempts: 1 }).catch(
      (caught: unknown) => caught,
    );
    expect((error as BatonError).code).toBe('INITIALIZER_FAILED');
    expect((error as BatonError).message).toContain(
      'the initializer session did not finish (agent exited with 1)',
    );
    expect((error as BatonError).message).toContain('Connection refused');
  });
});

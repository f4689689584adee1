import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInit } from '../src/api/init.ts';
import { rollbackTo } from '../src/api/checkpoints.ts';
import { runLoop } from '../src/api/run.ts';
import { loadConfig } from '../src/config/load.ts';
import { BatonError } from '../src/errors.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { checkOutRunBranch, feature, git, tempDir, writeFiles } from './helpers.ts';

const goal = 'Add a CSV parser.';
const secret = 'sk-secret-4f1c9a';

/** A project nobody has put under git yet: source, a secret, installed dependencies, a log. */
const projectFiles = {
  'src/a.js': 'export const a = 1;\n',
  'package.json': '{"name": "p", "scripts": {"test": "node --test"}}\n',
  '.env': `API_KEY=${secret}\n`,
  'config/credentials.json': `{"token": "${secret}"}\n`,
  'node_modules/x/index.js': 'module.exports = 1;\n',
  'debug.log': 'npm ERR! something\n',
};

/** Every file under a folder (outside .git and .baton), path -> bytes, to show nothing was touched. */
function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === '.git' || name === '.baton') continue;
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(root, path), readFileSync(path, 'base64'));
    }
  };
  walk(root);
  return files;
}

function committedFiles(workspace: string): string[] {
  return git(workspace, 'ls-tree', '-r', '--name-only', 'HEAD').trim().split('\n');
}

/** Neither the secret nor a left-out path appears anywhere in the history. */
function expectCleanHistory(workspace: string): void {
  expect(git(workspace, 'log', '-p', '--all')).not.toContain(secret);
  const committed = committedFiles(workspace);
  for (const path of ['.env', 'config/credentials.json', 'debug.log']) expect(committed).not.toContain(path);
  expect(committed.some((path) => path.startsWith('node_modules/'))).toBe(false);
}

describe('baton init and the repository', () => {
  it('refuses a folder of files that is not a repository, with the fix, and changes nothing', async () => {
    const workspace = tempDir();
    writeFiles(workspace, projectFiles);
    const before = snapshot(workspace);
    const error = await runInit({ workspace, goal }).catch((caught: unknown) => caught);
    expect(BatonError.isInstance(error)).toBe(true);
    expect((error as BatonError).code).toBe('NOT_A_REPOSITORY');
    expect((error as BatonError).fix).toContain('git init');
    expect((error as BatonError).fix).toContain('baton init --git-init');
    expect((error as BatonError).fix).toContain('nothing was changed');
    expect(existsSync(join(workspace, '.git'))).toBe(false);
    expect(snapshot(workspace)).toEqual(before);
  });

  it('with gitInit: writes a .gitignore, commits the project without its secrets, dependencies or logs, and leaves them on disk', async () => {
    const workspace = tempDir();
    writeFiles(workspace, projectFiles);
    const before = snapshot(workspace);
    const result = await runInit({ workspace, goal, gitInit: true });
    expect(result.repository).toBe('created-git-init');
    expect(result.gitignoreWritten).toBe(true);
    const gitignore = readFileSync(join(workspace, '.gitignore'), 'utf8').split('\n');
    expect(gitignore).toEqual(expect.arrayContaining(['.env', '*.log', 'node_modules/']));

    const committed = committedFiles(workspace);
    expect(committed).toEqual(
      expect.arrayContaining(['.gitignore', 'src/a.js', 'package.json', 'baton.yaml']),
    );
    expectCleanHistory(workspace);
    // The .gitignore already keeps out .env, node_modules/ and the log; the policy catches the rest.
    expect(result.leftOut).toEqual([{ unit: 'config/credentials.json', reason: 'secret' }]);
    expect(result.committed.count).toBe(committed.length);
    expect(result.committed.sample).toContain('src/a.js');
    for (const [path, bytes] of before) {
      expect(readFileSync(join(workspace, path), 'base64'), path).toBe(bytes);
    }
    expect(git(workspace, 'status', '--porcelain', '--untracked-files=all')).toBe('');

    // The project's test script is the oracle the run needs, and the smoke test.
    expect(result.testCommand).toEqual({
      command: 'npm test',
      source: 'package.json',
      usedFor: ['oracle', 'smoke'],
    });
    const config = loadConfig(workspace);
    expect(config.oracles.map((oracle) => [oracle.name, oracle.command])).toEqual([['tests', 'npm test']]);
    expect(config.done.oracles).toEqual(['tests']);
    expect(readFileSync(join(workspace, 'init.sh'), 'utf8')).toContain('    npm test\n');
  });

  it('in an existing repository: an untracked .env, node_modules/ and log are left out, and a run never commits them', async () => {
    const workspace = tempDir();
    git(workspace, 'init', '-q', '--initial-branch=main');
    writeFiles(workspace, { 'src/a.js': projectFiles['src/a.js'] });
    git(workspace, 'add', '-A');
    git(workspace, 'commit', '-qm', 'project');
    writeFiles(workspace, {
      '.env': projectFiles['.env'],
      'node_modules/x/index.js': projectFiles['node_modules/x/index.js'],
      'debug.log': projectFiles['debug.log'],
    });
    const before = snapshot(workspace);

    const result = await runInit({
      workspace,
      goal,
      features: { version: 1, features: [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')] },
      agentYaml: 'agent:\n  type: command\n  command: ["true"]\n  timeout: 1m',
      oraclesYaml: 'oracles: []',
      smokeCommand: 'true',
    });
    expect(result.repository).toBe('existing');
    expect(result.testCommand).toBeNull();
    expect(result.leftOut).toEqual([
      { unit: '.env', reason: 'secret' },
      { unit: 'debug.log', reason: 'log' },
      { unit: 'node_modules/', reason: 'dependency-folder' },
    ]);
    expect(readFileSync(join(workspace, '.git/info/exclude'), 'utf8')).toContain('/.env\n');
    expectCleanHistory(workspace);
    expect(git(workspace, 'status', '--porcelain', '--untracked-files=all')).toBe('');

    // A token a person drops in before the run does not trip its dirty-tree check, and is never committed.
    writeFiles(workspace, { '.npmrc': `//registry.npmjs.org/:_authToken=${secret}\n` });
    // A person's secret and note left between iterations: the note is theirs to commit, the secret is not.
    let personEdited = false;
    const worker = createFunctionAgent(({ cwd }) => {
      const next = ['a.txt', 'b.txt'].find((file) => !existsSync(join(cwd, file)));
      if (next !== undefined) writeFileSync(join(cwd, next), 'ok\n');
      return next === undefined ? 'nothing left\nCLAIM: DONE' : `created ${next}`;
    });
    const run = await runLoop({
      workspace,
      agent: worker,
      onEvent: (event) => {
        if (event.type === 'iteration.ended' && !personEdited) {
          personEdited = true;
          writeFiles(workspace, { '.env.production': `API_KEY=${secret}\n`, 'notes.txt': 'mine\n' });
        }
      },
    });
    expect(run.state.status).toBe('stopped');
    expect(personEdited).toBe(true);
    checkOutRunBranch(workspace, run.state);
    expect(committedFiles(workspace)).toContain('notes.txt');
    expect(committedFiles(workspace)).not.toContain('.env.production');
    expect(committedFiles(workspace)).not.toContain('.npmrc');
    expectCleanHistory(workspace);
    for (const [path, bytes] of before) {
      expect(readFileSync(join(workspace, path), 'base64'), path).toBe(bytes);
    }
    expect(readFileSync(join(workspace, '.env.production'), 'utf8')).toContain(secret);

    // A forced rollback keeps what it takes off the branch under a backup ref: never the secret.
    writeFiles(workspace, { '.env.local': `API_KEY=${secret}\n`, 'wip.txt': 'mine\n' });
    const rollback = await rollbackTo(workspace, '1', { force: true });
    expect(rollback.uncommitted).toEqual(['wip.txt']);
    expect(readFileSync(join(workspace, '.env.local'), 'utf8')).toContain(secret);
    expectCleanHistory(workspace);
  });

  it('with gitInit keeps a .gitignore the project has, and still leaves out what it does not list', async () => {
    const workspace = tempDir();
    writeFiles(workspace, {
      '.gitignore': 'custom/\n',
      '.env': `API_KEY=${secret}\n`,
      'main.go': 'package main\n',
    });
    const result = await runInit({ workspace, goal, gitInit: true });
    expect(result.gitignoreWritten).toBe(false);
    expect(readFileSync(join(workspace, '.gitignore'), 'utf8')).toBe('custom/\n');
    expect(result.leftOut).toEqual([{ unit: '.env', reason: 'secret' }]);
    expect(committedFiles(workspace)).toEqual(expect.arrayContaining(['.gitignore', 'main.go']));
    expect(git(workspace, 'log', '-p', '--all')).not.toContain(secret);
    expect(result.testCommand).toBeNull();
  });

  it('still initialises an empty folder, creating the repository, and still refuses a dirty repository', async () => {
    const workspace = join(tempDir(), 'new');
    const result = await runInit({ workspace, goal });
    expect(result.repository).toBe('created-empty-folder');
    expect(result.gitignoreWritten).toBe(false);
    expect(result.testCommand).toBeNull();

    writeFileSync(join(workspace, 'wip.js'), 'x\n');
    writeFileSync(join(workspace, '.env'), `API_KEY=${secret}\n`);
    await expect(runInit({ workspace, goal, force: true })).rejects.toMatchObject({
      code: 'DIRTY_TREE',
      message: expect.stringContaining('wip.js') as unknown,
    });
    expect(readFileSync(join(workspace, '.git/info/exclude'), 'utf8')).not.toContain('/.env');
  });
});

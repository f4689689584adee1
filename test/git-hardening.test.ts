import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  boundedUnifiedDiff,
  changedFiles,
  changedPaths,
  commitAll,
  commitPaths,
  diffBetween,
  fileAt,
  gitlinksBetween,
  headCommit,
  indexGitlinks,
  isTruncatedDiff,
  isWorkerContentError,
  nestedRepositoryCandidates,
  resetHard,
  restorePath,
  runGit,
  stagedGitlinks,
  stashAll,
  unifiedDiff,
  untrackedPaths,
  untrustedPopulatedGitlinks,
  updateRef,
  worktreeConfigFiles,
} from '../src/git/git.ts';
import { detectNestedRepositories } from '../src/guards/nested-repository.ts';
import { git, tempDir, writeFiles } from './helpers.ts';

/** A repository with one commit, and a canary path outside it that the attacks try to create. */
function setup(): { root: string; repo: string; canary: string } {
  const root = tempDir('baton-git-hardening-');
  const repo = join(root, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '-q', '--initial-branch=main');
  writeFiles(repo, { 'README.md': '# project\n' });
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'project');
  return { root, repo, canary: join(root, 'canary') };
}

/** A command for git to run that proves it ran by creating the canary. */
function touch(canary: string): string {
  return `touch '${canary}'`;
}

/** Run plain git the naive way (the harness's whole environment, every config file, no flags). */
function plain(cwd: string, ...args: string[]): void {
  try {
    git(cwd, ...args);
  } catch {
    // the attack only needs git to have started; some of these commands also fail
  }
}

/** A nested repository with one commit, whose config carries the worker's program. */
function nestedRepository(
  repo: string,
  name: string,
  config: Record<string, string>,
  files: Record<string, string> = { 'f.txt': 'one\n' },
): void {
  const nested = join(repo, name);
  mkdirSync(nested, { recursive: true });
  git(nested, 'init', '-q');
  writeFiles(nested, files);
  git(nested, 'add', '-A');
  git(nested, 'commit', '-qm', 'nested');
  for (const [key, value] of Object.entries(config)) git(nested, 'config', key, value);
}

async function expectWorkerContent(promise: Promise<unknown>, reason: string): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isWorkerContentError(error), `expected a worker-content error, got ${String(error)}`).toBe(true);
  expect((error as { reason: string }).reason).toBe(reason);
}

function withEnv(name: string, value: string): void {
  const before = process.env[name];
  process.env[name] = value;
  onTestFinished(() => {
    if (before === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = before;
  });
}

describe('fsmonitor in a nested repository', () => {
  it('runs on the host when plain git has recorded it as a gitlink; the harness never enters it', async () => {
    const { repo, canary } = setup();
    nestedRepository(repo, 'vendor', { 'core.fsmonitor': touch(canary) });
    plain(repo, 'add', '--all');
    plain(repo, 'commit', '-qm', 'the worker slipped a gitlink in');
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    writeFileSync(join(repo, 'vendor', 'f.txt'), 'two\n');
    plain(repo, 'status');
    expect(existsSync(canary), 'the attack works with plain git').toBe(true);
    plain(repo, 'stash', 'push', '--include-untracked');
    rmSync(canary);

    writeFileSync(join(repo, 'README.md'), '# changed\n');
    expect(await changedPaths(repo)).toEqual(['README.md']);
    expect(await untrackedPaths(repo)).toEqual([]);
    await expectWorkerContent(stashAll(repo, 'save'), 'embedded-repository');
    expect(await untrustedPopulatedGitlinks(repo)).toEqual(['vendor']);
    // git add checks a populated gitlink by running git inside it: refused before adding.
    await expectWorkerContent(commitAll(repo, 'harness commit'), 'embedded-repository');
    await expectWorkerContent(commitPaths(repo, ['README.md'], 'harness commit'), 'embedded-repository');
    await diffBetween(repo, 'HEAD~1', 'HEAD');
    await unifiedDiff(repo, 'HEAD~1', 'HEAD');
    await changedFiles(repo, 'HEAD~1', 'HEAD');
    await restorePath(repo, 'README.md');
    await resetHard(repo, base);
    await changedPaths(repo);
    expect(existsSync(canary)).toBe(false);
  });

  it('an untracked nested repository is refused before git add, so no gitlink is ever created', async () => {
    const { root, repo, canary } = setup();
    // The naive way, in a copy: add records the gitlink, the next status runs the worker's program.
    const copy = join(root, 'copy');
    git(root, 'clone', '-q', repo, copy);
    nestedRepository(copy, 'vendor', { 'core.fsmonitor': touch(canary) });
    plain(copy, 'add', '--all');
    writeFileSync(join(copy, 'vendor', 'f.txt'), 'two\n');
    plain(copy, 'status');
    expect(existsSync(canary), 'the attack works with plain git').toBe(true);
    rmSync(canary);

    nestedRepository(repo, 'vendor', { 'core.fsmonitor': touch(canary) });
    writeFileSync(join(repo, 'vendor', 'f.txt'), 'two\n');
    expect(await changedPaths(repo)).toEqual(['vendor/']);
    await expectWorkerContent(commitAll(repo, 'harness commit'), 'embedded-repository');
    await expectWorkerContent(commitPaths(repo, ['vendor'], 'harness commit'), 'embedded-repository');
    expect(await indexGitlinks(repo)).toEqual([]);
    expect(await stagedGitlinks(repo)).toEqual([]);
    await changedPaths(repo);
    expect(existsSync(canary)).toBe(false);
  });

  it('a nested repository without a commit is a worker-content refusal, not a crash', async () => {
    const { repo } = setup();
    mkdirSync(join(repo, 'empty'));
    git(join(repo, 'empty'), 'init', '-q');
    writeFileSync(join(repo, 'empty', 'x'), 'x\n');
    expect(() => git(repo, 'add', '--all'), 'plain git add is fatal').toThrow();
    await expectWorkerContent(commitAll(repo, 'harness commit'), 'embedded-repository');
  });
});

describe('a .git file', () => {
  it('pointing elsewhere in the worktree is a nested repository: refused, and its config never read', async () => {
    const { repo, canary } = setup();
    const nested = join(repo, 'lib');
    mkdirSync(nested);
    mkdirSync(join(repo, '.store'));
    git(repo, 'init', '-q', `--separate-git-dir=${join(repo, '.store', 'lib.git')}`, nested);
    writeFiles(nested, { 'f.txt': 'one\n' });
    git(nested, 'add', '-A');
    git(nested, 'commit', '-qm', 'nested');
    git(nested, 'config', 'core.fsmonitor', touch(canary));
    expect(readFileSync(join(nested, '.git'), 'utf8')).toMatch(/^gitdir: /);
    git(repo, 'add', '--all');
    git(repo, 'commit', '-qm', 'plain git recorded it');
    writeFileSync(join(nested, 'f.txt'), 'two\n');
    plain(repo, 'status');
    expect(existsSync(canary), 'the attack works with plain git').toBe(true);
    rmSync(canary);

    await changedPaths(repo);
    await expectWorkerContent(stashAll(repo, 'save'), 'embedded-repository');
    const findings = detectNestedRepositories({
      worktree: repo,
      paths: ['lib/f.txt'],
      gitlinks: await indexGitlinks(repo),
    });
    expect(findings).toEqual([
      { path: 'lib', kind: 'git-file' },
      { path: 'lib', kind: 'gitlink' },
    ]);
    expect(existsSync(canary)).toBe(false);
  });

  it("replacing a linked worktree's own .git file is refused before git starts", async () => {
    const { root, repo, canary } = setup();
    const worktree = join(root, 'task');
    git(repo, 'worktree', 'add', '-q', '--detach', worktree);
    const evil = join(worktree, 'evil');
    git(root, 'init', '-q', '--bare', evil);
    git(evil, 'config', 'core.bare', 'false');
    git(evil, 'config', 'core.fsmonitor', touch(canary));
    writeFileSync(join(worktree, '.git'), 'gitdir: evil\n');
    plain(worktree, 'status');
    expect(existsSync(canary), 'the attack works with plain git').toBe(true);
    rmSync(canary);

    await expectWorkerContent(changedPaths(worktree), 'git-directory-tampered');
    await expectWorkerContent(commitAll(worktree, 'x'), 'git-directory-tampered');
    rmSync(join(worktree, '.git'));
    symlinkSync(evil, join(worktree, '.git'));
    await expectWorkerContent(changedPaths(worktree), 'git-directory-tampered');
    expect(existsSync(canary)).toBe(false);
  });

  it('a worktree whose .git was removed never resolves to the repository above it', async () => {
    const { repo } = setup();
    const inner = join(repo, 'inner');
    writeFiles(repo, { 'inner/file.txt': 'committed\n' });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'inner');
    writeFileSync(join(repo, 'README.md'), "the person's edit\n");
    expect(git(inner, 'rev-parse', '--show-toplevel').trim(), 'plain git climbs to the parent').toBe(repo);

    await expect(resetHard(inner, 'HEAD')).rejects.toMatchObject({ code: 'GIT_FAILED' });
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe("the person's edit\n");
  });
});

describe('hooks', () => {
  it('core.hooksPath into the worktree (husky): the harness runs none of them', async () => {
    const { repo, canary } = setup();
    git(repo, 'config', 'core.hooksPath', '.husky');
    for (const hook of [
      'pre-commit',
      'commit-msg',
      'post-commit',
      'reference-transaction',
      'post-checkout',
      'post-index-change',
    ]) {
      writeFiles(repo, { [`.husky/${hook}`]: `#!/bin/sh\n${touch(canary)}\n` });
      execFileSync('chmod', ['+x', join(repo, '.husky', hook)]);
    }
    plain(repo, 'add', '--all');
    plain(repo, 'commit', '--no-verify', '-qm', 'plain commit');
    expect(existsSync(canary), 'the attack works with plain git (post-commit ignores --no-verify)').toBe(
      true,
    );
    rmSync(canary);

    writeFileSync(join(repo, 'README.md'), '# changed\n');
    const commit = await commitAll(repo, 'harness commit');
    expect(commit).not.toBeNull();
    await updateRef(repo, 'refs/baton/checkpoint', commit ?? 'HEAD');
    writeFileSync(join(repo, 'README.md'), '# again\n');
    await restorePath(repo, 'README.md');
    await resetHard(repo, 'HEAD~1');
    writeFileSync(join(repo, 'README.md'), '# stashed\n');
    await stashAll(repo, 'save');
    expect(existsSync(canary)).toBe(false);
  });
});

describe('drivers', () => {
  it("a nested repository's diff.external, textconv and filter never run", async () => {
    const { repo, canary } = setup();
    nestedRepository(
      repo,
      'vendor',
      {
        'diff.external': touch(canary),
        'diff.conv.textconv': `${touch(canary)}; cat`,
        'filter.evil.clean': `${touch(canary)}; cat`,
        'filter.evil.smudge': `${touch(canary)}; cat`,
      },
      { '.gitattributes': '* filter=evil diff=conv\n', 'f.txt': 'one\n' },
    );
    plain(repo, 'add', '--all');
    plain(repo, 'commit', '-qm', 'gitlink');
    rmSync(canary, { force: true });
    // A newer mtime makes the nested index stale: git re-reads the file through its clean filter.
    writeFileSync(join(repo, 'vendor', 'f.txt'), 'one\n');
    plain(repo, 'status');
    expect(existsSync(canary), 'the attack works with plain git').toBe(true);
    rmSync(canary);

    writeFileSync(join(repo, 'vendor', 'f.txt'), 'one\n'); // stale again for the harness's calls
    writeFileSync(join(repo, 'README.md'), '# changed\n');
    await changedPaths(repo);
    await untrackedPaths(repo);
    await expectWorkerContent(stashAll(repo, 'save'), 'embedded-repository');
    await expectWorkerContent(commitAll(repo, 'harness commit'), 'embedded-repository');
    await diffBetween(repo, 'HEAD~1', 'HEAD');
    await unifiedDiff(repo, 'HEAD~1', 'HEAD');
    await changedFiles(repo, 'HEAD~1', 'HEAD');
    await runGit(repo, ['log', '--stat', '-p', '-2']);
    await resetHard(repo, 'HEAD');
    expect(await gitlinksBetween(repo, 'HEAD~1', 'HEAD')).toEqual(['vendor']);
    expect(existsSync(canary)).toBe(false);
  });

  it('diff.external and textconv from a config file inside the worktree (an include) never run', async () => {
    const { repo, canary } = setup();
    writeFiles(repo, {
      'shared.gitconfig': `[diff]\n\texternal = "${touch(canary)}; true"\n[diff "conv"]\n\ttextconv = "${touch(canary)}; cat"\n`,
      '.gitattributes': '*.txt diff=conv\n',
      'a.txt': 'one\n',
    });
    git(repo, 'config', 'include.path', '../shared.gitconfig');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'one');
    writeFileSync(join(repo, 'a.txt'), 'two\n');
    git(repo, 'commit', '-qam', 'two');
    plain(repo, 'diff', 'HEAD~1', 'HEAD');
    expect(existsSync(canary), 'the attack works with plain git').toBe(true);
    rmSync(canary);

    expect(await diffBetween(repo, 'HEAD~1', 'HEAD')).toContain('+two');
    expect(await unifiedDiff(repo, 'HEAD~1', 'HEAD')).toContain('+two');
    await changedFiles(repo, 'HEAD~1', 'HEAD');
    await runGit(repo, ['show', 'HEAD']);
    await runGit(repo, ['log', '-p', '-2']);
    expect(await fileAt(repo, 'HEAD', 'a.txt')).toBe('two\n');
    expect(existsSync(canary)).toBe(false);
  });
});

describe("the harness's environment", () => {
  it('never reaches anything git spawns, and no GIT_* variable or global config steers git', async () => {
    const { root, repo, canary } = setup();
    const dump = join(root, 'env-dump');
    withEnv('SECRET_API_KEY', 'sk-test-do-not-leak');
    // The person's own filter (in .git/config, which the worker cannot write) is the one program
    // git still runs: it must see no secret.
    git(repo, 'config', 'filter.show.clean', `env > '${dump}'; cat`);
    writeFiles(repo, { '.gitattributes': '*.txt filter=show\n', 'a.txt': 'one\n' });
    plain(repo, 'add', '--all');
    expect(readFileSync(dump, 'utf8'), 'plain git passes the whole environment on').toContain(
      'sk-test-do-not-leak',
    );
    rmSync(dump);
    plain(repo, 'reset', '-q');

    const globalConfig = join(root, 'global.gitconfig');
    writeFileSync(globalConfig, `[baton]\n\tprobe = from global\n[core]\n\tfsmonitor = "${touch(canary)}"\n`);
    withEnv('GIT_CONFIG_GLOBAL', globalConfig);
    withEnv('GIT_EXTERNAL_DIFF', touch(canary));
    withEnv('GIT_DIR', join(root, 'nowhere'));
    await commitAll(repo, 'harness commit');
    const seen = readFileSync(dump, 'utf8');
    expect(seen, 'the filter ran').toContain('PATH=');
    expect(seen).not.toContain('sk-test-do-not-leak');
    expect(seen).not.toContain('SECRET_API_KEY');
    expect(seen).not.toMatch(/^GIT_DIR=/m);
    await diffBetween(repo, 'HEAD~1', 'HEAD');
    await changedPaths(repo);
    expect(existsSync(canary)).toBe(false);
    expect(git(repo, 'config', 'baton.probe').trim(), 'plain git reads the global file').toBe('from global');
    expect((await runGit(repo, ['config', 'baton.probe'], true)).stdout).toBe('');
  });

  it("reads the person's identity from the repository's own config", async () => {
    const { repo } = setup();
    git(repo, 'config', 'user.name', 'A Person');
    git(repo, 'config', 'user.email', 'person@example.com');
    expect((await runGit(repo, ['config', 'user.name'])).stdout.trim()).toBe('A Person');
    expect((await runGit(repo, ['config', 'user.email'])).stdout.trim()).toBe('person@example.com');
  });
});

describe('worker content makes typed errors', () => {
  it('working-tree-encoding in .gitattributes refuses the iteration instead of crashing', async () => {
    const { repo } = setup();
    writeFiles(repo, {
      '.gitattributes': '*.txt working-tree-encoding=UTF-16\n',
      'a.txt': 'no byte order mark\n',
    });
    expect(() => git(repo, 'add', '--all'), 'plain git add is fatal').toThrow();
    await expectWorkerContent(commitAll(repo, 'harness commit'), 'working-tree-encoding');
    writeFiles(repo, { '.gitattributes': '*.txt working-tree-encoding=NO-SUCH-ENCODING\n' });
    await expectWorkerContent(commitAll(repo, 'harness commit'), 'working-tree-encoding');
    expect(await headCommit(repo)).toBe(git(repo, 'rev-parse', 'HEAD').trim());
  });

  it('a listing larger than the cap is refused, never read whole', async () => {
    const { repo } = setup();
    writeFiles(
      repo,
      Object.fromEntries(Array.from({ length: 200 }, (_, index) => [`many/file-${index}.txt`, 'x\n'])),
    );
    await expectWorkerContent(
      runGit(repo, ['ls-files', '--others', '-z'], { maxOutputBytes: 1024 }),
      'output-too-large',
    );
    expect((await untrackedPaths(repo)).length).toBe(200);
  });
});

describe('bounded diffs', () => {
  it('a diff larger than the cap is cut at a line and marked', async () => {
    const { repo } = setup();
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    const line = `${'y'.repeat(99)}\n`;
    writeFiles(repo, { 'big.txt': line.repeat(20_000) }); // 2 MB
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'big');
    const everything = execFileSync('git', ['diff', base, 'HEAD'], {
      cwd: repo,
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(everything.length, 'plain git prints it all').toBeGreaterThan(2_000_000);

    const bounded = await boundedUnifiedDiff(repo, base, 'HEAD', { maxBytes: 64 * 1024 });
    expect(bounded.truncated).toBe(true);
    expect(bounded.text.length).toBeLessThan(64 * 1024 + 200);
    expect(bounded.text).toMatch(/\n\[baton: diff truncated at 65536 bytes[^\n]*\]\n$/);
    expect(isTruncatedDiff(bounded.text)).toBe(true);
    const text = await diffBetween(repo, base, 'HEAD', { maxBytes: 64 * 1024 });
    expect(isTruncatedDiff(text)).toBe(true);
    const whole = await unifiedDiff(repo, base, 'HEAD');
    expect(isTruncatedDiff(whole)).toBe(false);
    expect(whole.length).toBeGreaterThan(2_000_000);
  });

  it('the default cap holds a diff of a file larger than 16 MiB', async () => {
    const { repo } = setup();
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    writeFiles(repo, { 'huge.txt': `${'z'.repeat(1023)}\n`.repeat(17 * 1024) }); // 17 MiB
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'huge');
    const text = await unifiedDiff(repo, base, 'HEAD');
    expect(isTruncatedDiff(text)).toBe(true);
    expect(text.length).toBeLessThanOrEqual(16 * 1024 * 1024 + 200);
  });
});

describe('nested repository detector', () => {
  function tree(): string {
    const root = tempDir('baton-nested-');
    writeFiles(root, {
      'src/app.ts': 'x\n',
      'vendor/.git/HEAD': 'ref: refs/heads/main\n',
      'vendor/lib.js': 'x\n',
      'deep/er/repo/.git/HEAD': 'ref: refs/heads/main\n',
      'deep/er/repo/file': 'x\n',
      'pointer/.git': 'gitdir: ../store\n',
      'pointer/file': 'x\n',
      'real/.git/HEAD': 'ref: refs/heads/main\n',
    });
    mkdirSync(join(root, '.git'));
    mkdirSync(join(root, 'linked'));
    symlinkSync(join(root, 'real', '.git'), join(root, 'linked', '.git'));
    symlinkSync(join(root, 'real'), join(root, 'through-link'));
    return root;
  }

  it('finds .git folders, files and links below the top level, from the paths git reported', () => {
    const root = tree();
    const findings = detectNestedRepositories({
      worktree: root,
      paths: ['src/app.ts', 'vendor/', 'deep/er/repo/', 'pointer/file', 'linked/x', 'README.md'],
    });
    expect(findings).toEqual([
      { path: 'deep/er/repo', kind: 'repository-directory' },
      { path: 'linked', kind: 'git-link' },
      { path: 'pointer', kind: 'git-file' },
      { path: 'vendor', kind: 'repository-directory' },
    ]);
  });

  it('never follows a link, ignores the top level, and reports each folder once', () => {
    const root = tree();
    expect(
      detectNestedRepositories({ worktree: root, paths: ['through-link/x', 'through-link', '.gitignore'] }),
    ).toEqual([]);
    expect(
      detectNestedRepositories({
        worktree: root,
        paths: ['vendor/a', 'vendor/b', 'vendor/', 'vendor/sub/c', 'gone/file'],
      }),
    ).toEqual([{ path: 'vendor', kind: 'repository-directory' }]);
  });

  it('reports gitlinks git listed, and a path git should never report through .git', () => {
    const root = tree();
    expect(
      detectNestedRepositories({
        worktree: root,
        paths: ['pointer/.git'],
        gitlinks: ['third_party/x', 'vendor'],
      }),
    ).toEqual([
      { path: 'pointer', kind: 'git-file' },
      { path: 'third_party/x', kind: 'gitlink' },
      { path: 'vendor', kind: 'gitlink' },
    ]);
  });

  it('reads its paths from one status call that never enters a nested repository', async () => {
    const { repo, canary } = setup();
    nestedRepository(repo, 'tools', { 'core.fsmonitor': touch(canary) });
    git(repo, 'add', '--all');
    git(repo, 'commit', '-qm', 'gitlink (by plain git)');
    nestedRepository(repo, 'vendor', { 'core.fsmonitor': touch(canary) });
    writeFileSync(join(repo, 'tools', 'f.txt'), 'changed\n');
    git(join(repo, 'tools'), 'commit', '-qam', 'moved on');
    rmSync(canary, { force: true });
    writeFiles(repo, { 'src/new file.ts': 'x\n' });
    const candidates = await nestedRepositoryCandidates(repo);
    expect(candidates.untrackedDirectories).toEqual(['vendor']);
    expect(candidates.gitlinks).toEqual(['tools']);
    expect([...candidates.paths].sort()).toEqual(['src/new file.ts', 'tools', 'vendor/']);
    expect(
      detectNestedRepositories({ worktree: repo, paths: candidates.paths, gitlinks: candidates.gitlinks }),
    ).toEqual([
      { path: 'tools', kind: 'gitlink' },
      { path: 'tools', kind: 'repository-directory' },
      { path: 'vendor', kind: 'repository-directory' },
    ]);
    expect(existsSync(canary)).toBe(false);
    renameSync(join(repo, 'vendor'), join(repo, 'moved'));
  });
});

describe('config files in the worktree', () => {
  it('an include of a project file is reported, so the caller can refuse to run', async () => {
    const { repo, canary } = setup();
    writeFiles(repo, {
      'shared.gitconfig': `[filter "evil"]\n\tclean = "${touch(canary)}; cat"\n`,
      '.gitattributes': '*.txt filter=evil\n',
      'a.txt': 'one\n',
    });
    expect(await worktreeConfigFiles(repo)).toEqual([]);
    git(repo, 'config', 'include.path', '../shared.gitconfig');
    plain(repo, 'add', '--all');
    expect(existsSync(canary), 'a driver defined in the worktree runs on git add').toBe(true);
    expect(await worktreeConfigFiles(repo)).toEqual([
      { file: 'shared.gitconfig', keys: ['filter.evil.clean'] },
    ]);
  });
});

describe('remote operations', () => {
  it('still clone, push, fetch and list a bare repository given by path (the distributed mode)', async () => {
    const { root, repo } = setup();
    const bare = join(root, 'shared.git');
    git(root, 'init', '-q', '--bare', bare);
    await runGit(repo, ['push', '--quiet', bare, 'HEAD:refs/heads/baton/integration']);
    expect((await runGit(repo, ['ls-remote', '--heads', bare])).stdout).toContain(
      'refs/heads/baton/integration',
    );
    const clone = join(root, 'clone');
    mkdirSync(clone);
    await runGit(clone, ['clone', '--quiet', '--no-checkout', bare, '.']);
    await runGit(clone, ['fetch', '--quiet', bare, '+refs/heads/baton/integration:refs/remotes/baton/x']);
    expect(await headCommit(repo)).toBe(
      (await runGit(clone, ['rev-parse', 'refs/remotes/baton/x'])).stdout.trim(),
    );
  });
});

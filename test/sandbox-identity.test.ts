import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.ts';
import { BatonError } from '../src/errors.ts';
import { detectBwrap, foldersToMake } from '../src/sandbox/bwrap.ts';
import { decideIdentity } from '../src/sandbox/effective-identity.ts';
import { grantTreeToGroup, maxGrantDepth } from '../src/sandbox/grant.ts';
import { firstFreeId, resolveSandboxIdentity, sandboxIdentityFor } from '../src/sandbox/identity.ts';
import { createSandbox } from '../src/sandbox/sandbox.ts';
import { writeFileAtomic } from '../src/util/atomic-write.ts';
import { tempDir } from './helpers.ts';

/**
 * Who sandboxed processes are on the host (issue 14, "sandbox identity"): as root, a uid of their own,
 * given write access to the trees they work in through a group, never through a link.
 */

function commitAll(workspace: string, message: string): void {
  execFileSync('git', ['-C', workspace, 'add', '.']);
  execFileSync('git', [
    '-C',
    workspace,
    '-c',
    'user.name=p',
    '-c',
    'user.email=p@x',
    'commit',
    '-qm',
    message,
  ]);
}

/** The refusal `action` throws: its message and its fix. */
function thrown(action: () => unknown): { message: string; fix: string } {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(BatonError);
    const refusal = error as BatonError;
    return { message: refusal.message, fix: refusal.fix ?? '' };
  }
  throw new Error('expected a refusal');
}

describe('choosing the sandbox identity (pure parts)', () => {
  it('the first free id skips accounts, groups and subordinate ranges', () => {
    expect(firstFreeId(10, new Set([10, 11]), [])).toBe(12);
    expect(firstFreeId(10, new Set(), [{ start: 5, count: 10 }])).toBe(15);
    expect(firstFreeId(10, new Set([15]), [{ start: 5, count: 10 }])).toBe(16);
  });

  it('an unprivileged harness and sandbox.user: root keep the harness uid; root gets a uid of its own', () => {
    expect(resolveSandboxIdentity('auto', 1000)).toBeUndefined();
    expect(resolveSandboxIdentity('root', 0)).toBeUndefined();
    expect(resolveSandboxIdentity(0, 0)).toBeUndefined();
    expect(resolveSandboxIdentity(4242, 0)).toMatchObject({ uid: 4242, gid: 4242 });
    const auto = resolveSandboxIdentity('auto', 0);
    expect(auto?.uid).toBeGreaterThan(0);
    const passwd = readFileSync('/etc/passwd', 'utf8');
    expect(passwd.split('\n').map((line) => line.split(':')[2])).not.toContain(String(auto?.uid));
  });

  it('where bwrap cannot switch to that uid (no setpriv, a user-namespaced container), auto keeps the sandbox at uid 0 and says so; a named account is refused', () => {
    const wanted = { uid: 2_000_000_000, gid: 2_000_000_000, label: 'uid 2000000000 (auto)' };
    const cannotSwitch = (identity?: typeof wanted) =>
      identity === undefined
        ? { works: true, detail: 'bwrap works', fix: undefined }
        : { works: false, detail: 'setpriv: setresuid failed: Invalid argument', fix: 'install util-linux' };
    const auto = decideIdentity('auto', wanted, true, cannotSwitch);
    expect(auto.identity).toBeUndefined();
    expect(auto.warning).toMatch(
      /could not run the sandbox as uid 2000000000 \(auto\) here \(setpriv: setresuid failed/,
    );
    expect(auto.warning).toMatch(
      /can read root-only host files \(\/etc\/shadow, other repositories\); fix: install util-linux/,
    );
    const named = thrown(() => decideIdentity('builder', wanted, true, cannotSwitch));
    expect(named.message).toMatch(/sandbox.user: builder cannot be used here: setpriv/);
    expect(named.fix).toBe('install util-linux');
    // It can switch: the uid of its own, no warning. No bwrap at all: not this decision's to say.
    const works = () => ({ works: true, detail: 'bwrap works', fix: undefined });
    expect(decideIdentity('auto', wanted, true, works)).toEqual({ identity: wanted, warning: undefined });
    const none = () => ({ works: false, detail: 'bwrap is not installed', fix: 'install bubblewrap' });
    expect(decideIdentity('auto', wanted, true, none).identity).toBe(wanted);
    // Root inside on purpose (root, 0, an account with uid 0) is said as root; an unprivileged harness is not warned.
    expect(decideIdentity(0, undefined, true, works).warning).toMatch(
      /^sandbox.user: 0: workers and checks run as uid 0/,
    );
    expect(decideIdentity('auto', undefined, false, works).warning).toBeUndefined();
  });

  it('an account whose group others share (nobody: nogroup) is refused: the worktree is shared through that group', () => {
    const passwd = readFileSync('/etc/passwd', 'utf8');
    const nobody = /^nobody:[^:]*:\d+:(\d+):/m.exec(passwd)?.[1];
    const sharing = passwd.split('\n').filter((line) => line.split(':')[3] === nobody).length;
    if (nobody === undefined || sharing < 2) return; // this machine's nobody has a group of its own
    const refusal = thrown(() => resolveSandboxIdentity('nobody', 0));
    expect(refusal.message).toMatch(
      new RegExp(`would share the worktree through group ${nobody}, which .* also belong`),
    );
    expect(refusal.fix).toContain('useradd --system --user-group baton-sandbox');
    expect(
      thrown(() => resolveSandboxIdentity(Number(/^nobody:[^:]*:(\d+):/m.exec(passwd)?.[1]), 0)).message,
    ).toMatch(/would share the worktree/);
  });

  it('an account name that does not exist is refused with the fix', () => {
    const refusal = thrown(() => resolveSandboxIdentity('no-such-account-here', 0));
    expect(refusal.message).toMatch(/not an account on this machine/);
    expect(refusal.fix).toMatch(/useradd --system no-such-account-here/);
  });

  it('bwrap makes walkable folders only between a hidden folder and what is bound in it', () => {
    expect(foldersToMake('/tmp/a/b/ws', ['/tmp', '/root'])).toEqual(['/tmp/a', '/tmp/a/b']);
    expect(foldersToMake('/tmp/ws', ['/tmp'])).toEqual([]);
    expect(foldersToMake('/work/ws', ['/tmp'])).toEqual([]);
  });
});

const asRoot = process.getuid?.() === 0;
const gid = 2_000_000_123;

describe.runIf(asRoot)('granting a tree to the sandbox group (as root)', () => {
  it('gives folders and regular files the group and group write, setgid folders, and leaves .git, .baton and link targets alone', () => {
    const root = tempDir('baton-grant-');
    const outside = tempDir('baton-grant-outside-');
    writeFileSync(join(outside, 'host.txt'), 'host\n', { mode: 0o600 });
    mkdirSync(join(outside, 'folder'));
    writeFileSync(join(outside, 'folder', 'inner.txt'), 'inner\n', { mode: 0o644 });
    const before = (path: string) => {
      const stats = lstatSync(path);
      return `${stats.uid}:${stats.gid}:${(stats.mode & 0o7777).toString(8)}`;
    };
    const hostBefore = [
      join(outside, 'host.txt'),
      join(outside, 'folder'),
      join(outside, 'folder', 'inner.txt'),
    ].map(before);
    mkdirSync(join(root, 'src', 'deep'), { recursive: true });
    writeFileSync(join(root, 'src', 'deep', 'a.js'), 'a\n', { mode: 0o644 });
    writeFileSync(join(root, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    mkdirSync(join(root, '.git'));
    writeFileSync(join(root, '.git', 'config'), '', { mode: 0o644 });
    mkdirSync(join(root, '.baton'));
    symlinkSync(join(outside, 'host.txt'), join(root, 'link-to-host'));
    symlinkSync(join(outside, 'folder'), join(root, 'link-to-folder'));
    execFileSync('mkfifo', [join(root, 'fifo')]);
    // A file a worker made setuid and setgid: with the sandbox's group it must not keep either bit.
    writeFileSync(join(root, 'escalate'), '#!/bin/sh\n');
    chmodSync(join(root, 'escalate'), 0o6755);

    const result = grantTreeToGroup(root, gid);
    expect(statSync(join(root, 'escalate')).mode & 0o7777).toBe(0o775);
    expect(result.changed).toBeGreaterThanOrEqual(5);
    const file = statSync(join(root, 'src', 'deep', 'a.js'));
    expect(file.gid).toBe(gid);
    expect(file.mode & 0o7777).toBe(0o664);
    expect(statSync(join(root, 'run.sh')).mode & 0o7777).toBe(0o775);
    for (const folder of [root, join(root, 'src'), join(root, 'src', 'deep')]) {
      const stats = statSync(folder);
      expect(stats.gid).toBe(gid);
      expect(stats.mode & 0o2070).toBe(0o2070);
    }
    expect(statSync(join(root, '.git')).gid).toBe(0);
    expect(statSync(join(root, '.git', 'config')).gid).toBe(0);
    expect(statSync(join(root, '.baton')).gid).toBe(0);
    expect(lstatSync(join(root, 'fifo')).gid).toBe(0);
    // Nothing behind a link changed: the links were never followed.
    expect(
      [join(outside, 'host.txt'), join(outside, 'folder'), join(outside, 'folder', 'inner.txt')].map(before),
    ).toEqual(hostBefore);
    // A second pass finds nothing to do.
    expect(grantTreeToGroup(root, gid).changed).toBe(0);
  });

  it('the walk stops at a depth no real tree reaches: a worker nesting folders thousands deep cannot exhaust its descriptors', () => {
    const root = tempDir('baton-grant-deep-');
    const levels = (count: number) => Array.from({ length: count }, () => 'd').join('/');
    mkdirSync(join(root, levels(maxGrantDepth + 50)), { recursive: true });
    writeFileSync(join(root, levels(5), 'shallow.txt'), 'x\n', { mode: 0o644 });
    writeFileSync(join(root, levels(maxGrantDepth + 50), 'deep.txt'), 'x\n', { mode: 0o644 });
    grantTreeToGroup(root, gid);
    expect(statSync(join(root, levels(5), 'shallow.txt')).gid).toBe(gid);
    expect(statSync(join(root, levels(maxGrantDepth + 50), 'deep.txt')).gid).toBe(0);
  });

  it('a state file the harness renames into a granted folder takes the group, group-writable', () => {
    const root = tempDir('baton-grant-write-');
    grantTreeToGroup(root, gid);
    writeFileAtomic(root, 'PROGRESS.md', '# progress\n');
    const stats = statSync(join(root, 'PROGRESS.md'));
    expect(stats.gid).toBe(gid);
    expect(stats.mode & 0o060).toBe(0o060);
  });
});

/** A git command as the harness runs it: a child of this process (its umask). */
function runGitAsHarness(cwd: string, args: string[]): void {
  execFileSync('git', ['-C', cwd, ...args]);
}

function defaultSettings() {
  return configSchema.parse({ version: 1 }).sandbox;
}

describe.runIf(asRoot && detectBwrap(sandboxIdentityFor(defaultSettings())).works)(
  'the default sandbox as root: a uid of its own that can still do its work',
  () => {
    const run = (
      sandbox: ReturnType<typeof createSandbox>['sandbox'],
      workspace: string,
      script: string,
      writable?: string[],
    ) => {
      const wrapped = sandbox.wrap({
        command: ['sh', '-c', script],
        env: process.env,
        workspace,
        ...(writable === undefined ? {} : { writable }),
      });
      try {
        const result = spawnSync(wrapped.command[0] ?? 'false', wrapped.command.slice(1), {
          env: wrapped.env,
          encoding: 'utf8',
        });
        return { status: result.status, output: `${result.stdout}${result.stderr}` };
      } finally {
        wrapped.release();
      }
    };

    it('edits tracked files, files the harness checks out later and files a person adds between sessions; its own git works; host root-only files stay closed', () => {
      const workspace = tempDir('baton-identity-');
      execFileSync('git', ['init', '-q', '-b', 'main', workspace]);
      writeFileSync(join(workspace, 'tracked.txt'), 'v1\n');
      commitAll(workspace, 'one');
      const { sandbox } = createSandbox(workspace, defaultSettings());
      const session = mkdtempSync('/tmp/baton-identity-session-');
      writeFileSync(join(session, 'prompt.md'), 'do it\n', { mode: 0o600 });
      const first = run(
        sandbox,
        workspace,
        `id -u; cat ${session}/prompt.md; echo made > ${session}/handoff.md; echo v2 > tracked.txt; mkdir -p lib && echo x > lib/new.js; git status --short; cat /etc/shadow`,
        [session],
      );
      expect(first.output).not.toMatch(/^0$/m);
      expect(first.output).toMatch(/M tracked.txt/);
      expect(first.output).toContain('do it');
      expect(readFileSync(join(session, 'handoff.md'), 'utf8')).toBe('made\n');
      expect(first.output).toMatch(/shadow: Permission denied/);
      expect(readFileSync(join(workspace, 'tracked.txt'), 'utf8')).toBe('v2\n');
      // The harness (root) puts a file back as git does, and a person adds one, between sessions.
      execFileSync('git', ['-C', workspace, 'checkout', '--', 'tracked.txt']);
      writeFileSync(join(workspace, 'from-person.txt'), 'person\n', { mode: 0o644 });
      const second = run(
        sandbox,
        workspace,
        'echo v3 > tracked.txt && echo more >> from-person.txt && echo ok',
        [session],
      );
      expect(second.status).toBe(0);
      expect(second.output).not.toMatch(/Permission denied/);
      expect(readFileSync(join(workspace, 'tracked.txt'), 'utf8')).toBe('v3\n');
      expect(readFileSync(join(workspace, 'from-person.txt'), 'utf8')).toBe('person\nmore\n');
      // A check's wrap reuses the grant: what the harness's git writes after it (a folder a commit adds,
      // its files) must still be writable by the group (umask 002 in setgid folders).
      execFileSync('git', ['-C', workspace, 'stash', '-q', '-u']);
      execFileSync('git', ['-C', workspace, 'checkout', '-q', '-b', 'more']);
      mkdirSync(join(workspace, 'added', 'inner'), { recursive: true });
      writeFileSync(join(workspace, 'added', 'inner', 'file.txt'), 'one\n');
      commitAll(workspace, 'two');
      execFileSync('git', ['-C', workspace, 'checkout', '-q', 'main']);
      expect(run(sandbox, workspace, 'true').status).toBe(0);
      runGitAsHarness(workspace, ['checkout', '-q', 'more']);
      const check = run(
        sandbox,
        workspace,
        'echo two >> added/inner/file.txt && echo out > added/inner/cache.txt && echo ok',
      );
      expect(check.output).toContain('ok');
      expect(check.status).toBe(0);
      execFileSync('git', ['-C', workspace, 'checkout', '-q', '-f', 'main']);
      execFileSync('git', ['-C', workspace, 'stash', 'pop', '-q']);
      // Root's own git still works on it, and sees the worker's files.
      expect(execFileSync('git', ['-C', workspace, 'status', '--porcelain'], { encoding: 'utf8' })).toMatch(
        /lib\//,
      );
      rmSync(session, { recursive: true, force: true });
    });

    it('a workspace the sandbox uid could not enter is refused with the fix, not a cryptic bwrap error', () => {
      const closed = mkdtempSync('/srv/baton-closed-');
      try {
        chmodSync(closed, 0o700);
        const workspace = join(closed, 'ws');
        mkdirSync(workspace);
        const { sandbox } = createSandbox(workspace, defaultSettings());
        const refusal = thrown(() => sandbox.wrap({ command: ['true'], env: process.env }));
        expect(refusal.message).toMatch(/cannot enter .*baton-closed-\w+ \(mode 700\)/);
        expect(refusal.fix).toMatch(/chmod o\+x .*baton-closed-/);
      } finally {
        rmSync(closed, { recursive: true, force: true });
      }
    });

    it("a session whose agent script the sandbox uid cannot read is refused with the fix; a check's own denied read is the check's", () => {
      const workspace = tempDir('baton-identity-');
      execFileSync('git', ['init', '-q', '-b', 'main', workspace]);
      const session = mkdtempSync('/tmp/baton-identity-session-');
      const closed = mkdtempSync('/srv/baton-agent-');
      try {
        const script = join(closed, 'agent.sh');
        writeFileSync(script, 'echo agent\n', { mode: 0o644 });
        const { sandbox } = createSandbox(workspace, defaultSettings());
        for (const command of [['bash', script], `bash ${script} --flag`]) {
          const refusal = thrown(() =>
            sandbox.wrap({ command, env: process.env, workspace, writable: [session] }),
          );
          expect(refusal.message).toMatch(
            /cannot enter .*baton-agent-\w+ \(mode 700\) on the way to .*agent\.sh/,
          );
          expect(refusal.fix).toMatch(/chmod o\+x .*baton-agent-/);
        }
        chmodSync(closed, 0o755);
        chmodSync(script, 0o600);
        const unreadable = thrown(() =>
          sandbox.wrap({ command: ['bash', script], env: process.env, workspace, writable: [session] }),
        );
        expect(unreadable.message).toMatch(/cannot read .*agent\.sh \(mode 600\)/);
        expect(unreadable.fix).toMatch(/chmod o\+r .*agent\.sh/);
        chmodSync(script, 0o644);
        expect(run(sandbox, workspace, `bash ${script}`, [session]).output).toContain('agent');
        // A check reading a root-only file is the project's business: denied inside, not refused.
        const check = run(sandbox, workspace, 'cat /etc/shadow');
        expect(check.output).toMatch(/Permission denied/);
      } finally {
        rmSync(closed, { recursive: true, force: true });
        rmSync(session, { recursive: true, force: true });
      }
    });

    it('a workspace reached through a link (~/repo -> /data/repo) works; a session handed /dev/stderr is not refused', () => {
      const real = tempDir('baton-identity-real-');
      execFileSync('git', ['init', '-q', '-b', 'main', real]);
      const link = join(tempDir('baton-identity-link-'), 'repo');
      symlinkSync(real, link);
      const session = mkdtempSync('/tmp/baton-identity-session-');
      try {
        const { sandbox } = createSandbox(link, defaultSettings());
        const made = run(sandbox, link, 'echo x > made.txt && echo ok', [session]);
        expect(made.output).toContain('ok');
        expect(readFileSync(join(real, 'made.txt'), 'utf8')).toBe('x\n');
        const wrapped = sandbox.wrap({
          command: ['sh', '-c', 'echo to-stderr > "$0"', '/dev/stderr'],
          env: process.env,
          workspace: link,
          writable: [session],
        });
        wrapped.release();
      } finally {
        rmSync(session, { recursive: true, force: true });
      }
    });

    it('an agent script in a closed folder under a hidden one is refused when that place is bound (sandbox.readOnly), not when it is not visible', () => {
      const workspace = tempDir('baton-identity-');
      execFileSync('git', ['init', '-q', '-b', 'main', workspace]);
      const session = mkdtempSync('/tmp/baton-identity-session-');
      // /tmp is hidden; a folder the person binds there keeps its own permissions inside.
      const shared = mkdtempSync('/tmp/baton-identity-tools-');
      chmodSync(shared, 0o755);
      const closed = mkdtempSync(join(shared, 'closed-'));
      const script = join(closed, 'agent.sh');
      writeFileSync(script, 'echo agent\n', { mode: 0o644 });
      try {
        const bound = createSandbox(workspace, { ...defaultSettings(), readOnly: [shared] }).sandbox;
        const refusal = thrown(() =>
          bound.wrap({ command: ['bash', script], env: process.env, workspace, writable: [session] }),
        );
        expect(refusal.message).toMatch(/cannot enter .*closed-\w+ \(mode 700\) on the way to .*agent\.sh/);
        // Not bound: the sandbox does not see the script at all, which is not this check's to say.
        const unbound = createSandbox(workspace, defaultSettings()).sandbox;
        expect(run(unbound, workspace, `test -e ${script} || echo unseen`, [session]).output).toContain(
          'unseen',
        );
      } finally {
        rmSync(shared, { recursive: true, force: true });
        rmSync(session, { recursive: true, force: true });
      }
    });
  },
);

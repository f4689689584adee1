import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { harnessIdentity, runGit, type GitIdentity } from './run-git.ts';

const run = promisify(execFile);

/**
 * The person's git identity, read the way their own `git commit` would find it: GIT_AUTHOR_* in the
 * harness's environment first, then the repository's config, their global and the system config.
 * Reading config runs no program (no hook, no driver is involved in `git config --get`), and these files
 * are the person's: the sandbox never lets a worker write .git/config or anything in the home folder.
 * Null when none is set: the caller then commits under baton's identity and says so.
 */
export async function personIdentity(
  workspace: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<GitIdentity | null> {
  const name = env.GIT_AUTHOR_NAME ?? (await configValue(workspace, 'user.name', env));
  const email = env.GIT_AUTHOR_EMAIL ?? (await configValue(workspace, 'user.email', env));
  if (name === null || email === null || name.trim() === '' || email.trim() === '') return null;
  return { name: name.trim(), email: email.trim() };
}

async function configValue(workspace: string, key: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  try {
    const { stdout } = await run('git', ['-C', workspace, 'config', '--get', key], {
      env: pick(env, [
        'HOME',
        'XDG_CONFIG_HOME',
        'PATH',
        'GIT_CONFIG_GLOBAL',
        'GIT_CONFIG_SYSTEM',
        'GIT_CONFIG_NOSYSTEM',
      ]),
      timeout: 10_000,
      maxBuffer: 64 * 1024,
    });
    const value = stdout.trim();
    return value === '' ? null : value;
  } catch {
    return null; // unset (git exits 1) or unreadable
  }
}

function pick(env: NodeJS.ProcessEnv, names: readonly string[]): NodeJS.ProcessEnv {
  const picked: NodeJS.ProcessEnv = { LC_ALL: 'C' };
  for (const name of names) if (env[name] !== undefined) picked[name] = env[name];
  return picked;
}

/** Whether a commit's author is baton itself (its own records, and a worker's work). */
export function isHarnessAuthor(email: string): boolean {
  return email === harnessIdentity.GIT_AUTHOR_EMAIL;
}

export interface AuthoredCommit {
  readonly commit: string;
  readonly subject: string;
  /** `Name <email>`. */
  readonly author: string;
  /** Made by a person (not baton's own record, not a worker's work). */
  readonly person: boolean;
}

/**
 * The commits `from..tip`, newest first, each marked a person's or baton's. A commit is baton's when
 * baton authored it or it carries an iteration's or a task's trailer (iteration commits are by the
 * person's identity, so the author alone does not tell); a person's changes baton committed between
 * iterations carry no trailer: they are the person's.
 */
export async function commitsBetween(cwd: string, from: string, tip = 'HEAD'): Promise<AuthoredCommit[]> {
  const listed = await runGit(cwd, [
    'log',
    '--format=%H%x00%an <%ae>%x00%ae%x00%s%x00%(trailers:key=Baton-Run,key=Baton-Task,valueonly,separator=%x20)',
    `${from}..${tip}`,
  ]);
  return listed.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [commit = '', author = '', email = '', subject = '', trailer = ''] = line.split('\0');
      return { commit, author, subject, person: !isHarnessAuthor(email) && trailer.trim() === '' };
    });
}

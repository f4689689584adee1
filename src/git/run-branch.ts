import { BatonError, exitCodes } from '../errors.ts';
import { runGit } from './run-git.ts';

/**
 * The branch a run commits to. By default a run works on a branch of its own made from the current
 * HEAD, so the branch a person was on (and its history, tags and `git describe`) is never moved by a
 * run; the person's branch is checked out again when the run stops.
 */

/** The branch HEAD names (`main`), or null on a detached HEAD. */
export async function currentBranch(cwd: string): Promise<string | null> {
  const result = await runGit(cwd, ['symbolic-ref', '--quiet', '--short', 'HEAD'], true);
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

export function defaultRunBranch(runId: string): string {
  return `baton/${runId}`;
}

export async function branchExists(cwd: string, name: string): Promise<boolean> {
  const result = await runGit(cwd, ['rev-parse', '--verify', '--quiet', `refs/heads/${name}`], true);
  return result.exitCode === 0;
}

/**
 * Make `name` from HEAD and put HEAD on it. Nothing in the tree changes (same commit), so a person's
 * untracked files are untouched. Refuses a name git would not take or one that exists.
 */
export async function startRunBranch(cwd: string, name: string): Promise<void> {
  const valid = await runGit(cwd, ['check-ref-format', '--branch', name], true);
  if (valid.exitCode !== 0 || name.startsWith('-')) {
    throw new BatonError(`"${name}" is not a branch name git accepts`, {
      code: 'BRANCH_INVALID',
      fix: 'choose another name with `baton run --branch <name>` (e.g. baton/my-feature); nothing was changed',
      exitCode: exitCodes.usage,
    });
  }
  if (await branchExists(cwd, name)) {
    throw new BatonError(`the branch ${name} exists already`, {
      code: 'BRANCH_EXISTS',
      fix: `choose another name with \`baton run --branch <name>\`, or delete it (\`git branch -D ${name}\`) if it is no longer needed; nothing was changed`,
      exitCode: exitCodes.usage,
    });
  }
  // Create-only: the all-zero old value makes update-ref fail if the branch appeared meanwhile.
  await runGit(cwd, ['update-ref', `refs/heads/${name}`, 'HEAD', '0'.repeat(40)]);
  await runGit(cwd, ['symbolic-ref', 'HEAD', `refs/heads/${name}`]);
}

export type SwitchResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Check out an existing branch, as `git switch` does: a person's uncommitted changes are carried over
 * when they do not conflict, and git refuses (changing nothing) when they would be overwritten.
 */
export async function switchBranch(cwd: string, name: string): Promise<SwitchResult> {
  if (!(await branchExists(cwd, name))) return { ok: false, reason: `the branch ${name} no longer exists` };
  const result = await runGit(cwd, ['switch', '--quiet', '--no-guess', name], true);
  if (result.exitCode === 0) return { ok: true };
  return { ok: false, reason: result.stderr.trim().split('\n').slice(0, 6).join(' ') };
}

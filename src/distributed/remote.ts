import { BatonError, exitCodes } from '../errors.ts';
import { runGit } from '../git/git.ts';

/** The branch on the shared remote that carries the integration tip the tasks start from. */
export function remoteIntegrationRef(runId: string): string {
  return `refs/heads/baton-tasks/${runId}/integration`;
}

/** The branch on the shared remote where an attempt's work is pushed. */
export function remoteAttemptRef(runId: string, task: string, attempt: number): string {
  return `refs/heads/baton-tasks/${runId}/task/${task}/${attempt}`;
}

/** The shared git remote answers (a bare repository path, or any URL git can fetch and push). */
export async function checkRemote(cwd: string, remote: string): Promise<void> {
  const result = await runGit(cwd, ['ls-remote', '--heads', remote], true);
  if (result.exitCode !== 0) {
    throw new BatonError(
      `cannot reach the git remote ${remote}: ${result.stderr.trim().split('\n').at(-1) ?? ''}`,
      {
        code: 'GIT_REMOTE_UNREACHABLE',
        fix: 'pass a repository both the coordinator and the workers can fetch and push (e.g. a bare one: git init --bare /shared/project.git), and check its address and credentials',
        exitCode: exitCodes.usage,
      },
    );
  }
}

/** Publish a commit as the integration tip workers fetch. */
export async function pushIntegration(
  cwd: string,
  remote: string,
  runId: string,
  commit: string,
): Promise<void> {
  await runGit(cwd, ['push', '--quiet', '--force', remote, `${commit}:${remoteIntegrationRef(runId)}`]);
}

/** Bring an attempt's pushed work into a local branch; false when the remote has no such branch. */
export async function fetchAttempt(
  cwd: string,
  remote: string,
  remoteRef: string,
  localBranch: string,
): Promise<boolean> {
  const result = await runGit(
    cwd,
    ['fetch', '--quiet', remote, `+${remoteRef}:refs/heads/${localBranch}`],
    true,
  );
  return result.exitCode === 0;
}

import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatonError, exitCodes } from '../errors.ts';
import { applyLeaveOut, planUntracked } from '../core/leave-out.ts';
import {
  changedFiles,
  changedPaths,
  commitAll,
  headCommit,
  initRepository,
  isGitRepository,
  isTopLevel,
  listTree,
  type GitIdentity,
} from '../git/git.ts';
import { readInside } from '../util/safe-io.ts';
import type { LeftOut } from '../workspace/baseline-policy.ts';
import { detectTestCommand, type DetectedTestCommand } from '../workspace/detect-test-command.ts';
import { gitignoreTemplate } from '../workspace/gitignore-template.ts';
import { detectEcosystems, type ProjectFiles } from '../workspace/project-files.ts';

/** How init found the repository: it was there, or init created it (an empty folder, or --git-init). */
export type RepositoryOrigin = 'existing' | 'created-empty-folder' | 'created-git-init';

export interface PreparedRepository {
  readonly origin: RepositoryOrigin;
  /** `--git-init` wrote a .gitignore (the folder had none). */
  readonly gitignoreWritten: boolean;
}

/**
 * Make sure the workspace is a repository init may commit to, changing nothing when it refuses: a
 * folder that is not one gets `git init` only when it is empty or the person asked (`gitInit`), since a
 * project's files committed by surprise (secrets, dependencies) are hard to take back.
 */
export async function prepareRepository(workspace: string, gitInit: boolean): Promise<PreparedRepository> {
  if ((await isGitRepository(workspace)) && (await isTopLevel(workspace))) {
    await refuseDirtyRepository(workspace);
    return { origin: 'existing', gitignoreWritten: false };
  }
  const empty = !existsSync(workspace) || readdirSync(workspace).length === 0;
  if (!empty && !gitInit) {
    throw new BatonError(
      `${workspace} is not a git repository (or not its top level), and it is not empty: baton init commits a baseline and will not turn a folder of files into a repository unasked`,
      {
        code: 'NOT_A_REPOSITORY',
        fix: 'run `git init` there yourself (and commit what you want kept), or run `baton init --git-init` to let baton do it: it writes a .gitignore if there is none and leaves secrets, dependency folders and logs out of the baseline; nothing was changed',
        exitCode: exitCodes.usage,
      },
    );
  }
  mkdirSync(workspace, { recursive: true });
  let gitignoreWritten = false;
  if (gitInit && !existsSync(join(workspace, '.gitignore'))) {
    writeFileSync(
      join(workspace, '.gitignore'),
      gitignoreTemplate(detectEcosystems(diskProjectFiles(workspace))),
    );
    gitignoreWritten = true;
  }
  await initRepository(workspace);
  return { origin: gitInit ? 'created-git-init' : 'created-empty-folder', gitignoreWritten };
}

/**
 * A repository with history must be clean, so the baseline holds only what baton writes; files the
 * policy leaves out (an untracked .env) do not count: they will not be committed.
 */
async function refuseDirtyRepository(workspace: string): Promise<void> {
  if ((await headCommit(workspace)) === null) return;
  const dirty = [
    ...(await changedPaths(workspace, { untracked: false })),
    ...(await planUntracked(workspace)).commit,
  ];
  if (dirty.length === 0) return;
  throw new BatonError(
    `${workspace} has uncommitted changes (${dirty.slice(0, 5).join(', ')}${dirty.length > 5 ? ', …' : ''})`,
    {
      code: 'DIRTY_TREE',
      fix: 'commit or stash them first (git stash -u), so the baseline commit holds only what baton writes',
      exitCode: exitCodes.usage,
    },
  );
}

export interface BaselineCommit {
  readonly commit: string;
  /** Files the baseline commit added or changed. */
  readonly committed: { readonly count: number; readonly sample: readonly string[] };
  /** Untracked files and folders left on disk, out of the commit, ignored in .git/info/exclude. */
  readonly leftOut: readonly LeftOut[];
}

/** Commit everything but what the baseline policy leaves out; the sample names the project's files before baton's own. */
export async function commitBaseline(
  workspace: string,
  message: string,
  ownFiles: readonly string[],
  identity?: GitIdentity,
): Promise<BaselineCommit> {
  const before = await headCommit(workspace);
  const plan = await planUntracked(workspace);
  await applyLeaveOut(workspace, plan);
  const commit = (await commitAll(workspace, message, identity)) ?? before;
  if (commit === null) throw new Error('the baseline commit was not created');
  const committed =
    before === null
      ? [...(await listTree(workspace, commit)).keys()]
      : (await changedFiles(workspace, before, commit)).map((file) => file.path);
  return {
    commit,
    committed: {
      count: committed.length,
      sample: [
        ...committed.filter((path) => !ownFiles.includes(path)),
        ...committed.filter((path) => ownFiles.includes(path)),
      ].slice(0, 5),
    },
    leftOut: plan.leaveOut,
  };
}

/** The project's test command, read from its manifests (no link followed, each read bounded). */
export function detectProjectTestCommand(workspace: string): DetectedTestCommand | undefined {
  return detectTestCommand(diskProjectFiles(workspace));
}

function diskProjectFiles(workspace: string): ProjectFiles {
  return {
    read: (path) => {
      try {
        return readInside(workspace, path, { maxBytes: 256 * 1024 })?.text;
      } catch {
        return undefined;
      }
    },
    list: (folder) => {
      try {
        return readdirSync(join(workspace, folder));
      } catch {
        return [];
      }
    },
  };
}

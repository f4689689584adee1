import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { gitCommonDir, runGit } from './git.ts';

/**
 * The project's own git hooks. The harness runs every git command with hooks off (a hook is a program
 * the worktree may have chosen: `core.hooksPath` often points into it, e.g. `.husky/`), so the hooks a
 * person's commit would run are run by the harness itself, in the sandbox, as checks.
 */
export const checkedHooks = ['pre-commit', 'commit-msg'] as const;

export type HookName = (typeof checkedHooks)[number];

export interface ProjectHook {
  readonly name: HookName;
  /** Path to run, relative to the workspace when the hook is inside it, else absolute. */
  readonly path: string;
}

/**
 * The hooks folder as the person's repository config names it (`core.hooksPath`, relative to the top
 * of the worktree), else `hooks` in the git folder. Only the repository's own config file is read:
 * command-line settings (the harness's hooks-off) and global config do not count.
 */
async function hooksFolder(workspace: string): Promise<string> {
  const common = await gitCommonDir(workspace);
  const configured = await runGit(
    workspace,
    ['config', '--file', join(common, 'config'), '--get', 'core.hooksPath'],
    true,
  );
  const value = configured.exitCode === 0 ? configured.stdout.trim() : '';
  if (value === '') return join(common, 'hooks');
  return isAbsolute(value) ? value : resolve(workspace, value);
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The project's pre-commit and commit-msg hooks that git would run (executable files), in that order. */
export async function projectHooks(workspace: string): Promise<ProjectHook[]> {
  const folder = await hooksFolder(workspace);
  const hooks: ProjectHook[] = [];
  for (const name of checkedHooks) {
    const path = join(folder, name);
    if (!isExecutableFile(path)) continue;
    const inside = relative(workspace, path);
    hooks.push({
      name,
      path: inside !== '' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside) ? inside : path,
    });
  }
  return hooks;
}

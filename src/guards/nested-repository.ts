import { lstatSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/**
 * Nested repositories as a decision. A repository the worker makes inside the worktree carries its own
 * config (fsmonitor, filters, hooks): once git records it as a gitlink, the harness's next status or
 * stash runs git inside it, on the host. A `.git` file is the same thing with its folder elsewhere.
 * This guard looks, without following any link, at the folders of every path git reported, and at the
 * gitlinks git listed, and returns what a guard should refuse. It must run before any `git add`.
 */

export type NestedRepositoryKind =
  /** a `.git` folder below the top level */
  | 'repository-directory'
  /** a `.git` file (`gitdir: ...`) below the top level */
  | 'git-file'
  /** a `.git` that is a symbolic link, or anything else that is neither file nor folder */
  | 'git-link'
  /** an index or commit entry of mode 160000 */
  | 'gitlink';

export interface NestedRepositoryFinding {
  /** Relative to the worktree, `/`-separated, no trailing slash; for `.git` kinds, the folder holding it. */
  readonly path: string;
  readonly kind: NestedRepositoryKind;
}

export interface NestedRepositorySnapshot {
  readonly worktree: string;
  /**
   * Paths git reported as changed, staged, deleted or untracked (porcelain lists an untracked nested
   * repository as `vendor/`). Their folders are examined, and a reported folder itself.
   */
  readonly paths: readonly string[];
  /** Paths git listed with mode 160000 (in the index, or between two commits). */
  readonly gitlinks?: readonly string[];
}

/** The filesystem access of the guard, injectable so the decision can be tested on a fake tree. */
export type LinkStat = (path: string) => Stats | undefined;

const lstatOrUndefined: LinkStat = (path) => {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
};

function kindOf(stats: Stats): NestedRepositoryKind {
  if (stats.isDirectory()) return 'repository-directory';
  if (stats.isFile()) return 'git-file';
  return 'git-link';
}

function components(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

export function detectNestedRepositories(
  snapshot: NestedRepositorySnapshot,
  stat: LinkStat = lstatOrUndefined,
): NestedRepositoryFinding[] {
  const findings = new Map<string, NestedRepositoryFinding>();
  const add = (finding: NestedRepositoryFinding): void => {
    findings.set(`${finding.kind}\0${finding.path}`, finding);
  };
  // Each folder is examined once, however many reported paths lie below it.
  const examined = new Map<string, boolean>();

  /** Looks at `folder/.git`; false when the folder is not a real folder (missing, link, file). */
  const examine = (folder: string): boolean => {
    const known = examined.get(folder);
    if (known !== undefined) return known;
    const stats = stat(join(snapshot.worktree, folder));
    // A link is recorded by git as a link, never entered: nothing below it is git's to find.
    const isFolder = stats?.isDirectory() === true;
    examined.set(folder, isFolder);
    if (isFolder) {
      const entry = stat(join(snapshot.worktree, folder, '.git'));
      if (entry !== undefined) add({ path: folder, kind: kindOf(entry) });
    }
    return isFolder;
  };

  for (const reported of snapshot.paths) {
    const parts = components(reported);
    // The top level's own .git is the repository itself; every folder below it is examined, the
    // reported path included (it may be a folder, e.g. `vendor/`).
    for (let depth = 1; depth <= parts.length; depth += 1) {
      const name = parts[depth - 1];
      const folder = parts.slice(0, depth).join('/');
      if (name === '.git') {
        // git never reports a path through .git; if something does, the entry itself is the finding.
        const stats = stat(join(snapshot.worktree, folder));
        if (stats !== undefined) add({ path: parts.slice(0, depth - 1).join('/'), kind: kindOf(stats) });
        break;
      }
      if (!examine(folder)) break;
    }
  }
  for (const gitlink of snapshot.gitlinks ?? []) {
    add({ path: components(gitlink).join('/'), kind: 'gitlink' });
  }
  return [...findings.values()].sort((left, right) =>
    left.path === right.path ? left.kind.localeCompare(right.kind) : left.path < right.path ? -1 : 1,
  );
}

/** One sentence per finding, for the refusal's reason. */
export function describeNestedRepository(finding: NestedRepositoryFinding): string {
  switch (finding.kind) {
    case 'repository-directory':
      return `${finding.path}/.git is a nested git repository`;
    case 'git-file':
      return `${finding.path}/.git is a gitdir file (a repository kept elsewhere)`;
    case 'git-link':
      return `${finding.path}/.git is a link or special file`;
    case 'gitlink':
      return `${finding.path} is recorded as a gitlink (a submodule commit)`;
  }
}

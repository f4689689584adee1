import { BatonError } from '../errors.ts';

/**
 * A git failure the worker's files caused: the loop refuses the iteration with this reason instead of
 * ending the run. Reasons are values; they become sentences only where they are shown.
 */
export type WorkerContentReason =
  | 'working-tree-encoding'
  | 'embedded-repository'
  | 'file-too-large'
  | 'invalid-path'
  | 'unreadable-file'
  | 'filter-failed'
  | 'output-too-large'
  | 'git-directory-tampered'
  | 'unindexable';

export const workerContentCode = 'GIT_WORKER_CONTENT';

export class GitWorkerContentError extends BatonError {
  readonly reason: WorkerContentReason;
  /** The worktree path git named, when it named one (worker-chosen: quote it, never trust it). */
  readonly path: string | undefined;

  constructor(reason: WorkerContentReason, message: string, path?: string) {
    super(message, {
      code: workerContentCode,
      fix: 'refuse this iteration and reset the worktree; the worker left files git cannot or must not record',
    });
    this.name = 'GitWorkerContentError';
    this.reason = reason;
    this.path = path;
  }
}

/** Works across duplicated copies of the package, like BatonError.isInstance. */
export function isWorkerContentError(value: unknown): value is GitWorkerContentError {
  return BatonError.isInstance(value) && value.code === workerContentCode && 'reason' in value;
}

interface Pattern {
  readonly reason: WorkerContentReason;
  readonly test: RegExp;
}

// git runs with LC_ALL=C, so its messages are the English ones matched here.
const patterns: readonly Pattern[] = [
  {
    reason: 'working-tree-encoding',
    test: /working-tree-encoding|failed to encode|BOM is (?:required|prohibited)/,
  },
  {
    reason: 'embedded-repository',
    test: /does not have a commit checked out|embedded git repository|is in submodule|in unpopulated submodule/,
  },
  { reason: 'file-too-large', test: /file too large|out of memory|exceeds maximum|cannot allocate memory/i },
  {
    reason: 'invalid-path',
    test: /invalid path|beyond a symbolic link|filename too long|will not add file alias|illegal byte sequence|not a valid (?:file|path)name/i,
  },
  { reason: 'filter-failed', test: /(?:clean|smudge|external) filter .* failed|filter-process/ },
  {
    reason: 'unreadable-file',
    test: /unable to (?:index|stat|read|hash)|short read|can only add regular files|permission denied|error: open\(/i,
  },
];

/** Subcommands that read the worktree's files: their failures can be the worker's doing. */
const worktreeReaders = new Set([
  'add',
  'status',
  'stash',
  'commit',
  'diff',
  'checkout',
  'reset',
  'rm',
  'ls-files',
  'clean',
  'update-index',
]);

/** Harness-side failures that only look like content errors (a lock, a missing repository). */
const harnessSide = /index\.lock|not a git repository|unable to create '.*\.lock'/;

/**
 * The reason a failed git call is the worker's doing, or null when it is not (a harness or
 * repository problem that should surface as GIT_FAILED).
 */
export function classifyGitFailure(subcommand: string, stderr: string): WorkerContentReason | null {
  if (!worktreeReaders.has(subcommand) || harnessSide.test(stderr)) return null;
  for (const pattern of patterns) if (pattern.test.test(stderr)) return pattern.reason;
  // `git add` on the harness's own index fails for nothing but the files it was asked to add.
  if (subcommand === 'add') return 'unindexable';
  return null;
}

/** The first path git quoted in a message, if any. */
export function quotedPath(stderr: string): string | undefined {
  return /'([^'\n]{1,4096})'/.exec(stderr)?.[1];
}

/** Worker-chosen names end up in git's messages: no control characters, bounded length. */
export function sanitizeMessage(text: string, maxChars = 2000): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?').trim();
  return clean.length > maxChars ? `${clean.slice(0, maxChars)}…` : clean;
}

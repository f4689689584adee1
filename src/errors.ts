/**
 * One base error for everything baton reports to a caller. It carries what the caller needs to act:
 * a stable code, a fix hint a person can follow, and whether retrying the same call can help.
 */
const marker = Symbol.for('baton.error');

export interface BatonErrorOptions {
  readonly code: string;
  readonly fix?: string;
  readonly isRetryable?: boolean;
  readonly cause?: unknown;
  /** Suggested process exit code when this error ends a CLI command. */
  readonly exitCode?: number;
}

export class BatonError extends Error {
  readonly [marker] = true;
  readonly code: string;
  readonly fix: string | undefined;
  readonly isRetryable: boolean;
  readonly exitCode: number;

  constructor(message: string, options: BatonErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BatonError';
    this.code = options.code;
    this.fix = options.fix;
    this.isRetryable = options.isRetryable ?? false;
    this.exitCode = options.exitCode ?? 1;
  }

  /** Works across duplicated copies of the package, unlike instanceof. */
  static isInstance(value: unknown): value is BatonError {
    return typeof value === 'object' && value !== null && marker in value;
  }
}

/** Exit codes of `baton run` and friends: each stop reason has its own. */
export const exitCodes = {
  done: 0,
  error: 1,
  usage: 2,
  budget: 3,
  noProgress: 4,
  stopped: 5,
} as const;

export function configError(message: string, fix: string): BatonError {
  return new BatonError(message, { code: 'CONFIG_INVALID', fix, exitCode: exitCodes.usage });
}

export function describeError(error: unknown): string {
  if (BatonError.isInstance(error)) {
    return error.fix === undefined ? error.message : `${error.message}\n  fix: ${error.fix}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Errors that ended a run and are in its `run.stopped` event (message and fix), by identity. */
const recordedStops = new WeakSet<object>();

/** The run's log has this error as its stop: a reader that showed the stop need not show it again. */
export function markStopRecorded(error: unknown): void {
  if (typeof error === 'object' && error !== null) recordedStops.add(error);
}

export function isStopRecorded(error: unknown): boolean {
  return typeof error === 'object' && error !== null && recordedStops.has(error);
}

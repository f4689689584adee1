import { spawn } from 'node:child_process';
import { CappedFile, type OutputCap } from './capped-file.ts';
import { ioLimits } from './limits.ts';
import { waitForGroupExit } from './process-group.ts';

export interface RunProcessOptions {
  /** A shell command line (run by /bin/sh -c) or an argv array (run directly). */
  readonly command: string | readonly string[];
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Written to the child's stdin, which is then closed. Without it stdin is closed at once. */
  readonly stdin?: string;
  /**
   * Both stdout and stderr are appended here as they arrive (evidence), never through a link, and capped
   * at `outputCap` (head and tail kept, the cut marked).
   */
  readonly outputFile?: string;
  /** How much of the output the file keeps; a check output's cap unless given. */
  readonly outputCap?: OutputCap;
  /** How much of the combined output to keep in memory (the tail). */
  readonly keepOutputChars?: number;
  /** Time between SIGTERM and SIGKILL of the process group when the command must end. */
  readonly killGraceMs?: number;
  /** Called with the pid as soon as the child is started (recorded so a later harness can reap it). */
  readonly onStart?: (pid: number) => void;
  /** Called with each chunk of stdout as it arrives (stream parsers). */
  readonly onStdout?: (text: string) => void;
  /** End the process group when it has printed nothing for this long (a hung stream). */
  readonly idleTimeoutMs?: number;
  /**
   * Ends the process group without counting as an abort: the caller has what it needs (an agent that
   * printed its final event and then lingers).
   */
  readonly finish?: AbortSignal;
}

export interface ProcessResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** It printed nothing for idleTimeoutMs and was ended. */
  readonly idle: boolean;
  readonly aborted: boolean;
  readonly durationMs: number;
  /** The last `keepOutputChars` characters of stdout and stderr interleaved. */
  readonly output: string;
  /** The last `keepOutputChars` characters of stdout alone. */
  readonly stdout: string;
  readonly spawnError: string | undefined;
}

const defaultKeepChars = 64 * 1024;
const checkOutputCap: OutputCap = {
  headBytes: ioLimits.checkOutputHeadBytes,
  tailBytes: ioLimits.checkOutputTailBytes,
};

function appendBounded(buffer: string, chunk: string, max: number): string {
  const joined = buffer + chunk;
  return joined.length > max ? joined.slice(joined.length - max) : joined;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we want.
  }
}

/**
 * Run a child in its own process group. On timeout or abort the whole group gets SIGTERM, then SIGKILL
 * after a grace period; after a normal exit the group is killed too, so that nothing the command left
 * running in the background outlives it.
 */
export function runProcess(options: RunProcessOptions): Promise<ProcessResult> {
  const started = performance.now();
  const keep = options.keepOutputChars ?? defaultKeepChars;
  const grace = options.killGraceMs ?? 2_000;
  const [file, args] =
    typeof options.command === 'string'
      ? ['/bin/sh', ['-c', options.command]]
      : [options.command[0] ?? '', options.command.slice(1)];

  return new Promise((resolve) => {
    let output = '';
    let stdout = '';
    let timedOut = false;
    let idle = false;
    let aborted = false;
    let settled = false;
    const sink =
      options.outputFile === undefined
        ? undefined
        : CappedFile.open(options.outputFile, options.outputCap ?? checkOutputCap);

    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid !== undefined) options.onStart?.(pid);

    let killTimer: NodeJS.Timeout | undefined;
    const terminate = (): void => {
      if (pid === undefined) return;
      killGroup(pid, 'SIGTERM');
      killTimer ??= setTimeout(() => {
        killGroup(pid, 'SIGKILL');
      }, grace);
    };
    const timeoutTimer =
      options.timeoutMs !== undefined && options.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            terminate();
          }, options.timeoutMs)
        : undefined;
    const onAbort = (): void => {
      aborted = true;
      terminate();
    };
    if (options.signal?.aborted === true) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    options.finish?.addEventListener('abort', terminate, { once: true });
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = (): void => {
      if (options.idleTimeoutMs === undefined) return;
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        idle = true;
        terminate();
      }, options.idleTimeoutMs);
    };
    armIdle();

    const onData = (isStdout: boolean) => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = appendBounded(output, text, keep);
      if (isStdout) {
        stdout = appendBounded(stdout, text, keep);
        options.onStdout?.(text);
      }
      try {
        sink?.write(chunk);
      } catch {
        // A full disk ends the evidence, not the run: the in-memory tail still has the end.
      }
      armIdle();
    };
    child.stdout.on('data', onData(true));
    child.stderr.on('data', onData(false));
    child.stdin.on('error', () => {
      // The child may exit without reading its stdin (EPIPE); that is its right.
    });
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else child.stdin.end();

    const finish = (exitCode: number | null, signal: string | null, spawnError?: string): void => {
      if (settled) return;
      settled = true;
      if (timeoutTimer !== undefined) clearTimeout(timeoutTimer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      options.signal?.removeEventListener('abort', onAbort);
      options.finish?.removeEventListener('abort', terminate);
      // Kill whatever the command left behind in its group, and wait until it is really gone, so
      // that nothing it started can still write to the workspace once we return.
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
      const groupGone = pid === undefined ? Promise.resolve(true) : waitForGroupExit(pid);
      const result: ProcessResult = {
        exitCode,
        signal,
        timedOut,
        idle,
        aborted,
        durationMs: performance.now() - started,
        output,
        stdout,
        spawnError,
      };
      void groupGone.then(() => {
        sink?.close();
        resolve(result);
      });
    };

    child.on('error', (error) => {
      finish(null, null, error.message);
    });
    child.on('exit', (code, signal) => {
      // Give the pipes a moment to drain; a background grandchild holding them open must not block us.
      const drain = setTimeout(() => {
        finish(code, signal);
      }, 200);
      child.once('close', () => {
        clearTimeout(drain);
        finish(code, signal);
      });
    });
  });
}

export function processSucceeded(result: ProcessResult): boolean {
  return (
    result.exitCode === 0 &&
    !result.timedOut &&
    !result.idle &&
    !result.aborted &&
    result.spawnError === undefined
  );
}

export function describeProcessEnd(result: ProcessResult): string {
  if (result.spawnError !== undefined) return `could not start: ${result.spawnError}`;
  if (result.timedOut) return 'timed out (process group killed)';
  if (result.idle) return 'printed nothing for too long (process group killed)';
  if (result.aborted) return 'aborted';
  if (result.signal !== null) return `killed by ${result.signal}`;
  return `exit ${result.exitCode ?? '?'}`;
}

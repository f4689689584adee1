import { isAbsolute, join, relative, sep } from 'node:path';
import type { CommandLine } from '../config/resolve.ts';
import { noSandbox, type Sandbox } from '../sandbox/sandbox.ts';
import type { CheckResult } from '../log/events.ts';
import { ioLimits } from '../util/limits.ts';
import { describeProcessEnd, processSucceeded, runProcess } from '../util/run-process.ts';
import { describeUnsafeReason, readInside, readRegularFile, UnsafeFileError } from '../util/safe-io.ts';
import { sanitizeText } from '../util/text.ts';

export interface CheckSpec {
  readonly name: string;
  readonly kind: CheckResult['kind'];
  readonly command: CommandLine;
  readonly timeoutMs: number;
}

export interface CheckContext {
  /** The main workspace: output paths are recorded relative to it. */
  readonly workspace: string;
  /** Where the check runs, when not the workspace itself (a merge candidate's worktree). */
  readonly cwd?: string;
  readonly outputDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  /** Checks run the worker's code: they run in the worker's sandbox too. */
  readonly sandbox?: Sandbox;
}

export function displayCommand(command: CommandLine): string {
  return typeof command === 'string' ? command : command.join(' ');
}

function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Run one check (smoke, feature verify or oracle) in the workspace; its output is saved as evidence. */
export async function runCheck(spec: CheckSpec, context: CheckContext): Promise<CheckResult> {
  const outputFile = join(context.outputDir, `${spec.kind}-${safeFileName(spec.name)}.log`);
  const cwd = context.cwd ?? context.workspace;
  const wrapped = (context.sandbox ?? noSandbox).wrap({
    command: spec.command,
    env: context.env,
    workspace: cwd,
  });
  const result = await runProcess({
    command: wrapped.command,
    cwd,
    env: wrapped.env,
    timeoutMs: spec.timeoutMs,
    signal: context.signal,
    outputFile,
    outputCap: { headBytes: ioLimits.checkOutputHeadBytes, tailBytes: ioLimits.checkOutputTailBytes },
    keepOutputChars: 4_096,
  });
  wrapped.release();
  return {
    name: spec.name,
    kind: spec.kind,
    command: displayCommand(spec.command),
    passed: processSucceeded(result),
    exitCode: result.exitCode,
    ended: describeProcessEnd(result),
    durationMs: Math.round(result.durationMs),
    outputPath: relative(context.workspace, outputFile),
  };
}

/**
 * The last `maxBytes` of a saved output, read without loading the whole file, without following a link
 * and only from a regular file; sanitised, since it goes into prompts and messages.
 */
export function readOutputTail(workspace: string, outputPath: string, maxBytes = 4_096): string {
  try {
    // Outputs normally live under the workspace's .baton; one kept elsewhere is in a harness folder.
    const outside = isAbsolute(outputPath) || outputPath === '..' || outputPath.startsWith(`..${sep}`);
    const content = outside
      ? readRegularFile(join(workspace, outputPath), { maxBytes, fromEnd: true })
      : readInside(workspace, outputPath, { maxBytes, fromEnd: true });
    return content === undefined ? '' : sanitizeText(content.bytes);
  } catch (error) {
    if (!UnsafeFileError.isUnsafeFile(error)) throw error;
    return `(baton did not read this output: it ${describeUnsafeReason(error.reason)})`;
  }
}

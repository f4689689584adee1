import { isAbsolute, join, relative, sep } from 'node:path';
import type { CommandLine } from '../config/resolve.ts';
import type { CheckResult } from '../log/events.ts';
import { ioLimits } from '../util/limits.ts';
import { describeProcessEnd, processSucceeded, runProcess } from '../util/run-process.ts';
import { describeUnsafeReason, readInside, readRegularFile, UnsafeFileError } from '../util/safe-io.ts';
import { sanitizeText } from '../util/text.ts';

import { defineCheck, type CheckContext, type CheckSpecBase } from './define-check.ts';
import { projectEnv } from './project-path.ts';

/** A command whose exit status is the verdict: a feature's verify, an oracle, the smoke test. */
export interface CommandCheckSpec extends CheckSpecBase {
  readonly type: 'command';
  readonly command: CommandLine;
}

export function displayCommand(command: CommandLine): string {
  return typeof command === 'string' ? command : command.join(' ');
}

function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Run one command check in the workspace, in the context's sandbox; its output is saved as evidence. */
async function runCommandCheck(spec: CommandCheckSpec, context: CheckContext): Promise<CheckResult> {
  const outputFile = join(context.outputDir, `${spec.kind}-${safeFileName(spec.name)}.log`);
  const cwd = context.cwd ?? context.workspace;
  // The project's commands run on the project's toolchain, not on baton's own Node (project-path.ts).
  const wrapped = context.sandbox.wrap({
    command: spec.command,
    env: projectEnv(context.env),
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

export const commandCheck = defineCheck<CommandCheckSpec>({ type: 'command', run: runCommandCheck });

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

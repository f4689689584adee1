import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { BatonError } from '../errors.ts';

/** The first word of a command line: the program a shell runs (quotes around it removed). */
export function firstWord(command: string | readonly string[]): string | undefined {
  if (typeof command !== 'string') return command[0];
  return command
    .trim()
    .split(/\s+/)[0]
    ?.replace(/^['"]|['"]$/g, '');
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Where the host has `program`: itself when it names a path, else the first match on PATH. */
export function findOnHost(program: string, path = process.env.PATH): string | undefined {
  if (program.includes('/')) return isExecutableFile(program) ? program : undefined;
  return (path ?? '')
    .split(delimiter)
    .filter((folder) => folder !== '')
    .map((folder) => join(folder, program))
    .find((candidate) => isExecutableFile(candidate));
}

/**
 * A session whose program could not be started inside the sandbox (exit 127). When the host has it, the
 * sandbox hides it (a home or temp folder): the fix is a `sandbox.readOnly` line, not an install.
 */
export function agentMissingError(program: string, detail: string): BatonError {
  const onHost = findOnHost(program);
  if (onHost !== undefined) {
    return new BatonError(
      `the agent program ${onHost} is on the host but not inside the sandbox (${detail})`,
      {
        code: 'AGENT_MISSING',
        fix: `add its folder to sandbox.readOnly in baton.yaml (readOnly: [${JSON.stringify(dirname(onHost))}]), or install it outside the home and temp folders; \`baton doctor\` checks it`,
      },
    );
  }
  return new BatonError(`the agent command was not found: ${detail}`, {
    code: 'AGENT_MISSING',
    fix: 'install the agent program or correct agent.command (agent.binary for an agent CLI) in baton.yaml; `baton doctor` checks it',
  });
}

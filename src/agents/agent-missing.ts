import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { BatonError } from '../errors.ts';

/** Shell words that are not a program on PATH: the line's program is then not the first word. */
const shellWords = new Set([
  'cd',
  'exec',
  'env',
  'eval',
  'export',
  'set',
  'source',
  '.',
  'if',
  'for',
  'while',
  'case',
  '(',
  '{',
  '!',
  'time',
  'nohup',
  'sudo',
]);

/**
 * The program a command starts: an argv's first element, or a shell line's first word after any
 * `NAME=value` assignments (quotes around it removed); undefined when the line starts with a shell word
 * (`cd tools && ./run.sh`), where only running it says what it starts.
 */
export function firstWord(command: string | readonly string[]): string | undefined {
  if (typeof command !== 'string') return command[0];
  const words = command.trim().split(/\s+/);
  const word = words.find((entry) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(entry))?.replace(/^['"]|['"]$/g, '');
  return word === undefined || word === '' || shellWords.has(word) ? undefined : word;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Where the host has `program`: itself when it names a path (a relative one from `cwd`, where the
 * session starts), else the first match on PATH.
 */
export function findOnHost(
  program: string,
  path = process.env.PATH,
  cwd = process.cwd(),
): string | undefined {
  if (program.includes('/')) {
    const full = resolve(cwd, program);
    return isExecutableFile(full) ? full : undefined;
  }
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
export function agentMissingError(program: string, detail: string, cwd?: string): BatonError {
  const onHost = findOnHost(program, process.env.PATH, cwd);
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

import type { CommandLine } from '../config/resolve.ts';

/** A command line as the argv a process is started with: a string is a shell command line. */
export function commandArgv(command: CommandLine): string[] {
  return typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
}

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The system packages the suite runs for real, by the program each one brings. */
const needed: readonly { readonly program: string; readonly pkg: string }[] = [
  { program: 'git', pkg: 'git' },
  { program: 'bwrap', pkg: 'bubblewrap' },
  { program: 'prlimit', pkg: 'util-linux' },
  { program: 'redis-server', pkg: 'redis-server' },
  { program: '/usr/bin/chromium', pkg: 'chromium' },
];

function found(program: string): boolean {
  const candidates = program.startsWith('/')
    ? [program]
    : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, program));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Before any test: a machine without one of the real parts fails the run at once, naming the packages
 * and the command that installs them, instead of skipping tests or failing them one by one with ENOENT.
 */
export default function checkMachine(): void {
  const missing = needed.filter((entry) => !found(entry.program)).map((entry) => entry.pkg);
  if (missing.length === 0) return;
  throw new Error(
    `the tests run real ${missing.join(', ')}, missing on this machine: run ./scripts/test.sh (it installs them through apt as root or with sudo), or \`sudo apt-get install -y ${missing.join(' ')}\``,
  );
}

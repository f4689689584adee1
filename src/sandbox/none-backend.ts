import { commandArgv } from './command-argv.ts';
import { defineSandboxBackend } from './define-backend.ts';
import type { Sandbox } from './sandbox.ts';

/**
 * No isolation: the command runs as given, with the environment given. Only ever an explicit choice
 * (`sandbox.backend: none`, or `auto` on a machine where no isolating backend works, with a warning);
 * nothing in baton falls back to it silently.
 */
export const noSandbox: Sandbox = {
  backend: 'none',
  network: 'host',
  wrap: (request) => ({ command: commandArgv(request.command), env: request.env, release: () => undefined }),
  close: () => Promise.resolve(),
};

export const noneBackend = defineSandboxBackend({
  name: 'none',
  isolates: false,
  available: () => ({ works: true, detail: 'running a command needs nothing', fix: undefined }),
  create: () => noSandbox,
});

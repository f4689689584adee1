import { sandboxBackendNames, type SandboxBackendName } from '../config/sandbox-settings.ts';
import { BatonError, exitCodes } from '../errors.ts';
import { bwrapBackend } from './bwrap-backend.ts';
import type { SandboxBackend } from './define-backend.ts';
import { noneBackend } from './none-backend.ts';

/**
 * Every sandbox backend, by the name baton.yaml gives it. The record's type requires one backend per
 * name in `sandboxBackendNames`, so a name added there without a backend (or the reverse) does not
 * compile. Order matters for `auto`: the first isolating backend that works here is taken.
 */
export const sandboxBackends: { readonly [Name in SandboxBackendName]: SandboxBackend<Name> } = {
  bwrap: bwrapBackend,
  none: noneBackend,
};

/** The backend of this name; a name baton does not know is a usage error that lists the ones it does. */
export function sandboxBackend(name: string): SandboxBackend {
  const backend = (sandboxBackends as Readonly<Record<string, SandboxBackend | undefined>>)[name];
  if (backend === undefined) {
    throw new BatonError(`baton has no sandbox backend "${name}"`, {
      code: 'SANDBOX_UNKNOWN',
      fix: `set sandbox.backend in baton.yaml to auto or one of: ${sandboxBackendNames.join(', ')}`,
      exitCode: exitCodes.usage,
    });
  }
  return backend;
}

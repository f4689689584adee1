import { describe, it } from 'vitest';
import { sandboxBackends } from '../src/sandbox/backends.ts';
import { defaultLimits } from '../src/sandbox/policy.ts';
import type { SandboxSettings } from '../src/sandbox/sandbox.ts';
import { describeSandboxContract } from '../src/testing/index.ts';

/**
 * The sandbox contract (src/testing/contracts/sandbox-contract.ts) against every backend of the
 * registry that works on this machine (bwrap is installed here, so both run); none is checked only for
 * what it promises, since it confines nothing.
 */
const settings: SandboxSettings = {
  backend: 'auto',
  network: 'none',
  allow: [],
  passEnv: [],
  readOnly: [],
  user: 'auto',
  limits: defaultLimits,
};

for (const backend of Object.values(sandboxBackends)) {
  if (!backend.available(settings).works) continue;
  describeSandboxContract(
    backend.name,
    (workspace) => backend.create({ workspace, settings, proxy: undefined }),
    { describe, it, confines: backend.isolates },
  );
}

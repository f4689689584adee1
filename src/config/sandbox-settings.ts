import type { Config } from './resolve.ts';

/**
 * The resolved `sandbox:` section of baton.yaml: what the sandbox backends are given. Its schema is
 * fragments/sandbox.ts; sandbox/ imports these types from here, and config/ never imports sandbox/.
 */
export type SandboxSettings = Config['sandbox'];

/** Processes, file size in bytes, CPU seconds, memory in bytes, open files. */
export type SandboxLimits = SandboxSettings['limits'];

export { sandboxBackendNames, type SandboxBackendName } from './fragments/sandbox.ts';

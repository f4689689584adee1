/**
 * The sandbox backends baton has, named once: baton.yaml's `sandbox.backend`, the `sandbox.chosen` event,
 * the run state and the backend registry (sandbox/backends.ts) all take their names from this list.
 */
export const sandboxBackendNames = ['bwrap', 'none'] as const;
export type SandboxBackendName = (typeof sandboxBackendNames)[number];

/** The resolved `sandbox:` section of baton.yaml: what the sandbox backends are given. */
export interface SandboxLimits {
  /** Processes (and threads) the worker may have at once; a fork bomb stops there. */
  readonly processes: number;
  /** The largest file the worker may write, in bytes. */
  readonly fileSizeBytes: number;
  /** CPU seconds the worker may use. */
  readonly cpuSeconds: number;
  /** Memory in bytes, where the memory cgroup can be used. */
  readonly memoryBytes: number;
  readonly openFiles: number;
}

export interface SandboxSettings {
  readonly backend: 'auto' | SandboxBackendName;
  /** none: no network at all; allowlist: only the hosts in `allow`, through the harness's proxy. */
  readonly network: 'none' | 'allowlist';
  readonly allow: readonly string[];
  readonly passEnv: readonly string[];
  readonly readOnly: readonly string[];
  readonly limits: SandboxLimits;
}

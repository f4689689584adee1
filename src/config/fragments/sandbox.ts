import { z } from 'zod';

/**
 * The sandbox backends baton has, named once: baton.yaml's `sandbox.backend`, the `sandbox.chosen` event,
 * the run state and the backend registry (sandbox/backends.ts) all take their names from this list.
 */
export const sandboxBackendNames = ['bwrap', 'none'] as const;
export type SandboxBackendName = (typeof sandboxBackendNames)[number];
import { byteSize, duration } from '../fields.ts';

/** `sandbox:`: least privilege for workers and for the checks that run their code (sandbox/). */

export const sandboxLimitsSchema = z
  .strictObject({
    /** Processes (and threads) the worker may have at once; a fork bomb stops there. */
    processes: z.number().int().positive().default(512),
    /** The largest file the worker may write. */
    fileSize: byteSize.prefault('1GiB'),
    /** CPU time the worker may use; setrlimit counts it in whole seconds. */
    cpu: duration.prefault('1h'),
    /** Memory, where the memory cgroup can be used. */
    memory: byteSize.prefault('4GiB'),
    openFiles: z.number().int().positive().default(4_096),
  })
  .transform(({ fileSize, cpu, memory, ...limits }) => ({
    ...limits,
    fileSizeBytes: fileSize,
    cpuSeconds: Math.ceil(cpu / 1_000),
    memoryBytes: memory,
  }))
  .prefault({});

/** What `sandbox.limits` resolves to when baton.yaml sets none of them. */
export const defaultSandboxLimits = sandboxLimitsSchema.parse(undefined);

export const sandboxSchema = z
  .strictObject({
    backend: z
      .enum(['auto', ...sandboxBackendNames])
      .default('auto')
      .describe(
        'auto: bwrap where it works (else none, with a warning); bwrap: required; none: no isolation.',
      ),
    network: z
      .enum(['none', 'allowlist'])
      .default('none')
      .describe('none: no network; allowlist: the hosts in allow, through a proxy the harness runs.'),
    allow: z
      .array(z.string())
      .default([])
      .describe(
        'Hosts a worker may reach, with their ports: api.example.com (443 and 80), api.example.com:8443, *.example.com; a local target only with its port (localhost:11434, 127.0.0.1:8080, [::1]:8080).',
      ),
    passEnv: z
      .array(z.string())
      .default([])
      .describe('Variables of the harness passed to workers (credentials).'),
    readOnly: z.array(z.string()).default([]).describe('Extra paths workers may read inside hidden folders.'),
    user: z
      .union([z.string().min(1), z.number().int().nonnegative()])
      .default('auto')
      .describe(
        'Who workers and checks are on the host when baton runs as root: auto (an account named baton-sandbox, else a uid no account uses), an account name or uid, or root (uid 0 inside: root-only host files become readable). An unprivileged baton gives them its own uid.',
      ),
    limits: sandboxLimitsSchema,
  })
  .prefault({})
  .describe('Least privilege for workers and for the checks that run their code.');

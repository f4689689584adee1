import type { SandboxLimits } from '../config/sandbox-settings.ts';
import { defaultSandboxLimits } from '../config/fragments/sandbox.ts';
/**
 * What a sandboxed worker may touch. Everything not listed is read-only (the host filesystem) or
 * hidden (home, /tmp, /run and their sockets); the environment is built from scratch.
 */

export type { SandboxLimits } from '../config/sandbox-settings.ts';

export interface SandboxPolicy {
  /** The worker's tree: the only place it may write (besides its session scratch folder). */
  readonly workspace: string;
  /** Inside the workspace but read-only: git's data and the harness's own state. */
  readonly readOnlyInside: readonly string[];
  /**
   * When set, the workspace itself is read-only and only these folders inside it (relative, existing)
   * are writable: a parallel task's write scope.
   */
  readonly writableInside?: readonly string[];
  /** Outside paths the worker may read (a script, a toolchain) although they sit in a hidden folder. */
  readonly readOnly: readonly string[];
  /** Outside paths the worker may write (its session scratch folder). */
  readonly writable: readonly string[];
  /** Folders replaced by an empty one: the home folder, /tmp, /run (host sockets live there). */
  readonly hidden: readonly string[];
  /** The whole environment of the worker, nothing inherited. */
  readonly env: Readonly<Record<string, string>>;
  readonly limits: SandboxLimits;
}

/** The limits baton.yaml's `sandbox.limits` defaults to (its fragment holds the numbers). */
export const defaultLimits: SandboxLimits = defaultSandboxLimits;

/** Variables a worker needs to function; everything else (secrets included) stays outside. */
export const baseEnvAllowlist = ['PATH', 'LANG', 'LC_ALL', 'TERM', 'TZ', 'NODE_USE_ENV_PROXY'];

/**
 * The BATON_ variables the harness itself sets for the sessions and checks it starts (core/session.ts,
 * agents/command-agent.ts, loop/verify.ts, parallel/merge-queue.ts). Any other BATON_ variable of the
 * harness's own environment (a person's setting, a test's secret) stays outside like every other one.
 */
export const batonEnvAllowlist = [
  'BATON_RUN_ID',
  'BATON_ROLE',
  'BATON_WORKSPACE',
  'BATON_ITERATION',
  'BATON_TASK_ID',
  'BATON_TASK_ATTEMPT',
  'BATON_WORKER',
  'BATON_PORT_BASE',
  'BATON_PORT_COUNT',
  'BATON_PROMPT_FILE',
  'BATON_HANDOFF_FILE',
];

/** Keep only allow-listed variables (and the harness's BATON_ variables), from an environment. */
export function filterEnv(env: NodeJS.ProcessEnv, allow: readonly string[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (batonEnvAllowlist.includes(name) || baseEnvAllowlist.includes(name) || allow.includes(name)) {
      kept[name] = value;
    }
  }
  return kept;
}

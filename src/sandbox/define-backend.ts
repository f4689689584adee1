import type { SandboxBackendName, SandboxSettings } from '../config/sandbox-settings.ts';
import type { RunningProxy } from './network-proxy.ts';
import type { Sandbox } from './sandbox.ts';

/** Whether a backend can run on this machine, and if not, why and what to do about it. */
export interface BackendAvailability {
  readonly works: boolean;
  readonly detail: string;
  readonly fix: string | undefined;
}

export interface SandboxBackendInput {
  /** The folder workers work in and may write (a wrap may name another: a task's worktree). */
  readonly workspace: string;
  readonly settings: SandboxSettings;
  /** The harness's allow-list proxy, started for `network: allowlist` when the backend routes through one. */
  readonly proxy: RunningProxy | undefined;
}

/** One way of running a worker's commands: what baton.yaml's `sandbox.backend` names. */
export interface SandboxBackend<Name extends SandboxBackendName = SandboxBackendName> {
  readonly name: Name;
  /** Whether it confines what a command can read, write and reach; `auto` takes the first that does. */
  readonly isolates: boolean;
  /** Whether `network: allowlist` works through it (the harness then starts the proxy for it). */
  readonly routesThroughProxy?: boolean;
  /** Whether it works here for these settings (`sandbox.user` changes what bwrap must be able to do). */
  available(settings: Pick<SandboxSettings, 'user'>): BackendAvailability;
  create(input: SandboxBackendInput): Sandbox;
}

/** A sandbox backend, typed; list it in sandbox/backends.ts (its name in config/sandbox-settings.ts). */
export function defineSandboxBackend<const Name extends SandboxBackendName>(
  backend: SandboxBackend<Name>,
): SandboxBackend<Name> {
  return backend;
}

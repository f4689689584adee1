/**
 * What a sandboxed worker may touch. Everything not listed is read-only (the host filesystem) or
 * hidden (home, /tmp, /run and their sockets); the environment is built from scratch.
 */
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

export const defaultLimits: SandboxLimits = {
  processes: 512,
  fileSizeBytes: 1024 ** 3,
  cpuSeconds: 3_600,
  memoryBytes: 4 * 1024 ** 3,
  openFiles: 4_096,
};

/** Variables a worker needs to function; everything else (secrets included) stays outside. */
export const baseEnvAllowlist = ['PATH', 'LANG', 'LC_ALL', 'TERM', 'TZ', 'NODE_USE_ENV_PROXY'];

/** Keep only allow-listed variables (and BATON_*), from the harness's environment. */
export function filterEnv(env: NodeJS.ProcessEnv, allow: readonly string[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (name.startsWith('BATON_') || baseEnvAllowlist.includes(name) || allow.includes(name)) {
      kept[name] = value;
    }
  }
  return kept;
}

/** '512MiB', '4GiB', '10GB', '1048576' -> bytes. */
export function parseBytes(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text > 0 ? Math.floor(text) : undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?$/i.exec(text.trim());
  if (match === null) return undefined;
  const units: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
    tb: 1e12,
    tib: 1024 ** 4,
  };
  return Math.floor(Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? 1));
}

import type { Usage } from '../log/events.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';

/**
 * The contract every agent adapter implements (version 1). One call starts one fresh session: the agent
 * gets a prompt, a working directory and an environment, works, and ends. The harness owns everything
 * around it: time limits, the process group, evidence, verification.
 */
export interface AgentSessionOptions {
  readonly prompt: string;
  readonly cwd: string;
  /** The complete environment of the agent process (the harness decides what it inherits). */
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Where the session's full transcript goes (evidence). */
  readonly transcriptPath: string;
  /** A scratch folder outside the workspace the session may use (prompt file, handoff note). */
  readonly sessionDir: string;
  /**
   * Where every process of the session runs: the harness chooses it per session (baton.yaml's backend,
   * a task's worktree) and an adapter wraps each command it starts with it. Required, so a forgotten
   * sandbox is a compile error, never an unsandboxed worker. An in-process agent may ignore it only if it
   * starts no process.
   */
  readonly sandbox: Sandbox;
  /** Called once the agent process exists, with its pid (recorded so a crashed harness can reap it). */
  readonly onStart?: (pid: number) => void;
  /**
   * Folders of `cwd` the session may write (relative), where the sandbox can enforce it; absent: all of
   * `cwd`. A parallel task's write scope. Adapters pass it on to `Sandbox.wrap`.
   */
  readonly writableInside?: readonly string[];
}

export type AgentSessionStatus = 'completed' | 'failed' | 'timed-out' | 'aborted';

export interface AgentSessionResult {
  readonly status: AgentSessionStatus;
  readonly exitCode: number | null;
  readonly durationMs: number;
  readonly usage: Usage;
  readonly transcriptPath: string;
  /** The worker's handoff note: what it did, what is next. */
  readonly finalMessage: string;
  /** Why the session failed, when it did. */
  readonly error: string | undefined;
  /** Model turns the session took, when the agent reports them. */
  readonly turns?: number | undefined;
  /** The agent's own session id (claude's session_id, codex's thread_id...), when it reports one. */
  readonly sessionId?: string | undefined;
  /**
   * Set when the session ended on a provider rate limit or usage limit (HTTP 429, "usage limit reached").
   * The harness pauses and retries the same iteration; it is not a failed iteration.
   */
  readonly rateLimit?: { readonly message: string; readonly retryAfterMs: number | undefined } | undefined;
}

export interface Agent {
  readonly specificationVersion: 'agent-v1';
  /** Stable name for logs, e.g. "command", "scripted", "claude-code". */
  readonly id: string;
  startSession(options: AgentSessionOptions): Promise<AgentSessionResult>;
}

export { claimDoneMarker, claimsDone } from '../workspace/claim.ts';

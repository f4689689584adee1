import type { CheckResult } from '../log/events.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';

/** What every check spec has, whatever runs it. */
export interface CheckSpecBase {
  /** How the check is run: the key of its definition in checks/registry.ts. */
  readonly type: string;
  /** Feature id, oracle name, `smoke`, or a task's check. */
  readonly name: string;
  /** What the check is evidence for (recorded with its result). */
  readonly kind: CheckResult['kind'];
  readonly timeoutMs: number;
  /** Runs alone: no other check at the same time (core/check-specs.ts `runChecks`). */
  readonly exclusive?: boolean;
}

export interface CheckContext {
  /** The main workspace: output paths are recorded relative to it. */
  readonly workspace: string;
  /** Where the check runs, when not the workspace itself (a merge candidate's worktree). */
  readonly cwd?: string;
  readonly outputDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  /**
   * Checks run the worker's code: every process a check starts runs in this sandbox (the worker's).
   * Required: a check is never run unsandboxed because a caller forgot one.
   */
  readonly sandbox: Sandbox;
}

/** One check type: how a spec of it runs, in the context's sandbox, to a result saved as evidence. */
export interface CheckDefinition<Spec extends CheckSpecBase = CheckSpecBase> {
  readonly type: Spec['type'];
  run(spec: Spec, context: CheckContext): Promise<CheckResult>;
}

/** A check type, typed; list it (and its spec in the `CheckSpec` union) in checks/registry.ts. */
export function defineCheck<Spec extends CheckSpecBase>(
  definition: CheckDefinition<Spec>,
): CheckDefinition<Spec> {
  return definition;
}

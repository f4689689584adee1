import { isRunEventType, runEventSchemas, type RunEvent } from './events.ts';
import { logVersion, upcast, versionOf, type RawEvent } from './log-version.ts';

/** What one line of a log turned out to be. */
export type ParsedLine =
  | { readonly ok: true; readonly event: RunEvent; readonly version: number }
  | {
      readonly ok: false;
      readonly problem: 'not-json' | 'unknown-type' | 'invalid';
      /** The event type the line names (null: none). */
      readonly type: string | null;
      /** The log version that wrote the line. */
      readonly version: number;
      readonly detail: string;
    };

/** A line a reader left out (or a note on lines it kept), for the person looking at the run. */
export interface LogWarning {
  /** 1-based line number in the log. */
  readonly line: number;
  readonly type: string | null;
  /** The log version that wrote the line. */
  readonly version: number;
  readonly message: string;
}

function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join('.') || '(event)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Parse one line: JSON, then upcast from the version that wrote it to the current one, then validate
 * against the schema of its type. A line from a newer version is validated as it is: it may still fit.
 */
export function parseEventLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, problem: 'not-json', type: null, version: 1, detail: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'not-json', type: null, version: 1, detail: 'not a JSON object' };
  }
  const version = versionOf(value);
  const type = 'type' in value && typeof value.type === 'string' ? value.type : null;
  if (type === null || !isRunEventType(type)) {
    return {
      ok: false,
      problem: 'unknown-type',
      type,
      version,
      detail: type === null ? 'no event type' : `unknown event type "${type}"`,
    };
  }
  const current = version < logVersion ? upcast(value as RawEvent, version) : value;
  const parsed = runEventSchemas[type].safeParse(current);
  if (!parsed.success) {
    return {
      ok: false,
      problem: 'invalid',
      type,
      version,
      detail: `not a valid ${type} event (${describeIssues(parsed.error.issues)})`,
    };
  }
  // The line itself, not zod's copy: the schemas have no transforms, and a copy would drop fields a
  // writer added beyond the schema (run.started's budgets carry all of baton.yaml's budgets).
  return { ok: true, event: current as RunEvent, version };
}

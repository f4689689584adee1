/**
 * The schema version of the event log, and the upcasters that bring older events to it.
 *
 * The version is written on every line (`"v": 2`), not once per file: a run can be started by one baton
 * and resumed by a newer one, so a single log may hold lines of several versions, and each line has to
 * say which shape it has. A line without `v` was written before the log was versioned: version 1.
 *
 * Readers upcast each line from its own version to `logVersion` before validating it against the current
 * schema (events.ts) and folding it, so the reducer only ever sees current shapes.
 */
export const logVersion = 5;

/** The version of a line as written (absent: version 1, today's logs before versioning). */
export function versionOf(value: object): number {
  return 'v' in value && typeof value.v === 'number' && Number.isInteger(value.v) && value.v > 0
    ? value.v
    : 1;
}

/** An event as it comes out of JSON.parse: any shape, checked only after upcasting. */
export type RawEvent = Readonly<Record<string, unknown>>;

/** One step: an event of version `from` to version `from + 1`. */
export interface Upcaster {
  readonly from: number;
  readonly up: (event: RawEvent) => RawEvent;
}

/** Ordered, one per version step; each must say why the shape changed. */
export const upcasters: readonly Upcaster[] = [
  {
    // Version 2 added the version on every line, the optional `passingOracles` of `tasks.planned`, the
    // optional `task` of `guard.fired` and `question.asked` (a parallel attempt's), the optional planner
    // `session` of `plan.refreshed`, `tasks.planned` and `plan.refused` (its status and usage), and the
    // guards `nested-repository`, `unsafe-file`, `uncommittable` and `worktree-growth`; no field of
    // version 1 changed, so a version 1 event is a version 2 event without them.
    from: 1,
    up: (event) => ({ ...event, v: 2 }),
  },
  {
    // Version 3 added the run's branches (optional `branch` and `baseBranch` of `run.started`), the
    // events `branch.switched` and `branch.kept`, the check kind `hook` (the project's git hooks), the
    // commit purpose `iteration` (git.commit: one), the optional `config` of `iteration.started` and
    // the events `config.applied` and `config.refused`; no field of version 2 changed.
    from: 2,
    up: (event) => ({ ...event, v: 3 }),
  },
  {
    // Version 4 added proposals (the events `proposal.created`, `proposal.decided`, `proposal.applied`,
    // the stop reason `proposals`), the guards `contract` and `vacuous-check` and the guard action
    // `proposed`; no field of version 3 changed.
    from: 3,
    up: (event) => ({ ...event, v: 4 }),
  },
  {
    // Version 5 added the run's baseline verification (the event `baseline.verified`), the verification
    // after accepted proposals are applied (`proposals.verified`) and the optional
    // `flaky` of a check result (a failure that passed when run once more); no field of version 4 changed.
    from: 4,
    up: (event) => ({ ...event, v: 5 }),
  },
];

/**
 * Bring an event written at `version` to `target` by applying the steps in order. An event from a newer
 * version than `target` is returned as it is (the caller decides whether it may be used).
 */
export function upcast(
  event: RawEvent,
  version: number,
  steps: readonly Upcaster[] = upcasters,
  target: number = logVersion,
): RawEvent {
  let current = event;
  for (let from = version; from < target; from += 1) {
    const step = steps.find((entry) => entry.from === from);
    if (step === undefined) throw new Error(`no upcaster from event log version ${from}`);
    current = step.up(current);
  }
  return current;
}

import { BatonError } from '../errors.ts';
import type { CheckResult } from '../log/events.ts';
import { commandCheck, type CommandCheckSpec } from './command-check.ts';
import type { CheckContext, CheckDefinition } from './define-check.ts';

/** Every check spec the harness can run; a new check type adds its spec here and its definition below. */
export type CheckSpec = CommandCheckSpec;
export type CheckType = CheckSpec['type'];

/**
 * Every check type, by the `type` of its specs. The record's type requires exactly one definition per
 * spec of the `CheckSpec` union, each taking specs of its own type.
 */
export const checkDefinitions: {
  readonly [Type in CheckType]: CheckDefinition<Extract<CheckSpec, { type: Type }>>;
} = {
  command: commandCheck,
};

/** Run one check (smoke, feature verify, oracle, a task's check) through the definition of its type. */
export function runCheck(spec: CheckSpec, context: CheckContext): Promise<CheckResult> {
  const definition = (checkDefinitions as Readonly<Record<string, CheckDefinition<CheckSpec> | undefined>>)[
    spec.type
  ];
  if (definition === undefined) {
    throw new BatonError(`baton has no check type "${spec.type}" (check ${spec.name})`, {
      code: 'CHECK_UNKNOWN',
      fix: `use one of the check types: ${Object.keys(checkDefinitions).join(', ')}`,
    });
  }
  return definition.run(spec, context);
}

export type { CheckContext, CheckDefinition } from './define-check.ts';

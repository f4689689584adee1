import { z } from 'zod';

/**
 * The settings allowed at a place in baton.yaml, read off the schema (the did-you-mean list of an
 * unknown key). `path` is where zod reports the key: `['budgets']`, `['oracles', 0]`, `['agent']`.
 * Where a union stands (the agent types), every option's settings count.
 */
export function knownKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  if (
    schema instanceof z.ZodOptional ||
    schema instanceof z.ZodNullable ||
    schema instanceof z.ZodDefault ||
    schema instanceof z.ZodPrefault ||
    schema instanceof z.ZodReadonly
  ) {
    return knownKeysAt(schema.unwrap(), path);
  }
  // A transform only reshapes what its input side accepted: the keys are the input's.
  if (schema instanceof z.ZodPipe) return knownKeysAt(schema.in, path);
  if (schema instanceof z.ZodUnion) {
    return [...new Set(schema.options.flatMap((option) => knownKeysAt(option, path)))];
  }
  const [step, ...rest] = path;
  if (schema instanceof z.ZodArray) {
    return knownKeysAt(schema.element, typeof step === 'number' ? rest : path);
  }
  if (schema instanceof z.ZodObject) {
    const shape: z.core.$ZodShape = schema.shape;
    if (step === undefined) return Object.keys(shape);
    const field = typeof step === 'string' && Object.hasOwn(shape, step) ? shape[step] : undefined;
    return field === undefined ? [] : knownKeysAt(field, rest);
  }
  return [];
}

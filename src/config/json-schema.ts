import { z } from 'zod';
import { configSchema } from './schema.ts';

/** The JSON Schema of baton.yaml, generated from the zod schema so the two cannot drift apart. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://baton.invalid/schema/baton.schema.json',
    title: 'baton.yaml',
    description: 'The contract of a baton workspace: agent, oracles, done condition, budgets.',
  };
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

// Regenerates schema/baton.schema.json from the zod schema (a test fails when it is stale).
import { writeFileSync } from 'node:fs';
import { configJsonSchemaText } from '../src/config/json-schema.ts';

writeFileSync(new URL('../schema/baton.schema.json', import.meta.url), configJsonSchemaText());
process.stdout.write('wrote schema/baton.schema.json\n');

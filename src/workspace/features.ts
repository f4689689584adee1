import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { stateFiles } from './paths.ts';

/** Evidence the harness holds for a passing feature: what ran, on which commit, with what result. */
export const evidenceSchema = z.strictObject({
  iteration: z.number().int().min(0),
  commit: z.string(),
  command: z.string(),
  exitCode: z.number().int(),
  at: z.string(),
  output: z.string().describe('Path of the saved output, relative to the workspace.'),
});

export const featureSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected an id of letters, digits, ., - and _'),
  title: z.string().min(1),
  steps: z.array(z.string()).default([]),
  verify: z.string().min(1, 'every feature needs a verify command that exits 0 when it works'),
  status: z.enum(['failing', 'passing']),
  evidence: evidenceSchema.nullable().default(null),
});

export const featureListSchema = z.strictObject({
  version: z.literal(1),
  features: z.array(featureSchema),
});

export type Feature = z.output<typeof featureSchema>;
export type FeatureEvidence = z.output<typeof evidenceSchema>;
export type FeatureList = z.output<typeof featureListSchema>;

export type FeatureListResult =
  | { readonly ok: true; readonly list: FeatureList }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Validate FEATURES.json text; every problem names the place and what to do. */
export function parseFeatureList(text: string): FeatureListResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      problems: [`FEATURES.json is not valid JSON (${(error as Error).message}): rewrite it as JSON`],
    };
  }
  const parsed = featureListSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map(
        (issue) => `FEATURES.json ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`,
      ),
    };
  }
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const feature of parsed.data.features) {
    if (seen.has(feature.id)) {
      duplicates.push(`FEATURES.json: the id "${feature.id}" is used twice: ids must be unique`);
    }
    seen.add(feature.id);
  }
  if (duplicates.length > 0) return { ok: false, problems: duplicates };
  return { ok: true, list: parsed.data };
}

export function featureListPath(workspace: string): string {
  return join(workspace, stateFiles.features);
}

export function readFeatureList(workspace: string): FeatureListResult {
  const path = featureListPath(workspace);
  if (!existsSync(path)) {
    return { ok: false, problems: ['FEATURES.json is missing: restore it (git checkout -- FEATURES.json)'] };
  }
  return parseFeatureList(readFileSync(path, 'utf8'));
}

export function serializeFeatureList(list: FeatureList): string {
  return `${JSON.stringify(list, null, 2)}\n`;
}

export function writeFeatureList(workspace: string, list: FeatureList): void {
  writeFileAtomic(featureListPath(workspace), serializeFeatureList(list));
}

export function countPassing(list: FeatureList): number {
  return list.features.filter((feature) => feature.status === 'passing').length;
}

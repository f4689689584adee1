import { join } from 'node:path';
import { z } from 'zod';
import type { AtomicWriteOptions } from '../util/atomic-write.ts';
import { ioLimits } from '../util/limits.ts';
import { describeUnsafeReason, UnsafeFileError } from '../util/safe-io.ts';
import { formatBytes } from '../util/text.ts';
import { stateFiles } from './paths.ts';
import { readStateFile, writeStateFile } from './state-file.ts';

/** Evidence the harness holds for a passing feature: what ran, on which commit, with what result. */
export const evidenceSchema = z.strictObject({
  iteration: z.number().int().min(0),
  commit: z.string().describe('The commit the checks ran on.'),
  tree: z
    .string()
    .optional()
    .describe(
      "The tree the checks ran on. With git.commit: one the checked commit is folded into the iteration's commit, whose Baton-Verified-Tree trailer names this tree.",
    ),
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

function tooLarge(sizeBytes: number): string {
  return `FEATURES.json is ${formatBytes(sizeBytes)}, over the limit of ${formatBytes(ioLimits.maxFeaturesFileBytes)} (maxFeaturesFileBytes): keep it to features, steps and verify commands`;
}

function tooMany(count: number): string {
  return `FEATURES.json has ${count} features, over the limit of ${ioLimits.maxFeatureCount} (maxFeatureCount): merge small features into larger ones`;
}

/** The feature count of parsed JSON, looked at before the schema so a huge list costs no validation. */
function rawFeatureCount(raw: unknown): number {
  if (typeof raw !== 'object' || raw === null || !('features' in raw)) return 0;
  return Array.isArray(raw.features) ? raw.features.length : 0;
}

/** Validate FEATURES.json text; every problem names the place and what to do. */
export function parseFeatureList(text: string): FeatureListResult {
  const sizeBytes = Buffer.byteLength(text);
  if (sizeBytes > ioLimits.maxFeaturesFileBytes) return { ok: false, problems: [tooLarge(sizeBytes)] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      problems: [`FEATURES.json is not valid JSON (${(error as Error).message}): rewrite it as JSON`],
    };
  }
  const count = rawFeatureCount(raw);
  if (count > ioLimits.maxFeatureCount) return { ok: false, problems: [tooMany(count)] };
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

/**
 * Read and validate FEATURES.json: never through a link, never a FIFO or device, never more than
 * `maxFeaturesFileBytes`. Each refusal is a problem like any invalid content.
 */
export function readFeatureList(workspace: string): FeatureListResult {
  let content;
  try {
    content = readStateFile(workspace, stateFiles.features, ioLimits.maxFeaturesFileBytes);
  } catch (error) {
    if (!UnsafeFileError.isUnsafeFile(error)) throw error;
    return {
      ok: false,
      problems: [
        `FEATURES.json ${describeUnsafeReason(error.reason)}: baton reads it only as a regular file; restore it (git checkout -- FEATURES.json)`,
      ],
    };
  }
  if (content === undefined) {
    return { ok: false, problems: ['FEATURES.json is missing: restore it (git checkout -- FEATURES.json)'] };
  }
  if (content.truncated) return { ok: false, problems: [tooLarge(content.sizeBytes)] };
  return parseFeatureList(content.text);
}

export function serializeFeatureList(list: FeatureList): string {
  return `${JSON.stringify(list, null, 2)}\n`;
}

export function writeFeatureList(workspace: string, list: FeatureList, options?: AtomicWriteOptions): void {
  writeStateFile(workspace, stateFiles.features, serializeFeatureList(list), options);
}

export function countPassing(list: FeatureList): number {
  return list.features.filter((feature) => feature.status === 'passing').length;
}

import type { FeatureList, FeatureListResult } from '../workspace/features.ts';

export interface FeatureEditReview {
  /** Put the committed FEATURES.json back. */
  readonly restore: boolean;
  /** Refuse the whole iteration: the edit games the checklist (dropped features, flipped statuses). */
  readonly reject: boolean;
  /** The list to keep when neither restoring nor rejecting. */
  readonly list: FeatureList;
  readonly problems: string[];
}

/**
 * A worker may add features or reword them. It may not drop a feature or touch status and evidence:
 * that games the checklist, and the iteration is refused. An unreadable file is restored, and the rest
 * of the worker's work stands.
 */
export function reviewFeatureEdit(before: FeatureList, after: FeatureListResult): FeatureEditReview {
  if (!after.ok) {
    return {
      restore: true,
      reject: false,
      list: before,
      problems: [`FEATURES.json was left invalid and has been restored (${after.problems.join('; ')})`],
    };
  }
  const afterIds = new Set(after.list.features.map((feature) => feature.id));
  const dropped = before.features.filter((feature) => !afterIds.has(feature.id)).map((feature) => feature.id);
  const previous = new Map(before.features.map((feature) => [feature.id, feature]));
  const flipped = after.list.features
    .filter((feature) => {
      const old = previous.get(feature.id);
      const status = old?.status ?? 'failing';
      const evidence = old?.evidence ?? null;
      return feature.status !== status || JSON.stringify(feature.evidence) !== JSON.stringify(evidence);
    })
    .map((feature) => feature.id);
  const problems: string[] = [];
  if (dropped.length > 0) {
    problems.push(
      `removed features ${dropped.join(', ')} from FEATURES.json (workers may not drop features)`,
    );
  }
  if (flipped.length > 0) {
    problems.push(
      `changed the status or evidence of ${flipped.join(', ')} in FEATURES.json (only the harness sets them, from its own checks)`,
    );
  }
  if (problems.length > 0) return { restore: true, reject: true, list: before, problems };
  return { restore: false, reject: false, list: after.list, problems: [] };
}

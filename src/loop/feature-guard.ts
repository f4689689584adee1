import type { FeatureList, FeatureListResult } from '../workspace/features.ts';

export interface FeatureEditReview {
  /** True when the worker's FEATURES.json must be thrown away and the committed one restored. */
  readonly restore: boolean;
  /** The list to keep when not restoring: the worker's edit with harness-owned fields put back. */
  readonly list: FeatureList;
  /** What was refused, for the judge's reason and the next worker. */
  readonly problems: string[];
}

/**
 * A worker may add features or reword them, but status and evidence are the harness's: they are put
 * back as they were. An unreadable file, or one that drops features, is refused whole and restored.
 */
export function reviewFeatureEdit(before: FeatureList, after: FeatureListResult): FeatureEditReview {
  if (!after.ok) {
    return {
      restore: true,
      list: before,
      problems: [`FEATURES.json was left invalid and has been restored (${after.problems.join('; ')})`],
    };
  }
  const afterIds = new Set(after.list.features.map((feature) => feature.id));
  const dropped = before.features.filter((feature) => !afterIds.has(feature.id)).map((feature) => feature.id);
  if (dropped.length > 0) {
    return {
      restore: true,
      list: before,
      problems: [
        `features ${dropped.join(', ')} were removed from FEATURES.json; workers may not drop features, so the file was restored`,
      ],
    };
  }
  const previous = new Map(before.features.map((feature) => [feature.id, feature]));
  const problems: string[] = [];
  const features = after.list.features.map((feature) => {
    const old = previous.get(feature.id);
    const status = old?.status ?? 'failing';
    const evidence = old?.evidence ?? null;
    if (feature.status !== status || JSON.stringify(feature.evidence) !== JSON.stringify(evidence)) {
      problems.push(
        `the worker changed the status or evidence of ${feature.id}; only the harness sets them, so they were put back`,
      );
    }
    return { ...feature, status, evidence };
  });
  return { restore: false, list: { ...after.list, features }, problems };
}

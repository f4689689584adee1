import { commitPaths } from '../git/git.ts';
import type { CheckResult } from '../log/events.ts';
import { readFeatureList, writeFeatureList, type FeatureList } from '../workspace/features.ts';
import { stateFiles } from '../workspace/paths.ts';
import { BatonError } from '../errors.ts';

/** FEATURES.json as the integration checkout has it; only the harness writes it in a parallel run. */
export function integrationFeatures(workspace: string): FeatureList {
  const result = readFeatureList(workspace);
  if (!result.ok) {
    throw new BatonError(
      `FEATURES.json on the integration branch is unreadable: ${result.problems.join('; ')}`,
      {
        code: 'FEATURES_INVALID',
        fix: 'restore it (`git checkout -- FEATURES.json`) or correct it, then `baton resume`',
      },
    );
  }
  return result.list;
}

/**
 * Set the statuses of the features these checks verified, with the evidence (command, exit code,
 * commit, output), and commit FEATURES.json. `sequence` numbers the verification (merge or judgement).
 */
export async function recordFeatureChecks(
  workspace: string,
  checks: readonly CheckResult[],
  evidence: {
    readonly sequence: number;
    readonly commit: string;
    readonly at: string;
    readonly message: string;
  },
): Promise<{ list: FeatureList; commit: string | null }> {
  const byFeature = new Map(
    checks.filter((check) => check.kind === 'feature').map((check) => [check.name, check]),
  );
  const current = integrationFeatures(workspace);
  const list: FeatureList = {
    ...current,
    features: current.features.map((feature) => {
      const check = byFeature.get(feature.id);
      if (check === undefined) return feature;
      return {
        ...feature,
        status: check.passed ? 'passing' : 'failing',
        evidence: {
          iteration: evidence.sequence,
          commit: evidence.commit,
          command: check.command,
          exitCode: check.exitCode ?? -1,
          at: evidence.at,
          output: check.outputPath,
        },
      };
    }),
  };
  writeFeatureList(workspace, list);
  const commit = await commitPaths(workspace, [stateFiles.features], evidence.message);
  return { list, commit };
}

export function passingIds(list: FeatureList): string[] {
  return list.features.filter((feature) => feature.status === 'passing').map((feature) => feature.id);
}

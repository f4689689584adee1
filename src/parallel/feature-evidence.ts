import { withEvidence } from '../core/evidence.ts';
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
  const list = withEvidence(integrationFeatures(workspace), checks, {
    iteration: evidence.sequence,
    commit: evidence.commit,
    at: evidence.at,
  });
  writeFeatureList(workspace, list);
  const commit = await commitPaths(workspace, [stateFiles.features], evidence.message);
  return { list, commit };
}

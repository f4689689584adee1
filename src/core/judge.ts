import type { Config } from '../config/resolve.ts';
import type { Verdict } from '../log/events.ts';
import { judge, type JudgeInput } from './deterministic-judge.ts';
import { askModelJudge, combineVerdicts, type JudgeEvidence } from './model-judge.ts';

export interface VerdictRequest {
  /** The deterministic judge's input: the done condition over the harness's own evidence. */
  readonly evidence: JudgeInput;
  /** The optional model judge (`judge.model`, `judge.condition`). */
  readonly judgeConfig: Config['judge'];
  /** What the model judge sees besides the checks; built only when the model is asked. */
  readonly modelEvidence: () => Promise<Omit<JudgeEvidence, 'checks' | 'condition'>>;
  /**
   * `always`: the model's reason and next step reach the next prompt even when not done (loop, merge
   * judge); `when-done`: it is asked only to confirm a deterministic "done" (the Stop hook, per call).
   */
  readonly consult: 'always' | 'when-done';
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
}

/**
 * The one judge of every mode: deterministic first, from the harness's evidence; then, when
 * configured, the model judge's second opinion, which can veto "done" but never grant it.
 */
export async function decideVerdict(request: VerdictRequest): Promise<Verdict> {
  const deterministic = judge(request.evidence);
  const model = request.judgeConfig.model;
  if (model === undefined || (request.consult === 'when-done' && !deterministic.done)) return deterministic;
  const evidence = await request.modelEvidence();
  return combineVerdicts(
    deterministic,
    await askModelJudge(
      model,
      { ...evidence, checks: request.evidence.checks, condition: request.judgeConfig.condition },
      request.env,
      request.signal,
    ),
  );
}

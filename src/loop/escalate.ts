import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { decideEscalation } from '../guards/stall.ts';
import { featuresMissingFromPlan } from '../guards/plan-check.ts';
import type { FeatureList } from '../workspace/features.ts';
import { stateFiles } from '../workspace/paths.ts';
import type { LoopContext } from './context.ts';
import { runPlannerPass } from './planner.ts';

/** The feature the next worker will be pointed at first: the first failing one that is not parked. */
export function focusFeature(features: FeatureList, parked: readonly string[]): string | undefined {
  return features.features.find((feature) => feature.status === 'failing' && !parked.includes(feature.id))
    ?.id;
}

/**
 * Before the worker starts: climb the stall ladder if the run is stuck, and refresh the plan when it is
 * due (every K iterations) or has rotted (it no longer mentions a failing feature).
 */
export async function escalateAndReplan(
  context: LoopContext,
  iteration: number,
  features: FeatureList,
  evidenceDir: string,
): Promise<void> {
  const parked = context.state.parked.map((entry) => entry.feature);
  const step = decideEscalation(
    context.state,
    context.config.guards.stall,
    context.fallbackAgent !== undefined,
  );
  const streak = context.state.noProgressStreak;
  let replanned = false;
  if (step === 'park') {
    const focus = focusFeature(features, parked);
    if (focus !== undefined) {
      const reason = `no progress for ${streak} iterations while it was the focus; parked so other features get worked on`;
      context.emit({
        type: 'guard.fired',
        iteration,
        guard: 'stall',
        action: 'recorded',
        details: [`parked ${focus}: ${reason}`],
      });
      context.emit({ type: 'feature.parked', iteration, feature: focus, reason });
    }
  } else if (step === 'switch-agent' && context.fallbackAgent !== undefined) {
    const reason = `no progress for ${streak} iterations`;
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'stall',
      action: 'recorded',
      details: [`switched to the fallback agent: ${reason}`],
    });
    context.emit({
      type: 'agent.switched',
      iteration,
      from: context.agent.id,
      to: context.fallbackAgent.id,
      reason,
    });
  } else if (step === 'replan') {
    context.emit({
      type: 'guard.fired',
      iteration,
      guard: 'stall',
      action: 'recorded',
      details: [`no progress for ${streak} iterations: planning pass`],
    });
    await runPlannerPass(
      context,
      iteration,
      features.features,
      `no progress for ${streak} iterations`,
      evidenceDir,
    );
    replanned = true;
  }
  if (replanned) return;

  const every = context.config.guards.replanEvery;
  if (every > 0 && iteration > 1 && (iteration - 1) % every === 0) {
    await runPlannerPass(
      context,
      iteration,
      features.features,
      `scheduled every ${every} iterations`,
      evidenceDir,
    );
    return;
  }
  const lastRefresh = context.state.lastPlanRefresh;
  // A planner that cannot fix the plan must not double the cost of every iteration: wait a while.
  const recentlyRefreshed = lastRefresh !== null && iteration - lastRefresh < 5;
  if (context.config.guards.replanOnMismatch && !recentlyRefreshed) {
    const planPath = join(context.workspace, stateFiles.plan);
    const plan = existsSync(planPath) ? readFileSync(planPath, 'utf8') : '';
    const failing = features.features
      .filter((feature) => feature.status === 'failing')
      .map((feature) => feature.id);
    const missing = featuresMissingFromPlan(plan, failing);
    if (missing.length > 0) {
      const reason = `the plan does not mention failing feature(s) ${missing.slice(0, 8).join(', ')}`;
      context.emit({
        type: 'guard.fired',
        iteration,
        guard: 'plan-rot',
        action: 'recorded',
        details: [reason],
      });
      await runPlannerPass(context, iteration, features.features, reason, evidenceDir);
    }
  }
}

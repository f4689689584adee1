import type { GuardsConfig } from '../config/resolve.ts';
import type { RunState } from '../log/reducer.ts';

export type Escalation = 'replan' | 'switch-agent' | 'park';

/**
 * Tunnel vision and stalls: iterations without progress escalate: a planning pass, then another agent
 * (when one is configured), then the feature in focus is parked so the others get worked on. The stop
 * on `budgets.noProgressIterations` is the last step, decided with the other stop conditions. Pure.
 */
export function decideEscalation(
  state: RunState,
  stall: GuardsConfig['stall'],
  hasFallbackAgent: boolean,
): Escalation | undefined {
  const streak = state.noProgressStreak;
  if (streak === 0) return undefined;
  if (stall.parkAfter > 0 && streak >= stall.parkAfter) return 'park';
  if (
    stall.switchAgentAfter > 0 &&
    streak >= stall.switchAgentAfter &&
    hasFallbackAgent &&
    !state.escalation.switched
  ) {
    return 'switch-agent';
  }
  if (stall.replanAfter > 0 && streak >= stall.replanAfter && !state.escalation.replanned) return 'replan';
  return undefined;
}

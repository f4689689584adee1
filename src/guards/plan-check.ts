/**
 * Plan rot, measured: a plan that does not mention a failing feature no longer describes the work.
 * Pure; the planner pass that fixes it lives in the loop.
 */
export function featuresMissingFromPlan(planText: string, failingFeatureIds: readonly string[]): string[] {
  return failingFeatureIds.filter(
    (id) =>
      !new RegExp(
        `(^|[^A-Za-z0-9_.-])${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z0-9_-]|$)`,
        'm',
      ).test(planText),
  );
}

/** Fold checked-off items ("- [x] ...") into one line, the cheapest way to shrink a plan. */
export function foldCompletedItems(planText: string): string {
  const lines = planText.split('\n');
  const done = lines.filter((line) => /^\s*[-*] \[[xX]\] /.test(line));
  if (done.length === 0) return planText;
  const kept = lines.filter((line) => !/^\s*[-*] \[[xX]\] /.test(line));
  return `${kept.join('\n').trimEnd()}\n\n_${done.length} completed items folded away by baton (see git log)._\n`;
}

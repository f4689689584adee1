import type { InitResult } from '../api/init.ts';
import { leaveOutReasonText } from '../api/leave-out-reasons.ts';
import type { IterationEvidence, StatusReport } from '../api/inspect.ts';
import type { RunEvent } from '../log/events.ts';
import type { LogWarning } from '../log/event-log.ts';
import { allIterations, type IterationSummary, type RunState } from '../log/reducer.ts';
import { orderedTasks } from '../log/task-state.ts';
import { formatDurationMs } from '../util/duration.ts';
import { clip as head, firstLine, plural } from '../util/text.ts';

const short = (commit: string): string => commit.slice(0, 8);

/**
 * The stop, said once: a message that already says how the run ended ("Done: …", "stopped by a
 * person …") stands alone; any other gets the reason in front ("stopped (budget-iterations): …").
 */
export function stopLine(reason: string, message: string, exitCode: number): string {
  const lead = /^(stopped|done)\b/i.test(message) ? '' : `stopped (${reason}): `;
  return `${lead}${message} (exit ${exitCode})`;
}

/** One line (or a few) per event, for logs and terminals that are not a TTY. */
export function formatEvent(event: RunEvent): string | undefined {
  switch (event.type) {
    case 'run.started':
      return `baton run ${event.runId}\n  goal: ${head(event.goal, 160)}\n  ${plural(event.featuresTotal, 'feature')}, ${event.featuresPassing} passing; budgets: ${plural(event.budgets.iterations, 'iteration')}, ${formatDurationMs(event.budgets.wallClockMs)}, stop after ${event.budgets.noProgressIterations} without progress`;
    case 'iteration.started':
      return `\niteration ${event.iteration}`;
    case 'smoke.ended':
      return event.result === null
        ? undefined
        : `  smoke    ${event.result.passed ? 'ok' : `FAILING (${event.result.ended})`}`;
    case 'agent.started':
      return `  agent    ${event.agent} started${event.pid === null ? '' : ` (pid ${event.pid})`}`;
    case 'agent.ended':
      return `  agent    ${event.status} in ${formatDurationMs(event.durationMs)}${event.finalMessage.trim() === '' ? '' : `: "${head(firstLine(event.finalMessage), 110)}"`}${event.claimedDone ? '\n  claim    the worker says the goal is met' : ''}`;
    case 'agent.rate-limited':
      return `  wait     rate limited (${event.attempt}): ${head(event.message, 160)}; retrying the same iteration in ${formatDurationMs(event.waitMs)}`;
    case 'guard.fired':
      return `  guard    ${event.guard} (${event.action}): ${head(event.details.join('; '), 300)}`;
    case 'iteration.rolled-back':
      return `  rollback reset to ${short(event.to)}${event.savedAs === null ? '' : `; the refused work is kept at ${event.savedAs}`}: ${head(event.reason, 200)}`;
    case 'plan.refreshed':
      return event.session !== undefined && event.session.status !== 'completed'
        ? `  plan     the planner session (${event.agent}) ${event.session.status}${event.session.error === undefined ? '' : `: ${head(event.session.error, 200)}`}; the plan is unchanged (${event.reason})`
        : `  plan     refreshed by ${event.agent} (${event.reason})${event.commit === null ? ', unchanged' : ` at ${short(event.commit)}`}`;
    case 'feature.parked':
      return `  park     ${event.feature}: ${head(event.reason, 200)}`;
    case 'agent.switched':
      return `  switch   ${event.from} -> ${event.to}: ${event.reason}`;
    case 'human.edited':
      return `  person   committed changes made between iterations${event.author === undefined ? '' : ` as ${event.author}`}: ${head(event.paths.join(', '), 200)}`;
    case 'steer.received':
      return `  steer    "${head(event.message, 200)}"${event.unpark.length > 0 ? ` (unparks ${event.unpark.join(', ')})` : ''}`;
    case 'iteration.interrupted':
      return `  stopped  iteration ${event.iteration} interrupted (${event.reason}); reset to ${short(event.resetTo)}${event.savedAs === null ? '' : `, its work kept at ${event.savedAs}`}`;
    case 'run.resumed':
      return `\nresumed: ${event.reason}${event.reaped.length > 0 ? ` (killed leftover processes ${event.reaped.join(', ')})` : ''}`;
    case 'sandbox.chosen':
      return event.warning === null ? `  sandbox  ${event.backend}` : `  WARNING  ${event.warning}`;
    case 'run.paused':
      return `\npaused by ${event.by}: waiting for \`baton resume\``;
    case 'run.unpaused':
      return `resumed by ${event.by}`;
    case 'checkpoint.restored':
      return `rolled back to ${event.tag} (${short(event.commit)}); the previous state is kept at ${event.backup}`;
    case 'question.asked':
      return `  question ${head(event.question, 300)}`;
    case 'commit.created':
      return `  commit   ${short(event.commit)} (${event.purpose === 'work' ? "the worker's changes" : 'statuses and progress'})`;
    case 'verify.ended':
      return `  verify   ${event.checks.map((check) => `${check.name} ${check.passed ? (check.flaky === undefined ? '✓' : '✓ (flaky)') : '✗'}`).join('  ')}`;
    case 'proposals.verified':
      return `  verify   after ${event.ids.join(', ')}: ${event.checks.map((check) => `${check.name} ${check.passed ? '✓' : '✗'}`).join('  ')}`;
    case 'baseline.verified':
      return `\nbaseline at ${short(event.commit)}: ${event.checks.map((check) => `${check.name} ${check.passed ? '✓' : '✗'}`).join('  ')}`;
    case 'tree.polluted':
      return `  guard    left uncommitted: ${event.paths.slice(0, 5).join(', ')}${event.stash === null ? '' : ` (stashed as ${short(event.stash)})`}`;
    case 'judge.ended':
      return `  judge    ${event.verdict.claimRejected ? 'CLAIM REJECTED. ' : ''}${head(event.verdict.reason, 300)}`;
    case 'checkpoint.created':
      return `  saved    checkpoint ${event.tag} at ${short(event.commit)}`;
    case 'iteration.ended':
      return `  result   ${event.progressed ? 'progress' : 'no progress'}: ${event.featuresPassing}/${event.featuresTotal} features passing${event.regressed.length > 0 ? `; REGRESSED ${event.regressed.join(', ')}` : ''} (${formatDurationMs(event.durationMs)})`;
    case 'tasks.planned':
      return `\nplan ${event.revision} by ${event.agent}: ${plural(event.tasks.length, 'task')}: ${head(event.tasks.map((task) => (task.dependsOn.length === 0 ? task.id : `${task.id}<-${task.dependsOn.join(',')}`)).join('  '), 300)}`;
    case 'plan.refused':
      return `  plan     refused (attempt ${event.attempt}): ${head(event.problems.join('; '), 300)}`;
    case 'task.started':
      return `  task     ${event.task} attempt ${event.attempt} on worker ${event.worker} (from ${short(event.base)})`;
    case 'task.worked':
      return `  task     ${event.task} worker ${event.worker} ${event.status} in ${formatDurationMs(event.durationMs)}${event.commit === null ? ', no changes' : `, ${short(event.commit)}`}${event.rateLimitWaits === undefined ? '' : ` (after ${plural(event.rateLimitWaits, 'rate-limit wait')})`}`;
    case 'task.returned':
      return `  task     ${event.task} attempt ${event.attempt} returned to the queue (${event.reason}): ${head(firstLine(event.diagnostics), 200)}`;
    case 'task.merged':
      return `  merge    ${event.task} landed at ${short(event.commit)}; features passing: ${event.passingFeatures.length}`;
    case 'task.abandoned':
      return `  task     ${event.task} ABANDONED: ${head(event.reason, 250)}`;
    case 'tasks.judged':
      return `  judge    ${event.decision}: ${event.featuresPassing}/${event.featuresTotal} features passing; ${head(event.verdict.reason, 300)}`;
    case 'run.stopped':
      return `\n${stopLine(event.reason, event.message, event.exitCode)}`;
    case 'branch.switched':
      return `  branch   ${event.to} checked out: ${event.why}`;
    case 'branch.kept':
      return `  branch   staying on ${event.branch}: ${event.reason}`;
  }
}

function outcomeOf(entry: IterationSummary): string {
  if (entry.endedAt === null) return 'running';
  if (entry.verdict?.done === true) return 'DONE';
  if (entry.verdict?.claimRejected === true) return 'claim rejected';
  if (entry.regressed.length > 0) return 'regressed';
  return entry.progressed ? 'progress' : 'no progress';
}

/** The timeline of a run: one row per iteration. */
export function formatTimeline(state: RunState): string {
  const rows = allIterations(state).map((entry) => {
    const features =
      entry.featuresPassing === null ? '   ' : `${entry.featuresPassing}/${entry.featuresTotal ?? '?'}`;
    const duration = entry.durationMs === null ? '' : formatDurationMs(entry.durationMs);
    return `  ${String(entry.iteration).padStart(4)}  ${outcomeOf(entry).padEnd(14)} ${features.padEnd(7)} ${duration.padEnd(7)} ${head(entry.summary.replace(/^[^:]*: /, ''), 90)}`;
  });
  if (state.parallel !== null) {
    const tasks = orderedTasks(state.parallel).map(
      (task) =>
        `  ${task.spec.id.padEnd(16)} ${task.status.padEnd(15)} ${String(task.attempts).padStart(3)}  ${head(task.abandonedReason ?? (task.lastReturn === null ? task.spec.goal : `${task.lastReturn.reason}: ${firstLine(task.lastReturn.diagnostics)}`), 80)}`,
    );
    rows.push(
      `  ${state.parallel.workers} workers, plan revision ${state.parallel.revision}: ${state.parallel.merges} merged, ${state.parallel.returns} returned to the queue`,
      `  task             status          tries  note`,
      ...tasks,
    );
  }
  const header = `  iter  outcome        passing duration summary`;
  const stop =
    state.stop === null
      ? `  (running: ${state.status})`
      : `  stopped: ${state.stop.reason} (exit ${state.stop.exitCode})`;
  return [`run ${state.runId ?? '?'}`, header, ...rows, stop].join('\n');
}

/** Lines of a log a reader left out (unknown type, newer version), one warning each. */
export function formatLogWarnings(warnings: readonly LogWarning[]): string[] {
  return warnings.map((warning) => `  WARNING  ${warning.message}`);
}

export function formatStatus(report: StatusReport): string {
  const lines: string[] = [];
  const state = report.state;
  if (state === null) {
    lines.push('no run yet (start one with `baton run`)');
  } else {
    lines.push(
      `run ${report.runId ?? '?'}: ${state.status === 'running' && state.paused ? 'paused' : state.status}${state.stop === null ? '' : ` (${state.stop.reason})`}`,
    );
    if (state.branch !== null) {
      lines.push(
        `  branch: ${state.branch}${state.baseBranch === null ? ' (in place)' : ` (made from ${state.baseBranch})`}`,
      );
    }
    lines.push(
      `  iterations: ${state.iterationsCompleted}${state.budgets === null ? '' : ` of ${state.budgets.iterations}`}${state.currentIteration === null ? '' : `, iteration ${state.currentIteration} in progress`}`,
    );
    lines.push(`  features passing: ${state.featuresPassing}/${state.featuresTotal}`);
    if (state.parallel !== null) {
      const counts = new Map<string, number>();
      for (const task of orderedTasks(state.parallel)) {
        counts.set(task.status, (counts.get(task.status) ?? 0) + 1);
      }
      lines.push(
        `  tasks (${state.parallel.workers} workers, plan revision ${state.parallel.revision}): ${[...counts].map(([status, count]) => `${count} ${status}`).join(', ') || 'none planned yet'}`,
      );
    }
    lines.push(`  iterations without progress: ${state.noProgressStreak}`);
    if (state.lastCheckpoint !== null) {
      lines.push(
        `  last checkpoint: ${state.lastCheckpoint.tag} (${state.lastCheckpoint.commit.slice(0, 8)})`,
      );
    }
    if (state.lastVerdict !== null) lines.push(`  last verdict: ${head(state.lastVerdict.reason, 300)}`);
    if (state.stop !== null) lines.push(`  stop: ${state.stop.message}`);
  }
  lines.push(...formatLogWarnings(report.warnings ?? []));
  if (report.featureProblems.length > 0) lines.push(`  FEATURES.json: ${report.featureProblems.join('; ')}`);
  for (const feature of report.features) {
    lines.push(`  ${feature.status === 'passing' ? '✓' : '✗'} ${feature.id}  ${head(feature.title, 90)}`);
  }
  return lines.join('\n');
}

export function formatIteration(evidence: IterationEvidence): string {
  const entry = evidence.summary;
  const parts = [
    `iteration ${entry.iteration} of run ${evidence.runId}: ${outcomeOf(entry)}`,
    `  evidence folder: ${evidence.directory}`,
    `  agent: ${entry.agentStatus ?? '?'}${entry.claimedDone ? ' (claimed done)' : ''}`,
    `  commits: ${entry.commits.map(short).join(', ') || 'none'}${entry.checkpoint === null ? '' : `; checkpoint ${entry.checkpoint}`}`,
    `  failing checks: ${entry.failedChecks.join(', ') || 'none'}`,
    `  verdict: ${entry.verdict?.reason ?? '?'}`,
    '',
    '--- handoff note ---',
    evidence.handoff.trim() || '(none)',
    '',
    '--- diff ---',
    evidence.diff.trim() || '(no changes)',
  ];
  for (const check of evidence.checks) {
    parts.push('', `--- ${check.file} ---`, head(check.output.trim(), 4_000) || '(no output)');
  }
  return parts.join('\n');
}

/** What `baton init` did to the repository: how it came to be, what the baseline holds and leaves out. */
export function formatInitBaseline(result: InitResult): string[] {
  const lines: string[] = [];
  if (result.repository === 'created-empty-folder') {
    lines.push('created a git repository (the folder was empty)');
  }
  if (result.repository === 'created-git-init') {
    lines.push(`ran git init (--git-init)${result.gitignoreWritten ? ' and wrote a .gitignore' : ''}`);
  }
  const { count, sample } = result.committed;
  lines.push(
    `committed ${plural(count, 'file')}${count > 0 ? `: ${sample.join(', ')}${count > sample.length ? ', …' : ''}` : ''}`,
  );
  if (result.leftOut.length > 0) {
    const entries = result.leftOut.map((entry) => `${entry.unit} (${leaveOutReasonText[entry.reason]})`);
    lines.push(
      `left out ${entries.join(', ')}: still on disk, ignored locally in .git/info/exclude; add ${entries.length === 1 ? 'it' : 'them'} to .gitignore`,
    );
  }
  const test = result.testCommand;
  if (test !== null) {
    const both = test.usedFor.length === 2;
    const role = both
      ? 'the oracle and smoke test'
      : test.usedFor[0] === 'oracle'
        ? 'the oracle'
        : 'the smoke test';
    const where = test.usedFor.map((use) => (use === 'oracle' ? 'baton.yaml' : 'init.sh')).join(' and ');
    lines.push(`using \`${test.command}\` (from ${test.source}) as ${role}; change it in ${where}`);
  }
  return lines;
}

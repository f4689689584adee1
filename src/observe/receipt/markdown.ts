import { formatDurationMs } from '../../util/duration.ts';
import { clip } from '../../util/text.ts';
import { escapeMarkdown as text, markdownCode as code } from './escape.ts';
import type { Receipt, ReceiptFeature } from './receipt.ts';

/** The verdict in a few words: what a headline or a summary line starts with. */
export function verdictWords(receipt: Receipt): string {
  if (receipt.verdict.done) return 'Done';
  if (receipt.stop === null) return receipt.status === 'running' ? 'Still running' : 'Not started';
  return `Not done (${receipt.stop.reason})`;
}

function shortCommit(commit: string | null): string {
  return commit === null ? '-' : code(commit.slice(0, 12));
}

function featureRow(feature: ReceiptFeature): string {
  const evidence = feature.evidence;
  const cells = [
    `${feature.passing ? 'passing' : 'failing'}${feature.passingAtBaseline === true ? ' (at baseline)' : ''}`,
    code(feature.id),
    feature.title === null ? '' : text(feature.title),
    evidence === null ? '-' : code(evidence.command),
    evidence === null ? '-' : String(evidence.exitCode ?? text(evidence.ended)),
    shortCommit(evidence?.commit ?? null),
    evidence === null ? '-' : text(evidence.at),
  ];
  return `| ${cells.join(' | ')} |`;
}

function section(title: string, lines: readonly string[]): string[] {
  return lines.length === 0 ? [] : ['', `## ${title}`, '', ...lines];
}

/** Numbers a person scans first: iterations, sessions, tokens, cost, time. */
function numbers(receipt: Receipt): string[] {
  const statuses = Object.entries(receipt.sessions.byStatus)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
  return [
    `- iterations: ${receipt.iterations.completed} completed${receipt.iterations.interrupted > 0 ? `, ${receipt.iterations.interrupted} interrupted` : ''}`,
    `- sessions: ${receipt.sessions.total}${statuses === '' ? '' : ` (${statuses})`}`,
    `- tokens: ${receipt.usage.inputTokens} in, ${receipt.usage.outputTokens} out (${receipt.usage.cachedInputTokens} cached)`,
    `- cost: $${receipt.usage.costUsd.toFixed(2)}`,
    `- elapsed: ${formatDurationMs(receipt.elapsedMs)}`,
    `- commits: ${receipt.commits.filter((commit) => commit.kept).length} on the branch${receipt.commits.some((commit) => !commit.kept) ? `, ${receipt.commits.filter((commit) => !commit.kept).length} taken off` : ''}`,
  ];
}

/** The receipt as a PR body: the verdict, the features, what was refused and why, the numbers. */
export function renderMarkdown(receipt: Receipt): string {
  const lines: string[] = [
    `# baton run ${code(receipt.runId)}: ${verdictWords(receipt)}`,
    '',
    `**Goal:** ${text(receipt.goal)}`,
    '',
    `**Verdict:** ${verdictWords(receipt)}, ${receipt.features.passing}/${receipt.features.total} features passing.${receipt.stop === null ? '' : ` Stopped: ${text(receipt.stop.message)}`}`,
  ];
  if (receipt.verdict.reason !== null && receipt.verdict.reason !== receipt.stop?.message) {
    lines.push('', `**Last verdict:** ${text(receipt.verdict.reason)}`);
  }
  if (receipt.branch !== null) lines.push('', `**Branch:** ${code(receipt.branch)}`);
  lines.push(
    ...section('Features', [
      '| status | id | title | command | exit | commit | when |',
      '|---|---|---|---|---|---|---|',
      ...receipt.features.list.map(featureRow),
    ]),
    ...section(
      'Baseline',
      receipt.baseline === null
        ? []
        : [
            `Verified at ${shortCommit(receipt.baseline.commit)} before any worker: ${receipt.baseline.passing.length} check(s) passed there (not the run's progress)${receipt.baseline.passing.length > 0 ? `: ${receipt.baseline.passing.slice(0, 20).map(code).join(', ')}` : ''}; ${receipt.baseline.failing.length} failed there (pre-existing)${receipt.baseline.failing.length > 0 ? `: ${receipt.baseline.failing.slice(0, 20).map(code).join(', ')}` : ''}.`,
          ],
    ),
    ...section(
      'Flaky checks (failed once, passed when run again; not blamed on the worker)',
      receipt.flaky.map(
        (entry) =>
          `- ${entry.iteration === null ? 'parallel merge or judgement' : `iteration ${entry.iteration}`}: ${code(entry.check)} first ${text(entry.failedRun.ended)} (output ${code(entry.failedRun.outputPath)})`,
      ),
    ),
    ...section(
      'Proposals (changes to the verification contract or to tested behaviour)',
      receipt.proposals.map(
        (proposal) =>
          `- ${code(proposal.id)} ${proposal.kind}, iteration ${proposal.iteration}, ${proposal.status}${proposal.decision === null ? '' : ` by ${text(proposal.decision.by)}${proposal.decision.reason === '' ? '' : ` (${text(proposal.decision.reason)})`}`}${proposal.appliedAs === null ? '' : `, applied as ${shortCommit(proposal.appliedAs)}`}: ${proposal.reasons.slice(0, 3).map(text).join('; ')} (${code(proposal.ref)})`,
      ),
    ),
    ...section(
      'Claims the judge rejected',
      receipt.rejectedClaims.map(
        (claim) =>
          `- ${claim.iteration === null ? 'parallel judgement' : `iteration ${claim.iteration}`}: ${text(claim.reason)}${claim.failing.length > 0 ? ` (failing: ${claim.failing.map(code).join(', ')})` : ''}`,
      ),
    ),
    ...section(
      'Guards fired',
      receipt.guards.map(
        (guard) =>
          `- iteration ${guard.iteration}${guard.task === null ? '' : `, task ${code(guard.task)}`}: ${text(guard.guard)} ${text(guard.action)}${guard.details.length > 0 ? `: ${guard.details.slice(0, 5).map(text).join('; ')}` : ''}`,
      ),
    ),
    ...section(
      'Refs holding refused or set-aside work',
      receipt.refs.map(
        (ref) =>
          `- ${code(ref.ref)} (${ref.kind}${ref.iteration === null ? '' : `, iteration ${ref.iteration}`}): ${text(ref.reason)}`,
      ),
    ),
    ...section(
      'Edits by a person',
      receipt.humanEdits.map(
        (edit) =>
          `- iteration ${edit.iteration}: ${edit.author === null ? 'a person' : text(edit.author)}, ${shortCommit(edit.commit)}: ${edit.paths.slice(0, 10).map(code).join(', ')}`,
      ),
    ),
    ...section('Parked features and questions', [
      ...receipt.parked.map((entry) => `- parked ${code(entry.feature)}: ${text(entry.reason)}`),
      ...receipt.questions.map(
        (entry) => `- question (iteration ${entry.iteration}): ${text(entry.question)}`,
      ),
    ]),
    ...section(
      'Handoffs',
      receipt.handoffs.map(
        (handoff) =>
          `- ${handoff.task === null ? `iteration ${handoff.iteration ?? '?'}` : `task ${code(handoff.task)}`}: ${text(clip(handoff.text, 300))}`,
      ),
    ),
    ...section('Numbers', numbers(receipt)),
    ...section(
      'Commits',
      receipt.commits.map(
        (commit) =>
          `- ${shortCommit(commit.commit)} ${commit.purpose}, iteration ${commit.iteration}${commit.kept ? '' : ' (taken off the branch)'}`,
      ),
    ),
  );
  if (receipt.warnings.length > 0) {
    lines.push(
      ...section(
        'Warnings',
        receipt.warnings.map((line) => `- ${text(line)}`),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The few lines `baton run` ends with (terminal text: worker text on one line, controls stripped). */
export function summaryLines(receipt: Receipt, receiptPath: string | null): string[] {
  const lines = [
    `${verdictWords(receipt)}: ${receipt.features.passing}/${receipt.features.total} features passing after ${receipt.iterations.completed} iteration(s), ${receipt.commits.filter((commit) => commit.kept).length} commit(s), ${receipt.rejectedClaims.length} rejected claim(s), $${receipt.usage.costUsd.toFixed(2)}, ${formatDurationMs(receipt.elapsedMs)}`,
  ];
  for (const ref of receipt.refs.slice(0, 5)) {
    lines.push(`  refused work kept at ${JSON.stringify(ref.ref)} (${ref.kind})`);
  }
  if (receipt.refs.length > 5) lines.push(`  … and ${receipt.refs.length - 5} more ref(s)`);
  if (receiptPath !== null) lines.push(`  receipt: ${receiptPath}  (also: baton report --format html)`);
  return lines;
}

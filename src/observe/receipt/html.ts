import { formatDurationMs } from '../../util/duration.ts';
import { escapeHtml as h } from './escape.ts';
import { verdictWords } from './markdown.ts';
import type { Receipt } from './receipt.ts';

/**
 * The receipt as one self-contained page: no script, no external resource, and a content security
 * policy that forbids both, so even a missed escape could not run anything. Every value goes through
 * `h` (the receipt is mostly worker text).
 */

const style = `body{font:14px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1b1f24}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
code,pre{font-family:ui-monospace,monospace;font-size:12px}pre{white-space:pre-wrap;background:#f6f8fa;padding:8px}
.passing{color:#1a7f37}.failing{color:#cf222e}h1 small{font-weight:normal;color:#57606a}`;

function list(title: string, items: readonly string[]): string {
  return items.length === 0
    ? ''
    : `<h2>${h(title)}</h2><ul>${items.map((item) => `<li>${item}</li>`).join('')}</ul>`;
}

function featuresTable(receipt: Receipt): string {
  const rows = receipt.features.list.map((feature) => {
    const evidence = feature.evidence;
    const status = feature.passing ? 'passing' : 'failing';
    const baseline = feature.passingAtBaseline === true ? ' (at baseline)' : '';
    return `<tr><td class="${status}">${status}${baseline}</td><td><code>${h(feature.id)}</code></td><td>${h(feature.title ?? '')}</td><td><code>${h(evidence?.command ?? '-')}</code></td><td>${h(evidence === null ? '-' : String(evidence.exitCode ?? evidence.ended))}</td><td><code>${h(evidence?.commit?.slice(0, 12) ?? '-')}</code></td><td>${h(evidence?.at ?? '-')}</td></tr>`;
  });
  return `<h2>Features</h2><table><thead><tr><th>status</th><th>id</th><th>title</th><th>command</th><th>exit</th><th>commit</th><th>when</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderHtml(receipt: Receipt): string {
  const verdict = verdictWords(receipt);
  const statuses = Object.entries(receipt.sessions.byStatus)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
  const body = [
    `<h1>${h(verdict)} <small>baton run <code>${h(receipt.runId)}</code></small></h1>`,
    `<p><strong>Goal:</strong> ${h(receipt.goal)}</p>`,
    `<p><strong>Verdict:</strong> ${h(verdict)}, ${receipt.features.passing}/${receipt.features.total} features passing.${receipt.stop === null ? '' : ` Stopped: ${h(receipt.stop.message)}`}</p>`,
    receipt.verdict.reason === null
      ? ''
      : `<p><strong>Last verdict:</strong> ${h(receipt.verdict.reason)}</p>`,
    receipt.branch === null ? '' : `<p><strong>Branch:</strong> <code>${h(receipt.branch)}</code></p>`,
    featuresTable(receipt),
    list(
      'Claims the judge rejected',
      receipt.rejectedClaims.map(
        (claim) =>
          `${claim.iteration === null ? 'parallel judgement' : `iteration ${claim.iteration}`}: ${h(claim.reason)}${claim.failing.length > 0 ? ` (failing: ${claim.failing.map(h).join(', ')})` : ''}`,
      ),
    ),
    list(
      'Guards fired',
      receipt.guards.map(
        (guard) =>
          `iteration ${guard.iteration}${guard.task === null ? '' : `, task <code>${h(guard.task)}</code>`}: ${h(guard.guard)} ${h(guard.action)}${guard.details.length > 0 ? `: ${guard.details.slice(0, 5).map(h).join('; ')}` : ''}`,
      ),
    ),
    list(
      'Refs holding refused or set-aside work',
      receipt.refs.map(
        (ref) =>
          `<code>${h(ref.ref)}</code> (${h(ref.kind)}${ref.iteration === null ? '' : `, iteration ${ref.iteration}`}): ${h(ref.reason)}`,
      ),
    ),
    list(
      'Edits by a person',
      receipt.humanEdits.map(
        (edit) =>
          `iteration ${edit.iteration}: ${h(edit.author ?? 'a person')} <code>${h(edit.commit?.slice(0, 12) ?? '-')}</code>: ${edit.paths.slice(0, 10).map(h).join(', ')}`,
      ),
    ),
    list('Parked features and questions', [
      ...receipt.parked.map((entry) => `parked <code>${h(entry.feature)}</code>: ${h(entry.reason)}`),
      ...receipt.questions.map((entry) => `question (iteration ${entry.iteration}): ${h(entry.question)}`),
    ]),
    list('Numbers', [
      `iterations: ${receipt.iterations.completed} completed, ${receipt.iterations.interrupted} interrupted`,
      `sessions: ${receipt.sessions.total}${statuses === '' ? '' : ` (${h(statuses)})`}`,
      `tokens: ${receipt.usage.inputTokens} in, ${receipt.usage.outputTokens} out (${receipt.usage.cachedInputTokens} cached)`,
      `cost: $${receipt.usage.costUsd.toFixed(2)}`,
      `elapsed: ${h(formatDurationMs(receipt.elapsedMs))}`,
    ]),
    list(
      'Commits',
      receipt.commits.map(
        (commit) =>
          `<code>${h(commit.commit.slice(0, 12))}</code> ${h(commit.purpose)}, iteration ${commit.iteration}${commit.kept ? '' : ' (taken off the branch)'}`,
      ),
    ),
    receipt.handoffs.length === 0
      ? ''
      : `<h2>Handoffs</h2>${receipt.handoffs
          .map(
            (handoff) =>
              `<h3>${handoff.task === null ? `iteration ${handoff.iteration ?? '?'}` : `task ${h(handoff.task)}`}</h3><pre>${h(handoff.text)}</pre>`,
          )
          .join('')}`,
    list('Warnings', receipt.warnings.map(h)),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${h(`baton run ${receipt.runId}: ${verdict}`)}</title><style>${style}</style></head>
<body>${body.join('\n')}</body></html>
`;
}

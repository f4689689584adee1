/**
 * The dashboard's one page: plain HTML, CSS and script, no build step. It reads the JSON endpoints,
 * pages the timeline (50 iterations at a time), loads an iteration's evidence when it is clicked, and
 * listens to the run's event stream to refresh itself while the run goes on.
 */
const style = `
  :root { --bg:#0f1115; --panel:#171a21; --line:#2a2f3a; --text:#e6e8ee; --dim:#9aa3b2; --ok:#3fb950; --bad:#f85149; --warn:#d29922; --accent:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, Segoe UI, sans-serif; background:var(--bg); color:var(--text); }
  header { padding:14px 20px; border-bottom:1px solid var(--line); display:flex; gap:16px; align-items:center; flex-wrap:wrap; }
  header h1 { font-size:16px; margin:0; }
  select, button { background:var(--panel); color:var(--text); border:1px solid var(--line); border-radius:6px; padding:4px 8px; font:inherit; cursor:pointer; }
  .badge { padding:2px 8px; border-radius:10px; font-size:12px; border:1px solid var(--line); }
  .badge.running { color:var(--accent); } .badge.stopped.done { color:var(--ok); } .badge.stopped { color:var(--warn); }
  main { display:grid; grid-template-columns: minmax(380px, 1fr) minmax(420px, 1.2fr); gap:16px; padding:16px 20px; }
  section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
  section h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:0 0 8px; }
  .stats { display:grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap:8px; }
  .stat b { display:block; font-size:20px; } .stat span { color:var(--dim); font-size:12px; }
  table { width:100%; border-collapse:collapse; } td, th { padding:4px 6px; border-bottom:1px solid var(--line); text-align:left; vertical-align:top; }
  th { color:var(--dim); font-weight:500; font-size:12px; }
  tr.clickable { cursor:pointer; } tr.clickable:hover, tr.selected { background:#1f2430; }
  .outcome-done, .passing { color:var(--ok); } .outcome-rolled-back, .outcome-claim-rejected, .failing { color:var(--bad); } .outcome-no-progress { color:var(--warn); } .outcome-running { color:var(--accent); }
  pre { background:#0b0d11; border:1px solid var(--line); border-radius:6px; padding:8px; overflow:auto; max-height:360px; white-space:pre-wrap; word-break:break-word; font:12px/1.4 ui-monospace, monospace; }
  .diff-add { color:var(--ok); } .diff-del { color:var(--bad); } .diff-hunk { color:var(--accent); }
  .full { grid-column: 1 / -1; } .dim { color:var(--dim); } .stop { margin-top:8px; }
  svg text { fill: var(--dim); font-size: 11px; }
`;

const script = `
const $ = (id) => document.getElementById(id);
const h = (tag, attrs, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === 'class') node.className = value; else if (key.startsWith('on')) node.addEventListener(key.slice(2), value); else node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
};
const fmtMs = (ms) => ms == null ? '' : ms < 1000 ? ms + ' ms' : ms < 60000 ? (ms / 1000).toFixed(1) + ' s' : Math.floor(ms / 60000) + ' m ' + Math.round((ms % 60000) / 1000) + ' s';
const api = (path) => fetch(path).then((r) => { if (!r.ok) throw new Error(path + ': ' + r.status); return r.json(); });
let runId = null, oldest = null, selected = null, source = null, refreshTimer = null;

async function loadRuns() {
  const { runs } = await api('/api/runs');
  const select = $('run');
  select.replaceChildren(...runs.slice().reverse().map((id) => h('option', { value: id }, id)));
  if (runs.length === 0) { $('empty').hidden = false; return; }
  const wanted = new URLSearchParams(location.search).get('run');
  select.value = wanted && runs.includes(wanted) ? wanted : runs[runs.length - 1];
  await openRun(select.value);
}

async function openRun(id) {
  runId = id; oldest = null; selected = null;
  $('timeline-body').replaceChildren();
  $('evidence').replaceChildren(h('p', { class: 'dim' }, 'Click an iteration to see its diff, checks, verdict, prompt and transcript.'));
  await Promise.all([refreshSummary(), loadIterations(true), refreshBurn()]);
  listen();
}

async function refreshSummary() {
  const s = await api('/api/runs/' + runId);
  $('status').textContent = s.status + (s.stop ? ': ' + s.stop.reason : '') + (s.paused ? ' (paused)' : '');
  $('status').className = 'badge ' + s.status + (s.stop ? ' ' + s.stop.reason : '');
  $('goal').textContent = s.goal;
  const elapsed = s.elapsedMs || 0;
  const stat = (id, value, label) => h('div', { class: 'stat', 'data-testid': id }, h('b', {}, value), h('span', {}, label));
  $('stats').replaceChildren(
    stat('stat-iterations', s.iterations, 'iterations' + (s.budgets ? ' of ' + s.budgets.iterations : '')),
    stat('stat-features', s.featuresPassing + '/' + s.featuresTotal, 'features passing'),
    stat('stat-tokens', (s.usage.inputTokens + s.usage.outputTokens).toLocaleString(), 'tokens'),
    stat('stat-cost', '$' + s.usage.costUsd.toFixed(2), 'cost'),
    stat('stat-elapsed', fmtMs(elapsed), 'wall clock'),
    stat('stat-outcomes', Object.entries(s.outcomes).map(([k, v]) => v + ' ' + k).join(', ') || 'none yet', 'outcomes'),
  );
  $('verdict').textContent = s.lastVerdict ? 'Last verdict: ' + s.lastVerdict : '';
  $('stop').textContent = s.stop ? 'Stopped (' + s.stop.reason + ', exit ' + s.stop.exitCode + '): ' + s.stop.message : '';
  $('features-body').replaceChildren(...s.features.map((f) => h('tr', { 'data-testid': 'feature-row' },
    h('td', {}, f.id), h('td', {}, f.title), h('td', { class: f.status }, f.status),
    h('td', { class: 'dim' }, f.evidence ? 'iteration ' + f.evidence.iteration + ' at ' + f.evidence.commit.slice(0, 8) + ': ' + f.evidence.command + ' → exit ' + f.evidence.exitCode : ''))));
  $('tasks').hidden = s.tasks === null;
  if (s.tasks !== null) $('tasks-body').replaceChildren(...s.tasks.map((t) => h('tr', {}, h('td', {}, t.id), h('td', {}, t.status), h('td', {}, t.attempts), h('td', { class: 'dim' }, t.note || ''))));
}

function iterationRow(it) {
  const row = h('tr', { class: 'clickable', 'data-testid': 'iteration-row', 'data-iteration': it.iteration, onclick: () => showEvidence(it.iteration, row) },
    h('td', {}, it.iteration),
    h('td', { class: 'outcome-' + it.outcome.replace(/ /g, '-') }, it.outcome),
    h('td', {}, it.featuresPassing == null ? '' : it.featuresPassing + '/' + it.featuresTotal),
    h('td', {}, fmtMs(it.durationMs)),
    h('td', { class: 'dim' }, it.summary.replace(/^[^:]*: /, '')));
  return row;
}

async function loadIterations(reset) {
  const query = reset || oldest === null ? '' : '&before=' + oldest;
  const page = await api('/api/runs/' + runId + '/iterations?limit=50' + query);
  $('timeline-total').textContent = page.total + ' iterations';
  $('timeline-total').dataset.total = page.total;
  const rows = page.iterations.map(iterationRow);
  if (reset) $('timeline-body').replaceChildren(...rows); else $('timeline-body').append(...rows);
  if (page.iterations.length > 0) oldest = page.iterations[page.iterations.length - 1].iteration;
  $('more').hidden = oldest === null || oldest <= 1 || page.iterations.length === 0;
  if (selected !== null) for (const row of $('timeline-body').children) if (Number(row.dataset.iteration) === selected) row.classList.add('selected');
}

function diffView(text) {
  if (text.trim() === '') return h('p', { class: 'dim' }, 'No changes.');
  return h('pre', { 'data-testid': 'evidence-diff' }, ...text.split('\\n').map((line) =>
    h('span', { class: line.startsWith('+') && !line.startsWith('+++') ? 'diff-add' : line.startsWith('-') && !line.startsWith('---') ? 'diff-del' : line.startsWith('@@') ? 'diff-hunk' : '' }, line + '\\n')));
}

async function showEvidence(iteration, row) {
  selected = iteration;
  for (const other of $('timeline-body').children) other.classList.toggle('selected', other === row);
  const e = await api('/api/runs/' + runId + '/iterations/' + iteration);
  const block = (title, node) => [h('h3', {}, title), node];
  $('evidence').replaceChildren(
    h('p', { 'data-testid': 'evidence-title' }, 'Iteration ' + iteration + ': ' + e.summary.summary),
    ...block('Judge', h('pre', { 'data-testid': 'evidence-judge' }, e.judge ? e.judge.reason : 'no verdict recorded')),
    ...block('Diff', diffView(e.diff)),
    ...block('Checks', h('div', { 'data-testid': 'evidence-checks' }, ...e.checks.map((c) => [h('p', { class: 'dim' }, c.file), h('pre', {}, c.output || '(no output)')]))),
    ...block('Handoff', h('pre', {}, e.handoff || '(none)')),
    ...block('Prompt', h('pre', {}, e.prompt)),
    ...block('Transcript', h('pre', {}, e.transcript || '(empty)')),
  );
}

async function refreshBurn() {
  const { points } = await api('/api/runs/' + runId + '/burn?max=300');
  const svg = $('burn');
  const width = 600, height = 160, pad = 28;
  svg.replaceChildren();
  if (points.length < 2) { svg.append(svgNode('text', { x: pad, y: height / 2 }, 'not enough data yet')); return; }
  const maxT = Math.max(...points.map((p) => p.elapsedMs)) || 1;
  const series = [['tokens', '#58a6ff'], ['costUsd', '#d29922'], ['iterations', '#3fb950']];
  for (const [key, color] of series) {
    const max = Math.max(...points.map((p) => p[key])) || 1;
    const d = points.map((p) => (pad + (p.elapsedMs / maxT) * (width - 2 * pad)).toFixed(1) + ',' + (height - pad - (p[key] / max) * (height - 2 * pad)).toFixed(1)).join(' ');
    svg.append(svgNode('polyline', { points: d, fill: 'none', stroke: color, 'stroke-width': 2, 'data-series': key }));
  }
  svg.append(svgNode('text', { x: pad, y: height - 8 }, '0'), svgNode('text', { x: width - pad - 40, y: height - 8 }, fmtMs(maxT)));
  const last = points[points.length - 1];
  svg.append(svgNode('text', { x: pad, y: 14 }, 'tokens ' + last.tokens.toLocaleString() + ' · cost $' + last.costUsd.toFixed(2) + ' · iterations ' + last.iterations));
}
function svgNode(tag, attrs, text) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function listen() {
  if (source) source.close();
  source = new EventSource('/api/runs/' + runId + '/stream');
  source.addEventListener('events', () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      await Promise.all([refreshSummary(), loadIterations(true), refreshBurn()]);
      $('live').textContent = 'updated ' + new Date().toLocaleTimeString();
    }, 150);
  });
}

$('run').addEventListener('change', (event) => openRun(event.target.value));
$('more').addEventListener('click', () => loadIterations(false));
loadRuns().then(() => { document.body.dataset.ready = 'true'; }, (error) => { $('error').textContent = String(error); });
`;

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>baton dashboard</title>
<style>${style}</style>
</head>
<body>
<header>
  <h1>baton</h1>
  <select id="run" aria-label="run"></select>
  <span id="status" class="badge" data-testid="status"></span>
  <span id="goal" class="dim"></span>
  <span id="live" class="dim" data-testid="live"></span>
  <span id="error" style="color:var(--bad)"></span>
</header>
<p id="empty" hidden style="padding:20px">No run recorded in this workspace yet: start one with <code>baton run</code>.</p>
<main>
  <section class="full">
    <div id="stats" class="stats"></div>
    <p id="verdict" class="dim" data-testid="verdict"></p>
    <p id="stop" class="stop" data-testid="stop"></p>
  </section>
  <section>
    <h2>Timeline <span id="timeline-total" class="dim" data-testid="timeline-total"></span></h2>
    <table><thead><tr><th>#</th><th>outcome</th><th>passing</th><th>time</th><th>summary</th></tr></thead><tbody id="timeline-body"></tbody></table>
    <p><button id="more" hidden>older iterations</button></p>
  </section>
  <section>
    <h2>Evidence</h2>
    <div id="evidence" data-testid="evidence"></div>
  </section>
  <section>
    <h2>Budget burn</h2>
    <svg id="burn" viewBox="0 0 600 160" width="100%" height="160" data-testid="burn" role="img" aria-label="tokens, cost and iterations over time"></svg>
    <p class="dim"><span style="color:#58a6ff">tokens</span> · <span style="color:#d29922">cost</span> · <span style="color:#3fb950">iterations</span> over wall-clock time</p>
  </section>
  <section>
    <h2>Features</h2>
    <table><thead><tr><th>id</th><th>title</th><th>status</th><th>evidence</th></tr></thead><tbody id="features-body"></tbody></table>
  </section>
  <section id="tasks" class="full" hidden>
    <h2>Tasks</h2>
    <table><thead><tr><th>task</th><th>status</th><th>attempts</th><th>note</th></tr></thead><tbody id="tasks-body"></tbody></table>
  </section>
</main>
<script>${script}</script>
</body>
</html>`;
}

import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { report, summaryLines, writeRunReceipt } from '../src/api/report.ts';
import { publishCommandLine } from '../src/api/publish.ts';
import { runLoop } from '../src/api/run.ts';
import { buildReceipt } from '../src/observe/receipt/receipt.ts';
import { renderHtml } from '../src/observe/receipt/html.ts';
import { renderMarkdown } from '../src/observe/receipt/markdown.ts';
import { emptyUsage, foldEvents } from '../src/log/reducer.ts';
import type { NewRunEvent, RunEvent } from '../src/log/events.ts';
import { readRun } from '../src/api/inspect.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { main } from '../src/cli/main.ts';
import { feature, git, makeWorkspace, tempDir } from './helpers.ts';

// Controls a receipt must never carry (tab and newline aside), and the right-to-left override.
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u0008\u000B-\u001F\u007F\u202E]/;
const hostileTitle = '<script>alert(1)</script>';
// An escape sequence that repaints a terminal, a bell, NUL, a bidi override, a fake heading and a mention.
const hostileHandoff =
  'made a.txt \u001b[31mRED\u001b[0m\u0007\u0000 \u202Eevil\n# Approved by @octocat\nCLAIM: DONE';

/**
 * Three sessions: the first flips FEATURES.json itself (refused: the work is kept under a rejected
 * ref), the second does half the work and claims done (the judge rejects the claim), the third
 * finishes.
 */
function threeSessions() {
  return createFunctionAgent(({ cwd, env }) => {
    const path = join(cwd, 'FEATURES.json');
    if (env.BATON_ITERATION === '1') {
      writeFileSync(join(cwd, 'notes.txt'), 'first session\n');
      writeFileSync(path, readFileSync(path, 'utf8').replaceAll('"failing"', '"passing"'));
      return 'all features pass now\nCLAIM: DONE';
    }
    if (env.BATON_ITERATION === '2') {
      writeFileSync(join(cwd, 'a.txt'), 'ok\n');
      return hostileHandoff;
    }
    writeFileSync(join(cwd, 'b.txt'), 'ok\n');
    return 'made b.txt\nCLAIM: DONE';
  });
}

async function finishedRun() {
  const workspace = await makeWorkspace({
    features: [feature('F1', 'test -f a.txt', hostileTitle), feature('F2', 'test -f b.txt', 'second file')],
    budgets: { iterations: 5, noProgressIterations: 0 },
  });
  const result = await runLoop({ workspace, agent: threeSessions() });
  return { workspace, result };
}

describe('the receipt', () => {
  it('is folded from the log: verdict, features with evidence, the rejected claims, guards, refs, commits, numbers', async () => {
    const { workspace, result } = await finishedRun();
    expect(result.stop.reason).toBe('done');
    const { receipt } = await report(workspace, { format: 'json' });
    expect(receipt.schema).toBe('baton.receipt/1');
    expect(receipt.runId).toBe(result.runId);
    expect(receipt.goal).toBe('Make the features pass.');
    // The run's own branch; main is checked out again.
    expect(receipt.branch).toBe(`baton/${result.runId}`);
    expect(receipt.verdict.done).toBe(true);
    expect(receipt.stop?.reason).toBe('done');
    expect(receipt.iterations.completed).toBe(3);
    expect(receipt.features.passing).toBe(2);
    expect(receipt.features.total).toBe(2);

    const [first, second] = receipt.features.list;
    expect(first).toMatchObject({ id: 'F1', title: hostileTitle, passing: true });
    expect(first?.evidence).toMatchObject({
      command: 'test -f a.txt',
      exitCode: 0,
      passed: true,
      iteration: 3,
    });
    expect(second).toMatchObject({ id: 'F2', title: 'second file', passing: true });
    expect(second?.evidence).toMatchObject({ command: 'test -f b.txt', exitCode: 0, iteration: 3 });
    // The evidence names a commit of the run's branch. FEATURES.json (which cannot name the commit it is
    // part of) names the commit the checks ran on, kept under a ref, whose tree that branch commit's
    // Baton-Verified-Tree trailer names.
    const branch = `baton/${result.runId}`;
    const onBranch = second?.evidence?.commit ?? '';
    expect(git(workspace, 'merge-base', '--is-ancestor', onBranch, branch)).toBe('');
    const features = JSON.parse(git(workspace, 'show', `${branch}:FEATURES.json`)) as {
      features: { evidence: { commit: string; tree: string } }[];
    };
    const checked = features.features[1]?.evidence;
    expect(git(workspace, 'rev-parse', `refs/baton/${result.runId}/verified-3`).trim()).toBe(checked?.commit);
    expect(git(workspace, 'rev-parse', `${checked?.commit ?? ''}^{tree}`).trim()).toBe(checked?.tree);
    expect(
      git(workspace, 'log', '-1', '--format=%(trailers:key=Baton-Verified-Tree,valueonly)', onBranch).trim(),
    ).toBe(checked?.tree);

    // Iteration 1's claim (a status flip) and iteration 2's (F2 still failing) were rejected, with why.
    expect(receipt.rejectedClaims.map((claim) => claim.iteration)).toEqual([1, 2]);
    expect(receipt.rejectedClaims[0]?.reason).toContain('changed the status or evidence of F1, F2');
    expect(receipt.rejectedClaims[1]?.failing).toEqual(['F2']);
    expect(receipt.guards).toEqual([
      expect.objectContaining({ guard: 'test-gaming', action: 'rejected', iteration: 1 }),
    ]);
    expect(receipt.refs).toEqual([
      expect.objectContaining({
        ref: `refs/baton/rejected/${result.runId}/1`,
        kind: 'rejected',
        iteration: 1,
      }),
    ]);
    expect(git(workspace, 'show', `${receipt.refs[0]?.ref ?? ''}:notes.txt`)).toBe('first session\n');
    const commits = git(workspace, 'rev-list', branch).trim().split('\n');
    expect(receipt.commits.length).toBeGreaterThanOrEqual(2);
    for (const commit of receipt.commits) expect(commits.includes(commit.commit)).toBe(commit.kept);
    // Off the branch: iteration 1's refused work, and the work commits folded into their iteration's
    // one commit (git.commit: one).
    const off = receipt.commits.filter((commit) => !commit.kept);
    expect(off.every((commit) => commit.purpose === 'work')).toBe(true);
    expect(off.map((commit) => commit.iteration)).toEqual([1, 2, 3]);
    expect(
      receipt.commits.filter((commit) => commit.purpose === 'iteration').map((c) => c.iteration),
    ).toEqual([2, 3]);
    expect(receipt.sessions).toEqual({ total: 3, byStatus: { completed: 3 } });
    expect(receipt.usage.costUsd).toBe(0);
    expect(receipt.elapsedMs).toBeGreaterThan(0);
    expect(receipt.handoffs.map((handoff) => handoff.iteration)).toEqual([1, 2, 3]);

    // The run wrote the same receipt next to its log.
    expect(result.receipt?.markdownPath).toBe(join(workspace, '.baton/runs', result.runId, 'receipt.md'));
    const written = JSON.parse(
      readFileSync(join(workspace, '.baton/runs', result.runId, 'receipt.json'), 'utf8'),
    ) as unknown;
    expect(written).toEqual(JSON.parse(JSON.stringify(receipt)));
    expect(readFileSync(result.receipt?.markdownPath ?? '', 'utf8')).toBe((await report(workspace)).text);
    expect(git(workspace, 'status', '--porcelain')).toBe('');

    expect(summaryLines(receipt, '/r.md')).toEqual([
      expect.stringMatching(
        /^Done: 2\/2 features passing after 3 iteration\(s\), 3 commit\(s\), 2 rejected claim\(s\), \$0\.00, /,
      ),
      `  refused work kept at "refs/baton/rejected/${result.runId}/1" (rejected)`,
      '  receipt: /r.md  (also: baton report --format html)',
    ]);
    const markdown = (await report(workspace, { format: 'md' })).text;
    expect(markdown).toMatch(/^# baton run `[^`]+`: Done\n/);
    expect(markdown).toContain('2/2 features passing');
    expect(markdown).toContain('| passing | `F2` | second file | `test -f b.txt` | 0 |');
    expect(markdown).toContain('## Claims the judge rejected');
    expect(markdown).toContain('- iteration 2: ');
    expect(markdown).toContain(`\`refs/baton/rejected/${result.runId}/1\``);
    const html = (await report(workspace, { format: 'html' })).text;
    expect(html).toContain('<td class="passing">passing</td><td><code>F2</code></td><td>second file</td>');
    expect(html).toContain(`refs/baton/rejected/${result.runId}/1`);
  });

  it('escapes hostile worker text in markdown and html: a script title, control characters, a fake heading, a mention', async () => {
    const { workspace } = await finishedRun();
    // Also the raw text, as a log could hold it if a writer ever let it through unsanitised.
    const record = readRun(workspace);
    const events = record.events.map((event) =>
      event.type === 'agent.ended' && event.iteration === 2
        ? { ...event, finalMessage: hostileHandoff }
        : event,
    );
    const receipt = buildReceipt({
      runId: record.runId,
      events,
      state: foldEvents(events),
      elapsedMs: 1,
      featureTitles: new Map([['F1', hostileTitle]]),
    });
    for (const markdown of [renderMarkdown(receipt), (await report(workspace, { format: 'md' })).text]) {
      expect(markdown).not.toContain('<script>');
      expect(markdown).toContain('&lt;script&gt;alert\\(1\\)&lt;/script&gt;');
      expect(markdown).not.toMatch(controlCharacters);
      expect(markdown).not.toMatch(/^# Approved/m);
      expect(markdown).not.toContain('@octocat');
      expect(markdown).toContain('\\# Approved by &#64;octocat');
    }
    for (const html of [renderHtml(receipt), (await report(workspace, { format: 'html' })).text]) {
      expect(html).not.toContain('<script>');
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toMatch(controlCharacters);
      expect(html).toContain("content=\"default-src 'none'; style-src 'unsafe-inline'\"");
      expect(html).toContain('made a.txt [31mRED[0m');
    }
  });

  it("names every ref that holds set-aside work, and a person's edits with their author", () => {
    const written: NewRunEvent[] = [
      {
        type: 'run.started',
        runId: 'r1',
        goal: 'g',
        workspace: '/w',
        headCommit: 'a'.repeat(40),
        budgets: { iterations: 5, wallClockMs: 60_000, noProgressIterations: 0 },
        featuresTotal: 1,
        featuresPassing: 0,
      },
      { type: 'iteration.started', iteration: 1, headCommit: 'a'.repeat(40) },
      {
        type: 'human.edited',
        iteration: 1,
        paths: ['notes.md'],
        commit: 'c'.repeat(40),
        author: 'Ada <ada@example.com>',
      },
      {
        type: 'agent.rate-limited',
        iteration: 1,
        attempt: 1,
        message: 'HTTP 429',
        waitMs: 1000,
        savedAs: 'refs/baton/rate-limited/r1/1-1',
      },
      { type: 'tree.polluted', iteration: 1, paths: ['tmp.log'], stash: 'd'.repeat(40) },
      { type: 'commit.created', iteration: 1, commit: 'e'.repeat(40), purpose: 'work' },
      {
        type: 'iteration.interrupted',
        iteration: 1,
        savedAs: 'refs/baton/interrupted/r1/1',
        resetTo: 'a'.repeat(40),
        reason: 'the harness died mid-iteration',
      },
      {
        type: 'checkpoint.restored',
        tag: 'refs/baton/r1/checkpoint-0',
        commit: 'a'.repeat(40),
        backup: 'refs/baton/backup/r1/1',
        featuresPassing: 0,
        featuresTotal: 1,
        passingFeatures: [],
      },
      { type: 'run.stopped', reason: 'stopped', message: 'stopped by a person', exitCode: 5 },
    ];
    const events = written.map((event, index) => ({
      ...event,
      v: 2,
      seq: index + 1,
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
    })) as RunEvent[];
    const receipt = buildReceipt({ runId: 'r1', events, state: foldEvents(events), elapsedMs: 8000 });
    expect(receipt.refs.map((ref) => [ref.kind, ref.ref])).toEqual([
      ['rate-limited', 'refs/baton/rate-limited/r1/1-1'],
      ['stash', 'd'.repeat(40)],
      ['interrupted', 'refs/baton/interrupted/r1/1'],
      ['backup', 'refs/baton/backup/r1/1'],
    ]);
    expect(receipt.humanEdits).toEqual([
      { iteration: 1, author: 'Ada <ada@example.com>', commit: 'c'.repeat(40), paths: ['notes.md'] },
    ]);
    expect(receipt.commits).toEqual([expect.objectContaining({ kept: false })]);
    expect(receipt.iterations).toEqual({ completed: 0, interrupted: 1, last: 1 });
    expect(receipt.verdict).toEqual({ done: false, reason: null });
    expect(receipt.usage).toEqual(emptyUsage);
    const markdown = renderMarkdown(receipt);
    expect(markdown).toContain('# baton run `r1`: Not done (stopped)');
    expect(markdown).toContain('Ada &lt;ada&#64;example.com&gt;');
    expect(renderHtml(receipt)).toContain('Ada &lt;ada@example.com&gt;');
  });

  it('refuses an unknown format and an unknown run with the fix', async () => {
    const workspace = await makeWorkspace();
    await expect(report(workspace)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
    await expect(report(workspace, { format: 'pdf' as 'md' })).rejects.toMatchObject({ code: 'USAGE' });
    expect(existsSync(join(workspace, '.baton', 'runs'))).toBe(false);
  });
});

/** The CLI in this process, with what it printed. */
async function baton(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** A workspace whose command agent makes a.txt, with `publishYaml` committed before the run. */
async function publishableWorkspace(publishYaml: string): Promise<string> {
  const workspace = await makeWorkspace({
    agentYaml: 'agent:\n  type: command\n  command: "touch done.txt; echo made done.txt"\n  timeout: 1m',
  });
  if (publishYaml !== '') {
    writeFileSync(
      join(workspace, 'baton.yaml'),
      `${readFileSync(join(workspace, 'baton.yaml'), 'utf8')}${publishYaml}`,
    );
    git(workspace, 'commit', '-qam', 'publish settings');
  }
  return workspace;
}

/** A stand-in `gh` that records its argv and the --body-file's content next to itself. */
function standInGh(root: string): string {
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const script = join(bin, 'gh');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      'here=$(dirname "$0")',
      'printf \'%s\\n\' "$@" > "$here/argv.txt"',
      'while [ $# -gt 0 ]; do',
      '  if [ "$1" = "--body-file" ]; then cat "$2" > "$here/body.md"; fi',
      '  shift',
      'done',
      'echo "https://example.invalid/pull/1"',
      '',
    ].join('\n'),
  );
  chmodSync(script, 0o755);
  return script;
}

describe('baton run, report and publish', () => {
  it('run ends with a summary; publish pushes the branch to the remote and hands the receipt to publish.command', async () => {
    const root = tempDir();
    const gh = standInGh(root);
    const workspace = await publishableWorkspace(
      `publish:\n  command: "${gh} pr create --fill --body-file {report}"\n`,
    );
    const bare = join(root, 'remote.git');
    git(root, 'init', '-q', '--bare', bare);
    git(workspace, 'remote', 'add', 'origin', bare);

    const run = await baton(['run', '-C', workspace]);
    expect(run.code).toBe(0);
    const runId = readRun(workspace).runId;
    const receiptPath = join(workspace, '.baton/runs', runId, 'receipt.md');
    expect(run.stdout).toContain('Done: 1/1 features passing after 1 iteration(s)');
    expect(run.stdout).toContain(`receipt: ${receiptPath}`);

    // A worker could have left a different command in the working copy: the run's committed one is used.
    const pwned = join(root, 'pwned');
    writeFileSync(
      join(workspace, 'baton.yaml'),
      readFileSync(join(workspace, 'baton.yaml'), 'utf8').replace(
        /command: ".*gh pr create.*"/,
        `command: "touch ${pwned}"`,
      ),
    );
    const published = await baton(['publish', '-C', workspace]);
    expect(published.stderr).toContain('differs from the one the run started with');
    expect(published.code).toBe(0);
    expect(existsSync(pwned)).toBe(false);
    // The run's branch is pushed (main, checked out again, is not).
    const branch = `baton/${runId}`;
    const head = git(workspace, 'rev-parse', branch).trim();
    expect(git(root, `--git-dir=${bare}`, 'rev-parse', branch).trim()).toBe(head);
    expect(git(root, `--git-dir=${bare}`, 'for-each-ref', '--format=%(refname)').trim()).toBe(
      `refs/heads/${branch}`,
    );
    expect(published.stdout).toContain(`pushed ${branch} (${head.slice(0, 12)}) to origin`);
    expect(published.stdout).toContain('https://example.invalid/pull/1');
    expect(readFileSync(join(dirname(gh), 'argv.txt'), 'utf8')).toBe(
      `pr\ncreate\n--fill\n--body-file\n${receiptPath}\n`,
    );
    const body = readFileSync(join(dirname(gh), 'body.md'), 'utf8');
    expect(body).toBe(readFileSync(receiptPath, 'utf8'));
    expect(body).toMatch(/^# baton run `[^`]+`: Done\n/);
    expect(body).toContain('| passing | `F1` | feature F1 | `test -f done.txt` | 0 |');

    const out = join(root, 'receipt.json');
    const reported = await baton(['report', '-C', workspace, '--format', 'json', '--out', out]);
    expect(reported.code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({
      schema: 'baton.receipt/1',
      runId,
      branch: `baton/${runId}`,
    });
    const html = await baton(['report', '-C', workspace, '--run', runId, '--format', 'html']);
    expect(html.stdout).toMatch(/^<!doctype html>/);
    expect((await baton(['report', '-C', workspace, '--format', 'pdf'])).code).toBe(2);
  });

  it('resume ends with the same summary', async () => {
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f never.txt')],
      budgets: { iterations: 1, noProgressIterations: 0 },
    });
    const first = await baton(['run', '-C', workspace]);
    expect(first.code).toBe(3);
    expect(first.stdout).toContain('Not done (budget-iterations): 0/1 features passing after 1 iteration(s)');
    const resumed = await baton(['resume', '-C', workspace]);
    expect(resumed.code).toBe(3);
    expect(resumed.stdout).toContain(
      'Not done (budget-iterations): 0/1 features passing after 1 iteration(s)',
    );
    expect(resumed.stdout).toContain(
      `receipt: ${join(workspace, '.baton/runs', readRun(workspace).runId, 'receipt.md')}`,
    );
  });

  it('publish without a remote is refused with the fix, and pushes nothing', async () => {
    const workspace = await publishableWorkspace('');
    expect((await baton(['run', '-C', workspace])).code).toBe(0);
    const refused = await baton(['publish', '-C', workspace]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('has no git remote');
    expect(refused.stderr).toContain('git remote add origin <url>');
    const other = await baton(['publish', '-C', workspace, '--remote', '--upload-pack=evil']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('nothing was pushed');
  });
});

describe('publish and the receipt files, on hostile ground', () => {
  it("runs no hook of the project's on push, pushes only the run branch, and quotes {report} and {branch} for the shell", async () => {
    const root = tempDir();
    const workspace = await publishableWorkspace('');
    const bare = join(root, 'remote.git');
    git(root, 'init', '-q', '--bare', bare);
    git(workspace, 'remote', 'add', 'origin', bare);
    expect((await baton(['run', '-C', workspace])).code).toBe(0);
    // A pre-push hook in .git/hooks and one where core.hooksPath (worker-writable) points: neither runs.
    const canary = join(root, 'hook-ran');
    const hook = `#!/bin/sh\ntouch ${canary}\n`;
    writeFileSync(join(workspace, '.git/hooks/pre-push'), hook, { mode: 0o755 });
    mkdirSync(join(workspace, 'hooks'));
    writeFileSync(join(workspace, 'hooks/pre-push'), hook, { mode: 0o755 });
    git(workspace, 'config', 'core.hooksPath', 'hooks');
    // The hook is live: a plain git push runs it.
    git(root, 'init', '-q', '--bare', join(root, 'probe.git'));
    git(workspace, 'push', '-q', join(root, 'probe.git'), 'main');
    expect(existsSync(canary)).toBe(true);
    rmSync(canary);
    const published = await baton(['publish', '-C', workspace]);
    expect(published.code, published.stderr).toBe(0);
    expect(existsSync(canary)).toBe(false);
    expect(git(root, `--git-dir=${bare}`, 'for-each-ref', '--format=%(refname)').trim()).toBe(
      `refs/heads/baton/${readRun(workspace).runId}`,
    );

    expect(
      publishCommandLine(
        'gh pr create --body-file {report} --head {branch}',
        "/tmp/a b/it's.md",
        'x;rm -rf ~',
      ),
    ).toBe("gh pr create --body-file '/tmp/a b/it'\\''s.md' --head 'x;rm -rf ~'");
    expect(publishCommandLine('cat {report}', '/tmp/plain.md', 'main')).toBe('cat /tmp/plain.md');
  });

  it('never writes the receipt through a link planted where it goes, nor --out', async () => {
    const root = tempDir();
    const workspace = await publishableWorkspace('');
    expect((await baton(['run', '-C', workspace])).code).toBe(0);
    const runId = readRun(workspace).runId;
    const target = join(root, 'outside.txt');
    writeFileSync(target, 'untouched\n');
    const receipt = join(workspace, '.baton/runs', runId, 'receipt.md');
    rmSync(receipt);
    symlinkSync(target, receipt);
    await expect(writeRunReceipt(workspace, runId)).rejects.toMatchObject({ code: 'UNSAFE_FILE' });
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
    // Nor where a person's --out points, when the worker planted a link there.
    symlinkSync(target, join(workspace, 'receipt.html'));
    const out = await baton([
      'report',
      '-C',
      workspace,
      '--format',
      'html',
      '--out',
      join(workspace, 'receipt.html'),
    ]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('link');
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
  });
});

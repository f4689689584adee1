import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runLoop } from '../src/api/run.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { feature, git, makeWorkspace, tempDir } from './helpers.ts';

/** A loopback HTTP receiver that keeps every POSTed body (an OTLP collector, a webhook endpoint). */
async function receiver(): Promise<{ url: string; bodies: { path: string; body: string }[] }> {
  const bodies: { path: string; body: string }[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      bodies.push({ path: request.url ?? '', body });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

function configure(workspace: string, yaml: string): void {
  appendFileSync(join(workspace, 'baton.yaml'), yaml);
  git(workspace, 'commit', '-qam', 'observability settings');
}

interface OtlpSpan {
  readonly name: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly attributes: { key: string; value: Record<string, unknown> }[];
}

describe('traces and notifications', () => {
  it('exports OpenTelemetry spans for the run, each iteration and each step to an OTLP endpoint', async () => {
    const collector = await receiver();
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')],
    });
    configure(
      workspace,
      `telemetry:\n  otlpEndpoint: ${collector.url}/v1/traces\n  headers:\n    x-team: agents\n`,
    );
    const result = await runLoop({
      workspace,
      agent: createFunctionAgent(({ cwd }) => {
        const next = ['a.txt', 'b.txt'].find((file) => !existsSync(join(cwd, file)));
        if (next !== undefined) writeFileSync(join(cwd, next), 'ok\n');
        return `created ${next ?? 'nothing'}`;
      }),
    });
    expect(result.stop.reason).toBe('done');
    const spans: OtlpSpan[] = collector.bodies
      .filter((entry) => entry.path === '/v1/traces')
      .flatMap((entry) => {
        const parsed = JSON.parse(entry.body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
        return parsed.resourceSpans.flatMap((resource) =>
          resource.scopeSpans.flatMap((scope) => scope.spans),
        );
      });
    const named = (name: string): OtlpSpan[] => spans.filter((span) => span.name === name);
    expect(named('baton.run')).toHaveLength(1);
    expect(named('baton.iteration')).toHaveLength(2);
    for (const step of ['baton.smoke', 'baton.agent', 'baton.verify', 'baton.judge', 'baton.record']) {
      expect(named(step), step).toHaveLength(2);
    }
    const run = named('baton.run')[0];
    for (const iteration of named('baton.iteration')) expect(iteration.parentSpanId).toBe(run?.spanId);
    const iterationIds = new Set(named('baton.iteration').map((span) => span.spanId));
    for (const agent of named('baton.agent')) {
      expect(iterationIds.has(agent.parentSpanId ?? '')).toBe(true);
      expect(agent.attributes).toContainEqual({
        key: 'baton.agent.status',
        value: { stringValue: 'completed' },
      });
    }
    expect(run?.attributes).toContainEqual({ key: 'baton.stop.reason', value: { stringValue: 'done' } });
  });

  it('notifies a command and a webhook when the worker asks, a feature is parked and the run stops', async () => {
    const webhook = await receiver();
    const outside = tempDir();
    const notes = join(outside, 'notes.jsonl');
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f a.txt'), feature('F2', 'test -f b.txt')],
    });
    configure(
      workspace,
      `notify:\n  command: ${JSON.stringify(`(cat; echo; echo "kind=$BATON_NOTIFY_KIND") >> ${notes}`)}\n  webhook: ${webhook.url}/hook\n`,
    );
    // The worker asks about F1 instead of working, then does F2: F1 is parked, and with only F1 left the run stops.
    const result = await runLoop({
      workspace,
      agent: createFunctionAgent(({ cwd, prompt }) => {
        if (!existsSync(join(outside, 'asked-once'))) {
          writeFileSync(join(outside, 'asked-once'), 'yes');
          return 'QUESTION: F1 needs a database. Which one should I use?';
        }
        if (prompt.includes('F2') && !existsSync(join(cwd, 'b.txt'))) {
          writeFileSync(join(cwd, 'b.txt'), 'ok\n');
        }
        return 'created b.txt';
      }),
    });
    expect(result.stop.reason).toBe('parked');
    const received = webhook.bodies.map(
      (entry) => JSON.parse(entry.body) as { kind: string; message: string; text: string; runId: string },
    );
    expect(received.map((entry) => entry.kind)).toEqual(['question', 'park', 'stop']);
    expect(received[0]?.message).toContain('Which one should I use?');
    expect(received[1]?.message).toContain('feature F1 parked');
    expect(received[2]?.message).toContain('run stopped (parked');
    expect(received[2]?.text).toContain(workspace);
    expect(new Set(received.map((entry) => entry.runId))).toEqual(new Set([result.runId]));
    const commandLog = readFileSync(notes, 'utf8');
    expect(commandLog.match(/^kind=(\w+)$/gm)).toEqual(['kind=question', 'kind=park', 'kind=stop']);
    expect(readFileSync(join(workspace, '.baton', 'runs', result.runId, 'notify.log'), 'utf8')).toContain(
      'stop webhook: HTTP 200',
    );
  });
});

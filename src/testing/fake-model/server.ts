import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { conditionHolds, normalizeRequest, type NormalizedRequest, type Wire } from './request.ts';
import { errorBody, renderBody, renderStream } from './render.ts';
import {
  fakeModelScriptSchema,
  type FakeModelScript,
  type FakeModelScriptInput,
  type FakeReply,
} from './script.ts';

export interface RecordedRequest {
  readonly wire: Wire;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
  readonly request: NormalizedRequest;
  /** The rule that answered (its name or index), or "otherwise". */
  readonly rule: string;
}

export interface FakeModelServer {
  readonly url: string;
  /** For ANTHROPIC_BASE_URL (the client adds /v1/messages). */
  readonly anthropicBaseUrl: string;
  /** For OpenAI clients (they add /responses or /chat/completions). */
  readonly openaiBaseUrl: string;
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

export interface FakeModelServerOptions {
  readonly script: FakeModelScriptInput;
  /** 0 (default): any free port. */
  readonly port?: number;
}

function wireOf(path: string): Wire | undefined {
  if (path === '/v1/messages') return 'anthropic';
  if (path === '/v1/responses' || path === '/responses') return 'responses';
  if (path === '/v1/chat/completions' || path === '/chat/completions') return 'chat';
  return undefined;
}

function choose(
  script: FakeModelScript,
  request: NormalizedRequest,
  uses: Map<number, number>,
): { reply: FakeReply; rule: string } {
  const index = script.rules.findIndex(
    (rule, position) =>
      conditionHolds(rule.when, request) &&
      (rule.maxUses === undefined || (uses.get(position) ?? 0) < rule.maxUses),
  );
  uses.set(index, (uses.get(index) ?? 0) + 1);
  const rule = script.rules[index];
  return rule === undefined
    ? { reply: script.otherwise, rule: 'otherwise' }
    : { reply: rule.reply, rule: rule.name ?? String(index) };
}

function readBody(incoming: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    incoming.setEncoding('utf8');
    incoming.on('data', (chunk: string) => {
      body += chunk;
    });
    incoming.on('end', () => {
      resolve(body);
    });
    incoming.on('error', reject);
  });
}

/**
 * A model API on 127.0.0.1 for offline tests of real agents: Anthropic Messages, OpenAI Responses and
 * Chat Completions, streaming (SSE) and not, with tool calls and usage; replies chosen by the script
 * from the request's content; faults on demand (429, 500, a hang, a malformed stream). Every request is
 * recorded.
 */
export async function startFakeModelServer(options: FakeModelServerOptions): Promise<FakeModelServer> {
  const script = fakeModelScriptSchema.parse(options.script);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const uses = new Map<number, number>();

  const handle = async (incoming: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (incoming.url ?? '/').split('?')[0] ?? '/';
    if (incoming.method === 'HEAD' || (incoming.method === 'GET' && path === '/api/hello')) {
      response.writeHead(200).end();
      return;
    }
    if (incoming.method === 'GET' && /\/models$/.test(path)) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          object: 'list',
          data: [
            {
              id: 'fake-model',
              object: 'model',
              display_name: 'Fake model',
              created: 0,
              owned_by: 'baton',
            },
          ],
        }),
      );
      return;
    }
    const text = await readBody(incoming);
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      response
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'the request body is not JSON' } }));
      return;
    }
    if (path === '/v1/messages/count_tokens') {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ input_tokens: Math.ceil(text.length / 4) }));
      return;
    }
    const wire = wireOf(path);
    if (wire === undefined || incoming.method !== 'POST') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: { message: `the fake model server has no ${incoming.method ?? ''} ${path}` },
        }),
      );
      return;
    }
    const request = normalizeRequest(wire, body);
    const { reply, rule } = choose(script, request, uses);
    requests.push({ wire, path, headers: incoming.headers, body, request, rule });
    switch (reply.fault) {
      case 'hang':
        return; // Accepted, never answered; close() ends it.
      case 'rate-limit':
      case 'server-error': {
        const status = reply.fault === 'rate-limit' ? 429 : 500;
        response
          .writeHead(status, {
            'content-type': 'application/json',
            ...(status === 429 ? { 'retry-after': String(reply.retryAfterSeconds) } : {}),
          })
          .end(JSON.stringify(errorBody(wire, status)));
        return;
      }
      case 'malformed':
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(
          wire === 'chat'
            ? 'data: {"id":"chatcmpl_cut","choices":[{"delta":{"content":"Hel'
            : 'event: message_start\ndata: {"type":"message_start","message":{"id":\n\n',
        );
        return;
      default:
        break;
    }
    if (!request.stream) {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(renderBody(reply, request)));
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    for (const event of renderStream(reply, request)) {
      response.write(`${event.event === undefined ? '' : `event: ${event.event}\n`}data: ${event.data}\n\n`);
    }
    response.end();
  };

  const server = createServer((incoming, response) => {
    handle(incoming, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: String(error) } }));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    anthropicBaseUrl: url,
    openaiBaseUrl: `${url}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

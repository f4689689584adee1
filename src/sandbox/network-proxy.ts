import {
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import type { Duplex } from 'node:stream';
import { BatonError, exitCodes } from '../errors.ts';
import { addressScope } from '../util/address-scope.ts';
import { matchRule, normalizeHost, parseAllowList, type AllowRule } from '../config/allow-rules.ts';
import { parseAbsoluteUrl, parseAuthority, type Authority } from './proxy-target.ts';

/**
 * The sandbox's only way out in `network: allowlist` mode: an HTTP and CONNECT proxy on a unix socket,
 * run by the harness outside the sandbox. Everything it reads comes from a hostile worker, so every
 * request is parsed defensively: a malformed one is answered 400, a refused one 403, an unreachable
 * upstream 502, and nothing a request does can throw into the harness. An allowed request is one whose
 * host and port match a rule (`allow-rules.ts`) and whose name resolves to public addresses only
 * (unless the rule names a local target); the proxy resolves once and connects to the address it
 * checked, so a second DNS answer cannot move the connection elsewhere.
 */
export interface ProxyOptions {
  readonly socketPath: string;
  /** `sandbox.allow` entries (see allow-rules.ts); an invalid one is an error at start. */
  readonly allow: readonly string[];
  /** How a name becomes addresses (default: the system resolver). Tests inject their own answers. */
  readonly resolve?: (host: string) => Promise<readonly string[]>;
  /** How a checked address is connected to (default: TCP). Tests count and redirect the attempts. */
  readonly connect?: (address: string, port: number) => Socket;
  /**
   * Tests only, never from baton.yaml: after an allowed name passed the host and port rules, connect
   * here instead of resolving it (a loopback test server standing in for a public host).
   */
  readonly overrides?: Readonly<Record<string, { readonly host: string; readonly port: number }>>;
}

export interface RunningProxy {
  readonly socketPath: string;
  /** Requests refused so far, host by host (evidence for the run; the latest `refusedKept` only). */
  readonly refused: string[];
  close(): Promise<void>;
}

const refusedKept = 1_000;
const connectTimeoutMs = 30_000;
/** Hop-by-hop headers: they describe the client's connection to the proxy, not the request. */
const hopHeaders = [
  'connection',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** Whether a host name matches the allowlist on any port (names only; see matchRule for the full check). */
export function hostAllowed(host: string, allow: readonly string[]): boolean {
  const { rules } = parseAllowList(allow);
  const name = normalizeHost(host);
  return rules.some(
    (rule) =>
      rule.kind !== 'address' &&
      (rule.kind === 'wildcard'
        ? name.endsWith(rule.host) && name.length > rule.host.length
        : name === rule.host),
  );
}

type Decision =
  | { readonly allowed: true; readonly addresses: readonly string[]; readonly port: number }
  | { readonly allowed: false; readonly status: 403 | 502; readonly reason: string };

async function systemResolve(host: string): Promise<readonly string[]> {
  const answers = await lookup(host, { all: true, order: 'verbatim' });
  return answers.map((answer) => answer.address);
}

/** The addresses a request may go to, checked; or why not. Never throws. */
async function decide(
  options: ProxyOptions,
  rules: readonly AllowRule[],
  target: Authority,
): Promise<Decision> {
  const matched = matchRule(rules, target.host, target.port);
  if ('refused' in matched) {
    const reason =
      matched.refused === 'port'
        ? `port ${target.port} of ${target.host} is not allow-listed`
        : isIP(target.host) !== 0
          ? `${target.host} is an address; only the names (or addresses with their port) in sandbox.allow are reachable`
          : `${target.host} is not allow-listed`;
    return { allowed: false, status: 403, reason };
  }
  const { rule } = matched;
  const override = options.overrides?.[normalizeHost(target.host)];
  if (override !== undefined) return { allowed: true, addresses: [override.host], port: override.port };
  if (rule.kind === 'address') return { allowed: true, addresses: [target.host], port: target.port };
  let addresses: readonly string[];
  try {
    addresses = await (options.resolve ?? systemResolve)(normalizeHost(target.host));
  } catch (error) {
    return {
      allowed: false,
      status: 502,
      reason: `${target.host} does not resolve (${(error as Error).message})`,
    };
  }
  if (addresses.length === 0 || addresses.some((address) => isIP(address) === 0)) {
    return { allowed: false, status: 502, reason: `${target.host} does not resolve to an address` };
  }
  // localhost:port may lead to the loopback only; every other name to public addresses only.
  const wanted = rule.kind === 'localhost' ? 'loopback' : 'public';
  const stray = addresses.find((address) => addressScope(address) !== wanted);
  if (stray !== undefined) {
    const fix =
      rule.kind === 'localhost'
        ? ''
        : `; to allow that target, name it with its port in sandbox.allow (${isIP(stray) === 6 ? `[${stray}]` : stray}:${target.port})`;
    return {
      allowed: false,
      status: 403,
      reason: `${target.host} resolves to ${stray}, a ${addressScope(stray)} address${fix}`,
    };
  }
  return { allowed: true, addresses, port: target.port };
}

/** A TCP connection to the first of the checked addresses that answers. */
function connectFirst(
  addresses: readonly string[],
  port: number,
  open: (address: string, port: number) => Socket = (host, to) => connect({ host, port: to }),
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const tryFrom = (index: number, lastError: Error | undefined): void => {
      const address = addresses[index];
      if (address === undefined) {
        reject(lastError ?? new Error('no address'));
        return;
      }
      const socket = open(address, port);
      socket.setTimeout(connectTimeoutMs);
      const fail = (error: Error): void => {
        socket.destroy();
        tryFrom(index + 1, error);
      };
      socket.once('error', fail);
      socket.once('timeout', () => {
        fail(new Error(`no answer within ${connectTimeoutMs / 1_000}s`));
      });
      socket.once('connect', () => {
        socket.removeListener('error', fail);
        socket.setTimeout(0);
        socket.on('error', () => undefined);
        resolve(socket);
      });
    };
    tryFrom(0, undefined);
  });
}

function rawAnswer(socket: Duplex, status: number, text: string, body: string): void {
  if (socket.destroyed) return;
  socket.on('error', () => undefined);
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function answer(outgoing: ServerResponse, status: number, body: string): void {
  if (outgoing.headersSent) {
    outgoing.destroy();
    return;
  }
  outgoing
    .writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) })
    .end(body);
}

function forwardedHeaders(headers: IncomingHttpHeaders, hostHeader: string): IncomingHttpHeaders {
  const named = (headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase());
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!hopHeaders.includes(name) && !named.includes(name)) kept[name] = value;
  }
  kept.host = hostHeader;
  return kept;
}

export async function startAllowlistProxy(options: ProxyOptions): Promise<RunningProxy> {
  const { rules, problems } = parseAllowList(options.allow);
  if (problems.length > 0) {
    throw new BatonError(`sandbox.allow: ${problems.map((entry) => entry.message).join('; ')}`, {
      code: 'CONFIG_INVALID',
      fix: problems.map((entry) => entry.fix).join('; '),
      exitCode: exitCodes.usage,
    });
  }
  const refused: string[] = [];
  const tunnels = new Set<Duplex>();
  const server: Server = createServer();
  const noteRefused = (host: string): void => {
    refused.push(host);
    if (refused.length > refusedKept) refused.splice(0, refused.length - refusedKept);
  };

  // Requests the HTTP parser cannot read (garbage, huge headers, a bad request line): 400, or 431.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      rawAnswer(socket, 431, 'Request Header Fields Too Large', 'headers too large\n');
    } else rawAnswer(socket, 400, 'Bad Request', 'the baton sandbox proxy could not parse this request\n');
  });

  // Plain HTTP: the request line carries an absolute URL.
  const forward = async (incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> => {
    incoming.on('error', () => undefined);
    outgoing.on('error', () => undefined);
    const target = parseAbsoluteUrl(incoming.url ?? '');
    if (target === undefined) {
      answer(
        outgoing,
        400,
        'the baton sandbox proxy needs an absolute http:// URL with a valid host and port\n',
      );
      return;
    }
    const decision = await decide(options, rules, target);
    if (!decision.allowed) {
      noteRefused(target.host);
      answer(outgoing, decision.status, `blocked by the baton sandbox proxy: ${decision.reason}\n`);
      return;
    }
    let upstream: Socket;
    try {
      upstream = await connectFirst(decision.addresses, decision.port, options.connect);
    } catch (error) {
      answer(
        outgoing,
        502,
        `the baton sandbox proxy could not reach ${target.host}: ${(error as Error).message}\n`,
      );
      return;
    }
    if (outgoing.destroyed || incoming.destroyed) {
      upstream.destroy();
      return;
    }
    const forwarded = request({
      createConnection: () => upstream,
      method: incoming.method,
      path: target.path,
      headers: forwardedHeaders(incoming.headers, target.hostHeader),
    });
    forwarded.on('response', (response) => {
      response.on('error', () => outgoing.destroy());
      response.on('aborted', () => outgoing.destroy());
      const headers = forwardedHeaders(response.headers, '');
      delete headers.host;
      outgoing.writeHead(response.statusCode ?? 502, headers);
      response.pipe(outgoing);
    });
    forwarded.on('error', (error) => {
      answer(outgoing, 502, `the baton sandbox proxy could not reach ${target.host}: ${error.message}\n`);
    });
    outgoing.on('close', () => {
      forwarded.destroy();
      upstream.destroy();
    });
    incoming.pipe(forwarded);
  };
  server.on('request', (incoming: IncomingMessage, outgoing: ServerResponse) => {
    forward(incoming, outgoing).catch(() => {
      answer(outgoing, 500, 'the baton sandbox proxy failed on this request\n');
    });
  });

  // HTTPS and anything else: CONNECT host:port, then bytes both ways.
  const tunnel = async (incoming: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', () => undefined);
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    const target = parseAuthority(incoming.url ?? '');
    if (target === undefined) {
      rawAnswer(socket, 400, 'Bad Request', 'CONNECT needs host:port (a port from 1 to 65535)\n');
      return;
    }
    const decision = await decide(options, rules, target);
    if (!decision.allowed) {
      noteRefused(target.host);
      const text = decision.status === 403 ? 'Forbidden' : 'Bad Gateway';
      rawAnswer(socket, decision.status, text, `blocked by the baton sandbox proxy: ${decision.reason}\n`);
      return;
    }
    let upstream: Socket;
    try {
      upstream = await connectFirst(decision.addresses, decision.port, options.connect);
    } catch (error) {
      rawAnswer(
        socket,
        502,
        'Bad Gateway',
        `the baton sandbox proxy could not reach ${target.host}: ${(error as Error).message}\n`,
      );
      return;
    }
    if (socket.destroyed) {
      upstream.destroy();
      return;
    }
    tunnels.add(upstream);
    upstream.once('close', () => {
      tunnels.delete(upstream);
      socket.destroy();
    });
    socket.once('close', () => upstream.destroy());
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  };
  server.on('connect', (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    tunnel(incoming, socket, head).catch(() => {
      rawAnswer(socket, 500, 'Internal Server Error', 'the baton sandbox proxy failed on this request\n');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  return {
    socketPath: options.socketPath,
    refused,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
        for (const open of tunnels) open.destroy();
      }),
  };
}

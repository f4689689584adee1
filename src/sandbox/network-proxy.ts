import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

/**
 * The sandbox's only way out in `network: allowlist` mode: an HTTP and CONNECT proxy on a unix socket,
 * run by the harness outside the sandbox. It lets requests to allow-listed hosts through and refuses
 * everything else with 403. Inside, a bridge listens on 127.0.0.1 and relays to the socket.
 */
export interface ProxyOptions {
  readonly socketPath: string;
  /** Host names (exact, or "*.example.com" for subdomains). */
  readonly allow: readonly string[];
  /** Where to send an allowed host instead of resolving it (tests map a name to a loopback server). */
  readonly overrides?: Readonly<Record<string, { readonly host: string; readonly port: number }>>;
}

export interface RunningProxy {
  readonly socketPath: string;
  /** Requests refused so far, host by host (evidence for the run). */
  readonly refused: string[];
  close(): Promise<void>;
}

export function hostAllowed(host: string, allow: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return allow.some((pattern) => {
    const rule = pattern.toLowerCase();
    return rule.startsWith('*.')
      ? name.endsWith(rule.slice(1)) && name.length > rule.length - 1
      : name === rule;
  });
}

function target(options: ProxyOptions, host: string, port: number): { host: string; port: number } {
  return options.overrides?.[host.toLowerCase()] ?? { host, port };
}

function refuse(socket: Socket, host: string, proxy: RunningProxy): void {
  proxy.refused.push(host);
  socket.end(
    `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nblocked by the baton sandbox proxy: ${host} is not allow-listed\n`,
  );
}

export async function startAllowlistProxy(options: ProxyOptions): Promise<RunningProxy> {
  rmSync(options.socketPath, { force: true });
  const refused: string[] = [];
  const server: Server = createServer();
  const proxy: RunningProxy = {
    socketPath: options.socketPath,
    refused,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };

  // Plain HTTP: the request line carries an absolute URL.
  server.on('request', (incoming: IncomingMessage, outgoing) => {
    let url: URL;
    try {
      url = new URL(incoming.url ?? '');
    } catch {
      outgoing.writeHead(400).end('the baton sandbox proxy needs an absolute URL\n');
      return;
    }
    // Literal IP addresses are refused: an allowlist of names must not be bypassed by numbers.
    if (isIP(url.hostname) !== 0 || !hostAllowed(url.hostname, options.allow)) {
      refused.push(url.hostname);
      outgoing
        .writeHead(403, { 'content-type': 'text/plain' })
        .end(`blocked by the baton sandbox proxy: ${url.hostname} is not allow-listed\n`);
      return;
    }
    const destination = target(options, url.hostname, Number(url.port || 80));
    const forwarded = request(
      {
        host: destination.host,
        port: destination.port,
        method: incoming.method,
        path: `${url.pathname}${url.search}`,
        headers: { ...incoming.headers, host: url.host },
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forwarded.on('error', (error) => {
      outgoing
        .writeHead(502)
        .end(`the baton sandbox proxy could not reach ${url.hostname}: ${error.message}\n`);
    });
    incoming.pipe(forwarded);
  });

  // HTTPS and anything else: CONNECT host:port, then bytes both ways.
  server.on('connect', (incoming: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => undefined);
    const [host = '', portText = '443'] = (incoming.url ?? '').split(':');
    if (isIP(host) !== 0 || !hostAllowed(host, options.allow)) {
      refuse(socket, host, proxy);
      return;
    }
    const destination = target(options, host, Number(portText));
    const upstream = connect(destination.port, destination.host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => {
      socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    });
  });

  await new Promise<void>((resolve) =>
    server.listen(options.socketPath, () => {
      resolve();
    }),
  );
  return proxy;
}

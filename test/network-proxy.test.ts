import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addressScope } from '../src/util/address-scope.ts';
import { parseAllowRule } from '../src/config/allow-rules.ts';
import { startAllowlistProxy, type ProxyOptions, type RunningProxy } from '../src/sandbox/network-proxy.ts';
import { parseConfigText } from '../src/config/load.ts';
import { tempDir } from './helpers.ts';

/**
 * The allowlist proxy against a hostile client. Only loopback servers (127.0.0.1, ::1) are ever
 * listened on or connected to: names resolve through an injected resolver, and every upstream
 * connection goes through an injected connector that records it and leads to a loopback server.
 */

let upstream: HttpServer;
let upstreamPort = 0;
let upstreamConnections = 0;
let proxy: RunningProxy | undefined;

function listenOn(server: Server | HttpServer, host: string): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => {
      resolve((server.address() as { port: number }).port);
    }),
  );
}

beforeAll(async () => {
  upstream = createHttpServer((request, response) => {
    if (request.url === '/reset-mid-body') {
      response.writeHead(200, { 'content-length': '100' });
      response.write('partial');
      setImmediate(() => request.socket.destroy());
      return;
    }
    if (request.url === '/reset') {
      request.socket.destroy();
      return;
    }
    response.end(`upstream saw ${request.method} ${request.url} host=${request.headers.host}`);
  });
  upstream.on('connection', () => {
    upstreamConnections += 1;
  });
  upstreamPort = await listenOn(upstream, '127.0.0.1');
});

afterAll(() => {
  upstream.close();
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

interface Harness {
  readonly proxy: RunningProxy;
  readonly resolved: string[];
  readonly connected: string[];
}

/** A proxy whose resolver answers from `names` and whose connections all lead to the loopback upstream. */
async function startProxy(
  allow: readonly string[],
  names: Readonly<Record<string, readonly string[]>> = {},
  extra: Partial<ProxyOptions> = {},
): Promise<Harness> {
  const resolved: string[] = [];
  const connected: string[] = [];
  proxy = await startAllowlistProxy({
    socketPath: join(tempDir('baton-proxy-test-'), 'proxy.sock'),
    allow,
    resolve: (host) => {
      resolved.push(host);
      const answer = names[host];
      return answer === undefined ? Promise.reject(new Error(`ENOTFOUND ${host}`)) : Promise.resolve(answer);
    },
    connect: (address, port) => {
      connected.push(`${address} ${port}`);
      return connect(upstreamPort, '127.0.0.1');
    },
    ...extra,
  });
  return { proxy, resolved, connected };
}

/** Send raw bytes to the proxy, and collect everything it answers until it closes the connection. */
async function exchange(running: RunningProxy, bytes: string | Buffer, endAfter = false): Promise<string> {
  const socket = connect(running.socketPath);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(bytes);
  if (endAfter) socket.end();
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('latin1');
}

/** The status line of a CONNECT answer; the tunnel is closed right after it. */
async function connectStatus(running: RunningProxy, authority: string): Promise<string> {
  const socket = connect(running.socketPath);
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n\r\n`);
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return chunk.toString('latin1').split('\r\n')[0] ?? '';
}

function get(url: string, extraHeaders = ''): string {
  return `GET ${url} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${extraHeaders}\r\n`;
}

function statusOf(answer: string): string {
  return answer.split('\r\n')[0] ?? '';
}

describe('the allowlist proxy parses every request defensively', () => {
  it('answers each malformed request 4xx, never throws, and serves the next request', async () => {
    const { proxy: running } = await startProxy(
      [`api.allowed.test:${upstreamPort}`],
      {
        'api.allowed.test': ['127.0.0.1'],
      },
      { overrides: { 'api.allowed.test': { host: '127.0.0.1', port: upstreamPort } } },
    );
    const good = async (): Promise<void> => {
      const answer = await exchange(running, get(`http://api.allowed.test:${upstreamPort}/next`));
      expect(answer).toContain('upstream saw GET /next');
    };
    const malformed: readonly [string, string | Buffer, RegExp][] = [
      [
        'CONNECT with a port that is not a number',
        'CONNECT api.allowed.test:abc HTTP/1.1\r\n\r\n',
        /^HTTP\/1.1 400/,
      ],
      ['CONNECT without a host', `CONNECT :${upstreamPort} HTTP/1.1\r\n\r\n`, /^HTTP\/1.1 400/],
      ['CONNECT without a port', 'CONNECT api.allowed.test HTTP/1.1\r\n\r\n', /^HTTP\/1.1 400/],
      ['CONNECT with port 0', 'CONNECT api.allowed.test:0 HTTP/1.1\r\n\r\n', /^HTTP\/1.1 400/],
      ['CONNECT with a port past 65535', 'CONNECT api.allowed.test:99999 HTTP/1.1\r\n\r\n', /^HTTP\/1.1 400/],
      [
        'CONNECT to user@host',
        `CONNECT a@api.allowed.test:${upstreamPort} HTTP/1.1\r\n\r\n`,
        /^HTTP\/1.1 400/,
      ],
      ['CONNECT to a broken IPv6 literal', 'CONNECT [::1:443 HTTP/1.1\r\n\r\n', /^HTTP\/1.1 400/],
      ['garbage bytes', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]), /^HTTP\/1.1 400/],
      [
        'huge headers',
        get('http://api.allowed.test/', `x-big: ${'a'.repeat(64 * 1024)}\r\n`),
        /^HTTP\/1.1 431/,
      ],
      ['a GET with a relative path', get('/relative'), /^HTTP\/1.1 400/],
      ['a GET with a bad absolute URL', get('http://[zz]/'), /^HTTP\/1.1 400/],
      ['a GET with a port that is not a number', get('http://api.allowed.test:abc/'), /^HTTP\/1.1 400/],
      ['a GET for https (only CONNECT tunnels TLS)', get('https://api.allowed.test/'), /^HTTP\/1.1 400/],
      ['a GET without a host', get('http://:80/path'), /^HTTP\/1.1 400/],
    ];
    for (const [what, bytes, expected] of malformed) {
      const answer = await exchange(running, bytes);
      expect(statusOf(answer), what).toMatch(expected);
      await good();
    }
    // Half-open: a request cut off mid-way, and a CONNECT whose client leaves at once.
    await exchange(running, `CONNECT api.allowed.test:${upstreamPort} HTTP/1.1\r\nhost: a`, true);
    await good();
    await exchange(running, `CONNECT api.allowed.test:${upstreamPort} HTTP/1.1\r\n\r\n`, true);
    await good();
  });

  it('answers 502 when the upstream refuses, resets before answering, or resets mid-body', async () => {
    const closed = createServer();
    const closedPort = await listenOn(closed, '127.0.0.1');
    await new Promise((resolve) => closed.close(resolve));
    const { proxy: running } = await startProxy(
      [`api.allowed.test:${upstreamPort}`, `gone.allowed.test:${closedPort}`],
      {},
      {
        connect: undefined,
        overrides: {
          'api.allowed.test': { host: '127.0.0.1', port: upstreamPort },
          'gone.allowed.test': { host: '127.0.0.1', port: closedPort },
        },
      },
    );
    expect(statusOf(await exchange(running, get(`http://gone.allowed.test:${closedPort}/`)))).toMatch(
      /^HTTP\/1.1 502/,
    );
    expect(await connectStatus(running, `gone.allowed.test:${closedPort}`)).toMatch(/^HTTP\/1.1 502/);
    expect(statusOf(await exchange(running, get(`http://api.allowed.test:${upstreamPort}/reset`)))).toMatch(
      /^HTTP\/1.1 502/,
    );
    // After the headers went out, a reset can only cut the client off: the answer stays short.
    const cut = await exchange(running, get(`http://api.allowed.test:${upstreamPort}/reset-mid-body`));
    expect(statusOf(cut)).toMatch(/^HTTP\/1.1 200/);
    expect(cut).not.toMatch(/partial.{93}/s);
    expect(await exchange(running, get(`http://api.allowed.test:${upstreamPort}/still-here`))).toContain(
      'upstream saw GET /still-here',
    );
  });
});

describe('the allowlist proxy allows listed hosts on their ports only', () => {
  it('opens 443 and 80 for a bare name, one port for host:port, and refuses every other port', async () => {
    const to = { host: '127.0.0.1', port: upstreamPort };
    const { proxy: running } = await startProxy(
      ['api.allowed.test', 'alt.allowed.test:8443', '*.wild.test'],
      {},
      {
        overrides: { 'api.allowed.test': to, 'alt.allowed.test': to, 'a.wild.test': to },
      },
    );
    expect(await connectStatus(running, 'api.allowed.test:443')).toBe('HTTP/1.1 200 Connection Established');
    expect(await connectStatus(running, 'api.allowed.test:80')).toBe('HTTP/1.1 200 Connection Established');
    expect(await connectStatus(running, 'api.allowed.test:22')).toBe('HTTP/1.1 403 Forbidden');
    expect(await connectStatus(running, `api.allowed.test:${upstreamPort}`)).toBe('HTTP/1.1 403 Forbidden');
    expect(await connectStatus(running, 'alt.allowed.test:8443')).toBe('HTTP/1.1 200 Connection Established');
    expect(await connectStatus(running, 'alt.allowed.test:443')).toBe('HTTP/1.1 403 Forbidden');
    expect(await connectStatus(running, 'a.wild.test:443')).toBe('HTTP/1.1 200 Connection Established');
    expect(await connectStatus(running, 'a.wild.test:8443')).toBe('HTTP/1.1 403 Forbidden');
    expect(await exchange(running, get('http://api.allowed.test/path?q=1'))).toContain(
      'upstream saw GET /path?q=1 host=api.allowed.test',
    );
    expect(statusOf(await exchange(running, get('http://api.allowed.test:8080/')))).toBe(
      'HTTP/1.1 403 Forbidden',
    );
    expect(statusOf(await exchange(running, get('http://other.test/')))).toBe('HTTP/1.1 403 Forbidden');
    expect(running.refused).toEqual([
      'api.allowed.test',
      'api.allowed.test',
      'alt.allowed.test',
      'a.wild.test',
      'api.allowed.test',
      'other.test',
    ]);
  });
});

describe('the allowlist proxy checks where an allowed name leads', () => {
  const local = [
    '127.0.0.1',
    '10.0.0.1',
    '169.254.169.254',
    '::1',
    '::ffff:127.0.0.1',
    'fd00::1',
    'fe80::1',
    '100.64.0.1',
  ];

  it.each(local)('refuses an allowed name resolving to %s, without connecting anywhere', async (address) => {
    const harness = await startProxy([`api.allowed.test:${upstreamPort}`], { 'api.allowed.test': [address] });
    const before = upstreamConnections;
    expect(await connectStatus(harness.proxy, `api.allowed.test:${upstreamPort}`)).toBe(
      'HTTP/1.1 403 Forbidden',
    );
    const answer = await exchange(harness.proxy, get(`http://api.allowed.test:${upstreamPort}/`));
    expect(statusOf(answer)).toBe('HTTP/1.1 403 Forbidden');
    expect(answer).toContain(`resolves to ${address}`);
    expect(harness.resolved).toEqual(['api.allowed.test', 'api.allowed.test']);
    expect(harness.connected).toEqual([]);
    expect(upstreamConnections).toBe(before);
  });

  it('refuses a name when any one of its addresses is local', async () => {
    const harness = await startProxy(['api.allowed.test'], { 'api.allowed.test': ['8.8.8.8', '10.0.0.1'] });
    expect(await connectStatus(harness.proxy, 'api.allowed.test:443')).toBe('HTTP/1.1 403 Forbidden');
    expect(harness.connected).toEqual([]);
  });

  it('reaches an explicit port-scoped local rule, and only that port', async () => {
    const v6 = createHttpServer((_request, response) => response.end('v6 upstream'));
    const v6Port = await listenOn(v6, '::1');
    try {
      const harness = await startProxy(
        [`127.0.0.1:${upstreamPort}`, `[::1]:${v6Port}`, `localhost:${upstreamPort}`],
        {
          localhost: ['127.0.0.1'],
        },
        {
          connect: (address, port) => {
            harness.connected.push(`${address} ${port}`);
            return connect(port, address);
          },
        },
      );
      expect(await exchange(harness.proxy, get(`http://127.0.0.1:${upstreamPort}/by-address`))).toContain(
        'upstream saw GET /by-address',
      );
      expect(await connectStatus(harness.proxy, `127.0.0.1:${upstreamPort}`)).toBe(
        'HTTP/1.1 200 Connection Established',
      );
      expect(await connectStatus(harness.proxy, `127.0.0.1:${upstreamPort + 1}`)).toBe(
        'HTTP/1.1 403 Forbidden',
      );
      expect(await connectStatus(harness.proxy, `127.0.0.2:${upstreamPort}`)).toBe('HTTP/1.1 403 Forbidden');
      expect(await exchange(harness.proxy, get(`http://[::1]:${v6Port}/`))).toContain('v6 upstream');
      // localhost:port: resolved once, and the connection goes to the address that was checked.
      expect(await exchange(harness.proxy, get(`http://localhost:${upstreamPort}/by-name`))).toContain(
        'upstream saw GET /by-name',
      );
      expect(harness.resolved).toEqual(['localhost']);
      expect(harness.connected).toEqual([
        `127.0.0.1 ${upstreamPort}`,
        `127.0.0.1 ${upstreamPort}`,
        `::1 ${v6Port}`,
        `127.0.0.1 ${upstreamPort}`,
      ]);
    } finally {
      v6.close();
    }
  });

  it('lets localhost:port lead to the loopback only', async () => {
    const harness = await startProxy(['localhost:11434'], { localhost: ['10.0.0.1'] });
    expect(await connectStatus(harness.proxy, 'localhost:11434')).toBe('HTTP/1.1 403 Forbidden');
    expect(harness.resolved).toEqual(['localhost']);
    expect(harness.connected).toEqual([]);
  });
});

describe('sandbox.allow entries are checked when the config is read', () => {
  const base =
    'version: 1\nagent:\n  type: command\n  command: "true"\noracles:\n  - name: t\n    command: "true"\ndone:\n  oracles: [t]\n';
  const problems = (allow: string): { field: string; message: string; fix: string }[] => {
    const result = parseConfigText(`${base}sandbox:\n  network: allowlist\n  allow: [${allow}]\n`);
    return result.ok ? [] : [...result.problems];
  };

  it('accepts names, ports, wildcards and port-scoped local targets', () => {
    expect(
      problems(
        '"api.example.com", "api.example.com:8443", "*.example.com", "localhost:11434", "127.0.0.1:8080", "[::1]:8080", "10.0.0.5:8000", "1.1.1.1"',
      ),
    ).toEqual([]);
  });

  it.each([
    ['"127.0.0.1"', 'sandbox.allow.0', '127.0.0.1:8080'],
    ['"10.0.0.5"', 'sandbox.allow.0', '10.0.0.5:8080'],
    ['"[::1]"', 'sandbox.allow.0', '[::1]:8080'],
    ['"::1"', 'sandbox.allow.0', '[::1]:443'],
    ['"localhost"', 'sandbox.allow.0', 'localhost:11434'],
    ['"api.example.com", "api.example.com:abc"', 'sandbox.allow.1', 'from 1 to 65535'],
    ['"api.example.com:0"', 'sandbox.allow.0', 'from 1 to 65535'],
    ['"*"', 'sandbox.allow.0', '*.example.com'],
    ['"127.1"', 'sandbox.allow.0', 'api.example.com'],
    ['"http://api.example.com"', 'sandbox.allow.0', 'api.example.com'],
    ['"0.0.0.0:80"', 'sandbox.allow.0', '127.0.0.1:8080'],
  ])('refuses %s with the fix', (allow, field, fix) => {
    const [problem, ...rest] = problems(allow);
    expect(rest).toEqual([]);
    expect(problem?.field).toBe(field);
    expect(problem?.fix).toContain(fix);
  });

  it('refuses the same entries when the proxy is started without the config', async () => {
    await expect(startProxy(['127.0.0.1'])).rejects.toThrow(/without a port/);
    expect(parseAllowRule('127.0.0.1:8080')).toMatchObject({
      ok: true,
      rule: { kind: 'address', ports: [8080] },
    });
  });
});

describe('address scopes', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['2606:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:10.1.2.3', 'private'],
    ['64:ff9b::169.254.169.254', 'link-local'],
    ['2002:0a00:0001::1', 'private'],
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fd12:3456::1', 'unique-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['::127.0.0.1', 'reserved'],
    ['not an address', 'reserved'],
  ])('%s is %s', (address, scope) => {
    expect(addressScope(address)).toBe(scope);
  });
});

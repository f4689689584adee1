import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectBwrap } from '../../src/sandbox/bwrap.ts';
import {
  expectNothingLeaked,
  expectSurvivedToDone,
  hostileWorkspace,
  runHostileCli,
  transcriptOf,
} from './hostile.ts';

/**
 * Class 6 of issue 14: the allowlist proxy the harness runs outside the sandbox. A real run with
 * `sandbox.network: allowlist` and one local rule (`localhost:<port>`, a loopback server of the host);
 * the worker sends the proxy garbage, malformed targets, the allowed name on another port and loopback
 * addresses. Through the CLI: an uncaught exception in the proxy would end the harness process.
 */

interface Upstream {
  readonly server: Server;
  port: number;
  readonly requests: string[];
}

function startUpstream(name: string): Promise<Upstream> {
  const upstream: Upstream = {
    server: createServer((request, response) => {
      upstream.requests.push(`${request.method ?? ''} ${request.url ?? ''}`);
      response.end(`hello from ${name}`);
    }),
    port: 0,
    requests: [],
  };
  upstream.server.on('connection', () => {
    upstream.requests.push('(connection)');
  });
  return new Promise((resolve) => {
    upstream.server.listen(0, '127.0.0.1', () => {
      upstream.port = (upstream.server.address() as { port: number }).port;
      resolve(upstream);
    });
  });
}

/** Send raw bytes to the bridge (127.0.0.1:3128 inside the sandbox) and print the first answer line. */
function raw(label: string, format: string, args = ''): string {
  return `exec 3<>/dev/tcp/127.0.0.1/3128 && printf '${format}' ${args} >&3 && echo "${label}: $(timeout 20 head -1 <&3 | tr -d '\\r')"; exec 3>&-`;
}

function proxyFolders(pid: number | undefined): string[] {
  return readdirSync(tmpdir()).filter((entry) => entry.startsWith(`baton-proxy-${pid ?? ''}-`));
}

describe.runIf(detectBwrap().works)('class 6: proxy gaps', () => {
  let allowed: Upstream;
  let other: Upstream;

  beforeAll(async () => {
    allowed = await startUpstream('allowed');
    other = await startUpstream('other');
  });
  afterAll(() => {
    allowed.server.close();
    other.server.close();
  });

  it('garbage, a CONNECT to host:abc and other malformed requests: each answered 400, the run survives', async () => {
    const hostile = await hostileWorkspace({
      sandbox: ['network: allowlist', `allow: ["localhost:${allowed.port}"]`],
      attack: [
        raw('bad-port', 'CONNECT host:abc HTTP/1.1\\r\\nHost: host:abc\\r\\n\\r\\n'),
        raw('port-zero', 'CONNECT localhost:0 HTTP/1.1\\r\\n\\r\\n'),
        raw('port-huge', 'CONNECT localhost:99999 HTTP/1.1\\r\\n\\r\\n'),
        raw('garbage', '\\001\\002\\377\\376 garbage \\r\\n\\r\\n'),
        raw('no-target', 'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'),
        raw('bad-url', 'GET http://[::1/ HTTP/1.1\\r\\n\\r\\n'),
        `big=$(head -c 40000 /dev/zero | tr '\\0' a)`,
        raw('huge-header', `GET http://localhost:${allowed.port}/ HTTP/1.1\\r\\nX: %s\\r\\n\\r\\n`, '"$big"'),
        // After all that, the proxy still serves the allowed host.
        raw(
          'allowed',
          `GET http://localhost:${allowed.port}/after HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n`,
        ),
        'echo a > a.txt',
      ].join('\n'),
    });
    const run = await runHostileCli(hostile);
    expectSurvivedToDone(run);
    const transcript = transcriptOf(hostile, run);
    for (const label of ['bad-port', 'port-zero', 'port-huge', 'garbage', 'no-target', 'bad-url']) {
      expect(transcript, label).toMatch(new RegExp(`${label}: HTTP/1\\.1 400`));
    }
    expect(transcript).toMatch(/huge-header: HTTP\/1\.1 431/);
    expect(transcript).toMatch(/allowed: HTTP\/1\.1 200/);
    expect(allowed.requests).toContain('GET /after');
    await expectNothingLeaked(hostile);
  });

  it('the allowed name on another port, and loopback addresses: refused 403, never connected', async () => {
    // The target is there: from the host, the other port answers.
    expect(await (await fetch(`http://127.0.0.1:${other.port}/probe`)).text()).toBe('hello from other');
    const before = other.requests.length;
    const hostile = await hostileWorkspace({
      sandbox: ['network: allowlist', `allow: ["localhost:${allowed.port}"]`],
      attack: [
        raw('other-port', `CONNECT localhost:${other.port} HTTP/1.1\\r\\n\\r\\n`),
        raw(
          'other-port-get',
          `GET http://localhost:${other.port}/ HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n`,
        ),
        raw('loopback-address', `CONNECT 127.0.0.1:${other.port} HTTP/1.1\\r\\n\\r\\n`),
        raw('loopback-alias', `CONNECT 127.0.0.2:${other.port} HTTP/1.1\\r\\n\\r\\n`),
        raw('mapped-v6', `CONNECT [::ffff:127.0.0.1]:${other.port} HTTP/1.1\\r\\n\\r\\n`),
        raw('decimal-ip', `GET http://2130706433:${other.port}/ HTTP/1.1\\r\\n\\r\\n`),
        raw('allowed', `CONNECT localhost:${allowed.port} HTTP/1.1\\r\\n\\r\\n`),
        'echo a > a.txt',
      ].join('\n'),
    });
    const run = await runHostileCli(hostile);
    expectSurvivedToDone(run);
    const transcript = transcriptOf(hostile, run);
    for (const label of ['other-port', 'other-port-get', 'loopback-address', 'loopback-alias', 'mapped-v6']) {
      expect(transcript, label).toMatch(new RegExp(`${label}: HTTP/1\\.1 403`));
    }
    expect(transcript).toMatch(/decimal-ip: HTTP\/1\.1 40[03]/);
    expect(transcript).toMatch(/allowed: HTTP\/1\.1 200/);
    expect(other.requests.length, 'nothing reached the server on the other port').toBe(before);
    await expectNothingLeaked(hostile);
  });

  it("the proxy's socket folder: the worker cannot plant or replace anything, and it is gone after the run", async () => {
    const hostile = await hostileWorkspace({
      sandbox: ['network: allowlist', `allow: ["localhost:${allowed.port}"]`],
      attack: [
        // The socket's path is on the bridge's command line.
        `sock=$(for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/cmdline 2>/dev/null; done | grep -m1 'proxy.sock$')`,
        'dir=$(dirname "$sock"); echo "socket=$sock"',
        'echo x > "$dir/planted" 2>/dev/null && echo PLANTED',
        'rm -f "$sock" 2>/dev/null; mv "$sock" "$dir/moved" 2>/dev/null; test -S "$sock" && echo SOCKET-STILL-THERE',
        raw(
          'allowed',
          `GET http://localhost:${allowed.port}/still HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n`,
        ),
        'echo a > a.txt',
      ].join('\n'),
    });
    const run = await runHostileCli(hostile);
    expectSurvivedToDone(run);
    const transcript = transcriptOf(hostile, run);
    const socket = /socket=(\S+)/.exec(transcript)?.[1] ?? '';
    expect(socket).toMatch(/baton-proxy-\d+-[^/]+\/proxy\.sock$/);
    expect(transcript).not.toContain('PLANTED');
    expect(transcript).toContain('SOCKET-STILL-THERE');
    expect(transcript).toMatch(/allowed: HTTP\/1\.1 200/);
    // The harness's folder was removed when the run ended.
    const pid = Number(/baton-proxy-(\d+)-/.exec(socket)?.[1]);
    expect(existsSync(join(socket, '..'))).toBe(false);
    expect(proxyFolders(pid)).toEqual([]);
    await expectNothingLeaked(hostile);
  });
});

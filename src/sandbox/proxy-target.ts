import { isIP } from 'node:net';
import { isHostName, normalizeHost } from '../config/allow-rules.ts';

/** Where a request through the proxy wants to go, read strictly from what a hostile client sent. */
export interface Authority {
  readonly host: string;
  readonly port: number;
}

function validHost(host: string): boolean {
  return isIP(host) !== 0 || isHostName(normalizeHost(host));
}

/** `host:port` of a CONNECT request (`[v6]:port` for IPv6); undefined when it is anything else. */
export function parseAuthority(text: string): Authority | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/@]+)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  if (match[1] !== undefined ? isIP(host) !== 6 : !validHost(host)) return undefined;
  return { host, port };
}

/** The target of an absolute-form request (`GET http://host[:port]/path`); plain http only. */
export function parseAbsoluteUrl(
  text: string,
): (Authority & { readonly path: string; readonly hostHeader: string }) | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || !/^http:\/\//i.test(text)) return undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '' || !validHost(host)) return undefined;
  return {
    host,
    port: url.port === '' ? 80 : Number(url.port),
    path: `${url.pathname}${url.search}`,
    hostHeader: url.host,
  };
}

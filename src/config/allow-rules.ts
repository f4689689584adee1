import { isIP } from 'node:net';
import { addressScope, canonicalAddress } from '../util/address-scope.ts';

/**
 * `sandbox.allow`, parsed. Each entry is a host and the ports it may be reached on:
 *   api.example.com        a name, ports 443 and 80
 *   api.example.com:8443   a name, that port only
 *   *.example.com          any subdomain (not example.com itself), ports 443 and 80
 *   203.0.113.7:443        an address, reached as written (a bare public address: ports 443 and 80)
 *   localhost:11434        the host's own loopback, that port only (a local model server)
 *   127.0.0.1:8080, [::1]:8080, 10.0.0.5:8000   a local address, that port only
 * A name must resolve to public addresses only; a local target (loopback, private, link-local) is
 * reachable only through a rule that names it and its port, never "all of loopback".
 */
export interface AllowRule {
  readonly text: string;
  /**
   * name: an exact host name; wildcard: `*.suffix`; localhost: the loopback by name; address: an IP
   * address, connected to as written.
   */
  readonly kind: 'name' | 'wildcard' | 'localhost' | 'address';
  /** Lower-case, no trailing dot; the suffix with its leading dot for a wildcard; canonical for an address. */
  readonly host: string;
  readonly ports: readonly number[];
}

export type RuleParse =
  | { readonly ok: true; readonly rule: AllowRule }
  | { readonly ok: false; readonly message: string; readonly fix: string };

export const defaultPorts: readonly number[] = [443, 80];

const label = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const hostNamePattern = new RegExp(`^(?=.{1,253}$)${label}(?:\\.${label})*$`);

/** A DNS host name (not an address, not a number: the URL parser would read `127.1` as 127.0.0.1). */
export function isHostName(name: string): boolean {
  return hostNamePattern.test(name) && !/^\d+$/.test(name.split('.').at(-1) ?? '') && !/^0x/i.test(name);
}

export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

function parsePort(text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65_535 ? port : null;
}

function problem(text: string, message: string, fix: string): RuleParse {
  return { ok: false, message: `"${text}" ${message}`, fix };
}

export function parseAllowRule(text: string): RuleParse {
  const entry = text.trim();
  let hostText: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(entry);
  if (bracketed !== null) {
    hostText = bracketed[1] ?? '';
    portText = bracketed[2];
    if (isIP(hostText) !== 6) {
      return problem(
        text,
        'is not an IPv6 address in brackets',
        'write it as [address]:port, e.g. [::1]:8080',
      );
    }
  } else if ((entry.match(/:/g) ?? []).length > 1) {
    return problem(
      text,
      'looks like a bare IPv6 address',
      `write it in brackets with its port: [${entry}]:443`,
    );
  } else {
    const colon = entry.lastIndexOf(':');
    hostText = colon === -1 ? entry : entry.slice(0, colon);
    portText = colon === -1 ? undefined : entry.slice(colon + 1);
  }
  const port = parsePort(portText);
  if (port === null) {
    return problem(
      text,
      `has no valid port ("${portText ?? ''}")`,
      'use a port from 1 to 65535, e.g. api.example.com:8443',
    );
  }
  const ports = port === undefined ? defaultPorts : [port];
  const host = normalizeHost(hostText);
  const address = canonicalAddress(host);
  if (address !== undefined) {
    const scope = addressScope(address);
    if (scope !== 'public' && port === undefined) {
      return problem(
        text,
        `is a ${scope} address without a port: that would open every port of it`,
        `name the one port the worker needs, e.g. ${bracketed === null ? host : `[${host}]`}:8080`,
      );
    }
    if (scope === 'unspecified' || scope === 'multicast') {
      return problem(
        text,
        `is an ${scope} address: nothing can be reached there`,
        'name the address of the service itself, e.g. 127.0.0.1:8080',
      );
    }
    return { ok: true, rule: { text, kind: 'address', host: address, ports } };
  }
  if (host === 'localhost') {
    if (port === undefined) {
      return problem(
        text,
        'would open every port of the host',
        'name the one port the worker needs, e.g. localhost:11434',
      );
    }
    return { ok: true, rule: { text, kind: 'localhost', host, ports } };
  }
  if (host.includes('*')) {
    const suffix = host.startsWith('*.') ? host.slice(2) : '';
    if (
      !isHostName(suffix) ||
      !suffix.includes('.') ||
      suffix === 'localhost' ||
      suffix.endsWith('.localhost')
    ) {
      return problem(
        text,
        'is not a wildcard over a domain',
        'write *.example.com (subdomains of example.com)',
      );
    }
    return { ok: true, rule: { text, kind: 'wildcard', host: `.${suffix}`, ports } };
  }
  if (host.endsWith('.localhost')) {
    return problem(
      text,
      'names the loopback',
      'name the port on the host itself instead, e.g. localhost:11434',
    );
  }
  if (!isHostName(host)) {
    return problem(
      text,
      'is not a host name, an address or a *.domain',
      'write a name such as api.example.com, optionally with :port',
    );
  }
  return { ok: true, rule: { text, kind: 'name', host, ports } };
}

/** Every entry parsed, or the problems (with their index in the list). */
export function parseAllowList(entries: readonly string[]): {
  rules: AllowRule[];
  problems: { index: number; message: string; fix: string }[];
} {
  const rules: AllowRule[] = [];
  const problems: { index: number; message: string; fix: string }[] = [];
  entries.forEach((entry, index) => {
    const parsed = parseAllowRule(entry);
    if (parsed.ok) rules.push(parsed.rule);
    else problems.push({ index, message: parsed.message, fix: parsed.fix });
  });
  return { rules, problems };
}

function nameMatches(rule: AllowRule, host: string): boolean {
  if (rule.kind === 'wildcard') return host.endsWith(rule.host) && host.length > rule.host.length;
  return rule.host === host;
}

/** How a requested host and port fare against the rules. `host` is as requested (a name or an address). */
export function matchRule(
  rules: readonly AllowRule[],
  requestedHost: string,
  port: number,
): { readonly rule: AllowRule } | { readonly refused: 'host' | 'port' } {
  const host = normalizeHost(requestedHost);
  const address = canonicalAddress(host);
  const candidates = rules.filter((rule) =>
    address === undefined
      ? rule.kind !== 'address' && nameMatches(rule, host)
      : rule.kind === 'address' && rule.host === address,
  );
  const rule = candidates.find((candidate) => candidate.ports.includes(port));
  if (rule !== undefined) return { rule };
  return { refused: candidates.length === 0 ? 'host' : 'port' };
}

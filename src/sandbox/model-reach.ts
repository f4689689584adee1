import type { Sandbox } from './sandbox.ts';

/** Where each agent CLI reaches its model by default (what `sandbox.allow` needs for it). */
const providerHosts: Readonly<Record<string, string>> = {
  'claude-code': 'api.anthropic.com',
  codex: 'api.openai.com',
  gemini: 'generativelanguage.googleapis.com',
  opencode: "its provider's host",
};

/** The host an agent CLI reaches by default; undefined when it depends on the CLI's own settings. */
export function providerHost(type: string): string | undefined {
  return type === 'opencode' ? undefined : providerHosts[type];
}

/**
 * An agent CLI calls its model from inside the worker's sandbox. With no network there it cannot, and
 * each session fails only after the CLI's own retries (minutes), or waits for a network to its time
 * limit. Said once, when the run starts, with the fix. The builtin agent calls its model from the
 * harness, and a command agent is the person's to know: neither is warned about.
 */
export function modelReachWarning(
  agent: { readonly type: string } | undefined,
  network: Sandbox['network'],
): string | undefined {
  const host = agent === undefined ? undefined : providerHosts[agent.type];
  if (network !== 'none' || agent === undefined || host === undefined) return undefined;
  return `workers have no network (sandbox.network: none), so ${agent.type} cannot reach its model and every session will fail: set sandbox.network: allowlist with sandbox.allow: [${host}] (or the host:port of the agent's baseUrl, e.g. localhost:11434)`;
}

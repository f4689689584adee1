import { describe, expect, it } from 'vitest';
import { runLoop } from '../src/api/run.ts';
import { formatEvent } from '../src/cli/format.ts';
import { modelReachWarning } from '../src/sandbox/model-reach.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import type { RunEvent } from '../src/log/events.ts';
import { feature, makeWorkspace } from './helpers.ts';

describe('an agent CLI in a sandbox with no network', () => {
  it('is warned about once the run starts, with the allowlist that fixes it', async () => {
    // baton.yaml names claude-code, as `baton init` users write it; the session itself is a stand-in so
    // that the test does not wait for claude's own retries.
    const workspace = await makeWorkspace({
      features: [feature('F1', 'test -f done.txt')],
      agentYaml: 'agent:\n  type: claude-code\n  timeout: 1m',
      budgets: { iterations: 1 },
    });
    const seen: RunEvent[] = [];
    await runLoop({
      workspace,
      agent: createFunctionAgent(() => 'nothing'),
      onEvent: (event) => {
        seen.push(event);
      },
    });
    const chosen = seen.find((event) => event.type === 'sandbox.chosen');
    expect(chosen?.type === 'sandbox.chosen' ? chosen.backend : null).toBe('bwrap');
    const warning = chosen?.type === 'sandbox.chosen' ? chosen.warning : null;
    expect(warning).toContain('claude-code cannot reach its model');
    expect(warning).toContain('sandbox.allow: [api.anthropic.com]');
    expect(chosen === undefined ? '' : formatEvent(chosen)).toContain('WARNING');
  });

  it('is not warned about with an allowlist, unsandboxed, or for agents that call no model from inside', () => {
    expect(modelReachWarning({ type: 'codex' }, 'none')).toContain('api.openai.com');
    expect(modelReachWarning({ type: 'codex' }, 'allowlist')).toBeUndefined();
    expect(modelReachWarning({ type: 'claude-code' }, 'host')).toBeUndefined();
    expect(modelReachWarning({ type: 'builtin' }, 'none')).toBeUndefined();
    expect(modelReachWarning({ type: 'command' }, 'none')).toBeUndefined();
    expect(modelReachWarning(undefined, 'none')).toBeUndefined();
  });
});

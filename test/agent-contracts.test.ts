import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { createCommandAgent } from '../src/agents/command-agent.ts';
import { createAgentFromConfig } from '../src/agents/registry.ts';
import { parseConfigText } from '../src/config/load.ts';
import type { AgentConfig } from '../src/config/resolve.ts';
import { describeAgentContract } from '../src/testing/index.ts';
import { createScriptedAgent } from '../src/testing/scripted-agent.ts';

/**
 * The agent contract (src/testing/contracts/agent-contract.ts) against every agent baton ships: the
 * command and scripted agents as processes, the builtin agent and the pinned Claude Code and Codex CLIs
 * against the fake model server, each built from baton.yaml text through the agent registry.
 */
const command = "printf 'ok\\n' > contract.txt";

function agentConfig(yaml: string): AgentConfig {
  const parsed = parseConfigText(`version: 1\n${yaml}`);
  if (!parsed.ok || parsed.config.agent === undefined) {
    throw new Error(`bad agent yaml: ${JSON.stringify(parsed)}`);
  }
  return parsed.config.agent;
}

describeAgentContract(
  'command',
  ({ behaviour }) =>
    createCommandAgent({
      command:
        behaviour === 'works'
          ? `${command}; echo 'BATON_USAGE {"inputTokens":1}'; echo 'contract done'`
          : // A child in the background too: the whole group must go, not just the leader.
            'sleep 300 & sleep 300; wait',
      prompt: 'file',
    }),
  { describe, it },
);

describeAgentContract(
  'scripted',
  ({ behaviour, dir }) =>
    createScriptedAgent(
      behaviour === 'works'
        ? { rules: [{ do: [{ run: command }], say: 'contract done', usage: { inputTokens: 1 } }] }
        : { rules: [{ do: [{ sleepMs: 300_000 }] }] },
      dir,
    ),
  { describe, it },
);

describeAgentContract(
  'builtin (anthropic)',
  ({ model }) =>
    createAgentFromConfig(
      agentConfig(
        `agent:\n  type: builtin\n  provider: anthropic\n  model: claude-sonnet-4-5\n  baseUrl: ${model.url}\n  maxTurns: 6\n`,
      ),
      process.cwd(),
    ),
  { describe, it, env: { ANTHROPIC_API_KEY: 'sk-ant-fake' } },
);

describeAgentContract(
  'builtin (openai-compatible)',
  ({ model }) =>
    createAgentFromConfig(
      agentConfig(
        `agent:\n  type: builtin\n  provider: openai-compatible\n  model: qwen2.5-coder\n  baseUrl: ${model.url}/v1\n  maxTurns: 6\n`,
      ),
      process.cwd(),
    ),
  { describe, it, env: { OPENAI_API_KEY: 'sk-fake' } },
);

// The CLIs pinned in package.json (devDependencies), where this checkout has them installed.
const bundled = (name: string): boolean =>
  existsSync(fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url)));

if (bundled('claude')) {
  describeAgentContract(
    'claude-code',
    ({ model }) =>
      createAgentFromConfig(
        agentConfig(
          `agent:\n  type: claude-code\n  model: claude-sonnet-4-5\n  baseUrl: ${model.url}\n  maxTurns: 4\n  env:\n    ANTHROPIC_API_KEY: sk-ant-fake\n    CLAUDE_CODE_MAX_RETRIES: "0"\n`,
        ),
        process.cwd(),
      ),
    { describe, it, hangTimeoutMs: 4_000 },
  );
}

if (bundled('codex')) {
  describeAgentContract(
    'codex',
    ({ model }) =>
      createAgentFromConfig(
        agentConfig(
          `agent:\n  type: codex\n  model: gpt-5\n  baseUrl: ${model.url}/v1\n  env:\n    BATON_CODEX_API_KEY: sk-fake\n`,
        ),
        process.cwd(),
      ),
    { describe, it, hangTimeoutMs: 4_000 },
  );
}

import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Agent } from '../agents/agent.ts';
import { createCommandAgent } from '../agents/command-agent.ts';
import { createCliAgent } from '../agents/cli-agents.ts';
import { createBuiltinAgent } from '../agents/builtin/builtin-agent.ts';
import type { AgentConfig } from '../config/resolve.ts';
import { BatonError, exitCodes } from '../errors.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';

/** Build the agent named in baton.yaml. */
export function createAgentFromConfig(config: AgentConfig, workspace: string, sandbox?: Sandbox): Agent {
  if (config.type === 'command') {
    return createCommandAgent({
      command: config.command,
      prompt: config.prompt,
      env: config.env,
      ...(sandbox === undefined ? {} : { sandbox }),
    });
  }
  if (config.type === 'builtin') return createBuiltinAgent(config, sandbox);
  if (config.type !== 'scripted') return createCliAgent(config, sandbox);
  const script = resolve(workspace, config.script);
  if (!existsSync(script)) {
    throw new BatonError(`the scripted agent's script ${script} does not exist`, {
      code: 'AGENT_SCRIPT_MISSING',
      fix: 'correct agent.script in baton.yaml (a path relative to the workspace)',
      exitCode: exitCodes.usage,
    });
  }
  return createCommandAgent({
    id: 'scripted',
    command: [process.execPath, scriptedAgentMainPath(), script],
    prompt: 'file',
    readOnly: [script],
    ...(sandbox === undefined ? {} : { sandbox }),
  });
}

/**
 * The scripted agent's program (shipped in baton/testing), by path: the harness starts it as a process,
 * so the loop needs where it is, not its code (testing/ is a layer above the loop).
 */
function scriptedAgentMainPath(): string {
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`../testing/scripted-agent-main.${extension}`, import.meta.url));
}

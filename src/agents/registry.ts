import type { AgentConfig } from '../config/resolve.ts';
import { BatonError, exitCodes } from '../errors.ts';
import type { Agent } from './agent.ts';
import { builtinAgent } from './builtin/builtin-agent.ts';
import { claudeCodeAgent, codexAgent, geminiAgent, opencodeAgent } from './cli-agents.ts';
import { commandAgent } from './command-agent.ts';
import type { AgentDefinition, AgentType } from './define-agent.ts';
import { scriptedAgent } from './scripted-agent.ts';

/**
 * Every agent type baton.yaml can name, by its `type`. The record's type requires exactly one
 * definition per type of the config schema: a type added there without a factory does not compile.
 */
export const agentDefinitions: { readonly [Type in AgentType]: AgentDefinition<Type> } = {
  command: commandAgent,
  scripted: scriptedAgent,
  'claude-code': claudeCodeAgent,
  codex: codexAgent,
  gemini: geminiAgent,
  opencode: opencodeAgent,
  builtin: builtinAgent,
};

/** Build the agent named in baton.yaml (sessions get their sandbox from the harness, one by one). */
export function createAgentFromConfig(config: AgentConfig, workspace: string): Agent {
  const definition = (agentDefinitions as Readonly<Record<string, AgentDefinition | undefined>>)[config.type];
  if (definition === undefined) {
    throw new BatonError(`baton has no agent type "${config.type}"`, {
      code: 'AGENT_UNKNOWN',
      fix: `set agent.type in baton.yaml to one of: ${Object.keys(agentDefinitions).join(', ')}`,
      exitCode: exitCodes.usage,
    });
  }
  return definition.create(config, { workspace });
}

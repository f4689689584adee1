import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../agents/agent.ts';
import { createCommandAgent } from '../agents/command-agent.ts';
import { agentScriptSchema, type AgentScriptInput } from './script.ts';
import { scriptedAgentMainPath } from './scripted-agent-session.ts';

/**
 * A scripted agent that runs as a real process, exactly as a real agent CLI would (own process group,
 * prompt file, transcript, handoff note), in the sandbox each session is handed. The script is
 * validated and written to `scriptDir`, which the sandbox lets it read.
 */
export function createScriptedAgent(script: AgentScriptInput, scriptDir: string): Agent {
  const parsed = agentScriptSchema.parse(script);
  const path = join(scriptDir, `agent-script-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(parsed));
  return createCommandAgent({
    id: 'scripted',
    command: [process.execPath, scriptedAgentMainPath(), path],
    prompt: 'file',
    readOnly: [path],
  });
}

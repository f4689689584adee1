import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatonError, exitCodes } from '../errors.ts';
import { createCommandAgent } from './command-agent.ts';
import { defineAgent } from './define-agent.ts';

/**
 * The scripted agent's program (shipped in baton/testing), by path: the harness starts it as a process,
 * so the agents need where it is, not its code (testing/ is a layer above them).
 */
function scriptedAgentMainPath(): string {
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`../testing/scripted-agent-main.${extension}`, import.meta.url));
}

/** `type: scripted`: the scripted agent of baton/testing, as a real process, playing a script file. */
export const scriptedAgent = defineAgent({
  type: 'scripted',
  create: (config, { workspace }) => {
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
    });
  },
});

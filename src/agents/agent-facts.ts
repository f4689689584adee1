import type { AgentConfig } from '../config/resolve.ts';
import { firstWord } from './agent-missing.ts';
import { binaries, defaultKeys } from './cli-agents.ts';
import { resolveBinary } from './stream-agent.ts';

/** What `baton doctor` checks of an agent: where its program is, how it says its version, its key. */
export interface AgentFacts {
  /** The program a session starts, as the harness resolves it; absent when the harness runs the agent. */
  readonly program?: string;
  /** How to ask the program its version (an agent CLI); absent for a person's own command. */
  readonly versionArgs?: readonly string[];
  /** The variable the agent's key is read from, and whether a run can go without it (a local server). */
  readonly credential?: { readonly env: string; readonly optional: boolean };
  /** Its model endpoint when baton.yaml names one. */
  readonly baseUrl?: string;
  /** Why the program is not known without running the command (a shell line starting with `cd`). */
  readonly unresolved?: string;
}

export function agentFacts(config: AgentConfig): AgentFacts {
  switch (config.type) {
    case 'command': {
      const program = firstWord(config.command);
      return program === undefined
        ? {
            unresolved:
              'a shell line that starts with a shell word: what it starts is known only when it runs',
          }
        : { program: program.includes('/') ? program : resolveBinary(program) };
    }
    case 'scripted':
      return {};
    case 'builtin':
      return {
        credential: {
          env: config.apiKeyEnv ?? (config.provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY'),
          optional: config.provider === 'openai-compatible',
        },
        ...(config.baseUrl === undefined ? {} : { baseUrl: config.baseUrl }),
      };
    default:
      return {
        program: resolveBinary(config.binary ?? binaries[config.type]),
        versionArgs: ['--version'],
        credential: { env: config.apiKeyEnv ?? defaultKeys[config.type], optional: false },
        ...(config.baseUrl === undefined ? {} : { baseUrl: config.baseUrl }),
      };
  }
}

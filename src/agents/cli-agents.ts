import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliAgentConfig } from '../config/resolve.ts';
import type { Agent, AgentSessionOptions } from './agent.ts';
import { defineAgent } from './define-agent.ts';
import { createClaudeParser } from './parsers/claude.ts';
import { createCodexParser } from './parsers/codex.ts';
import { createGeminiParser } from './parsers/gemini.ts';
import { createOpencodeParser } from './parsers/opencode.ts';
import { createStreamAgent, resolveBinary, type PreparedCommand } from './stream-agent.ts';

export const defaultKeys: Record<CliAgentConfig['type'], string> = {
  'claude-code': 'ANTHROPIC_API_KEY',
  codex: 'OPENAI_API_KEY',
  gemini: 'GEMINI_API_KEY',
  opencode: 'OPENAI_API_KEY',
};

export const binaries: Record<CliAgentConfig['type'], string> = {
  'claude-code': 'claude',
  codex: 'codex',
  gemini: 'gemini',
  opencode: 'opencode',
};

function apiKey(config: CliAgentConfig, env: NodeJS.ProcessEnv): string | undefined {
  return env[config.apiKeyEnv ?? defaultKeys[config.type]];
}

/** A folder of this session only (config, home): fresh state per iteration, outside the workspace. */
function sessionFolder(session: AgentSessionOptions, name: string): string {
  const folder = join(session.sessionDir, name);
  mkdirSync(folder, { recursive: true });
  return folder;
}

function claude(config: CliAgentConfig, binary: string, session: AgentSessionOptions): PreparedCommand {
  const key = apiKey(config, session.env);
  return {
    command: [
      binary,
      '-p',
      session.prompt,
      '--output-format',
      'stream-json',
      '--verbose',
      '--bare',
      '--no-session-persistence',
      '--max-turns',
      String(config.maxTurns),
      // As root bypassPermissions is refused: accept edits and allow the tools a worker needs.
      '--permission-mode',
      'acceptEdits',
      '--allowedTools',
      config.allowedTools.join(','),
      ...(config.model === undefined ? [] : ['--model', config.model]),
      ...config.extraArgs,
    ],
    env: {
      CLAUDE_CONFIG_DIR: sessionFolder(session, 'claude'),
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_DISABLE_TERMINAL_TITLE: '1',
      ...(config.baseUrl === undefined ? {} : { ANTHROPIC_BASE_URL: config.baseUrl }),
      ...(key === undefined ? {} : { ANTHROPIC_API_KEY: key }),
      ...config.env,
    },
  };
}

function codex(config: CliAgentConfig, binary: string, session: AgentSessionOptions): PreparedCommand {
  const key = apiKey(config, session.env);
  const model = config.model ?? 'gpt-5';
  const provider =
    config.baseUrl === undefined
      ? []
      : [
          '-c',
          `model_providers.baton={name="baton", base_url="${config.baseUrl}", env_key="BATON_CODEX_API_KEY", wire_api="responses", request_max_retries=1, stream_max_retries=1}`,
          '-c',
          'model_provider="baton"',
        ];
  return {
    // baton's sandbox is the sandbox; codex's own would need CODEX_HOME outside /tmp and nested namespaces.
    command: [
      binary,
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--ephemeral',
      '--ignore-user-config',
      '--sandbox',
      'danger-full-access',
      '-c',
      'approval_policy="never"',
      '-c',
      `model="${model}"`,
      ...provider,
      ...config.extraArgs,
      '-',
    ],
    stdin: session.prompt,
    env: {
      CODEX_HOME: sessionFolder(session, 'codex'),
      ...(key === undefined
        ? {}
        : config.baseUrl === undefined
          ? { CODEX_API_KEY: key }
          : { BATON_CODEX_API_KEY: key }),
      ...config.env,
    },
  };
}

function gemini(config: CliAgentConfig, binary: string, session: AgentSessionOptions): PreparedCommand {
  const key = apiKey(config, session.env);
  return {
    command: [
      binary,
      '-p',
      session.prompt,
      '--output-format',
      'stream-json',
      '--approval-mode',
      'yolo',
      ...(config.model === undefined ? [] : ['-m', config.model]),
      ...config.extraArgs,
    ],
    env: {
      GEMINI_CLI_TRUST_WORKSPACE: 'true',
      GEMINI_CLI_HOME: sessionFolder(session, 'gemini'),
      ...(config.baseUrl === undefined ? {} : { GOOGLE_GEMINI_BASE_URL: config.baseUrl }),
      ...(key === undefined ? {} : { GEMINI_API_KEY: key }),
      ...config.env,
    },
  };
}

function opencode(config: CliAgentConfig, binary: string, session: AgentSessionOptions): PreparedCommand {
  const key = apiKey(config, session.env);
  const folder = sessionFolder(session, 'opencode');
  const model = config.model ?? 'baton/default';
  // Permissions allowed up front: an `ask` in run mode has been seen to hang forever.
  const settings: Record<string, unknown> = {
    $schema: 'https://opencode.ai/config.json',
    permission: 'allow',
    autoupdate: false,
    share: 'disabled',
  };
  if (config.baseUrl !== undefined) {
    settings.provider = {
      baton: {
        npm: '@ai-sdk/openai-compatible',
        options: { baseURL: config.baseUrl, ...(key === undefined ? {} : { apiKey: key }) },
        models: { [model.split('/').at(-1) ?? 'default']: {} },
      },
    };
  }
  writeFileSync(join(folder, 'opencode.json'), JSON.stringify(settings, null, 2));
  return {
    command: [binary, 'run', '--format', 'json', '-m', model, ...config.extraArgs, session.prompt],
    env: {
      OPENCODE_CONFIG: join(folder, 'opencode.json'),
      XDG_DATA_HOME: folder,
      XDG_CONFIG_HOME: folder,
      ...config.env,
    },
  };
}

/** One of the agent CLIs, as baton.yaml names it. */
export function createCliAgent(config: CliAgentConfig): Agent {
  const binary = resolveBinary(config.binary ?? binaries[config.type]);
  const prepare = { 'claude-code': claude, codex, gemini, opencode }[config.type];
  const model = config.model ?? '';
  return createStreamAgent({
    id: config.type,
    binary,
    prepare: (session) => prepare(config, binary, session),
    parser: () =>
      config.type === 'claude-code'
        ? createClaudeParser(config.model)
        : config.type === 'codex'
          ? createCodexParser(config.model ?? 'gpt-5')
          : config.type === 'gemini'
            ? createGeminiParser(model)
            : createOpencodeParser(),
    idleTimeoutMs: config.idleTimeoutMs,
    graceAfterFinalMs: 10_000,
  });
}

/** `type: claude-code`, `codex`, `gemini`, `opencode`: one definition each, one adapter for all. */
export const claudeCodeAgent = defineAgent({ type: 'claude-code', create: createCliAgent });
export const codexAgent = defineAgent({ type: 'codex', create: createCliAgent });
export const geminiAgent = defineAgent({ type: 'gemini', create: createCliAgent });
export const opencodeAgent = defineAgent({ type: 'opencode', create: createCliAgent });

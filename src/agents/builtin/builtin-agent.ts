import { appendFileSync } from 'node:fs';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, generateText, stepCountIs, type LanguageModel } from 'ai';
import type { BuiltinAgentConfig } from '../../config/resolve.ts';
import type { Agent, AgentSessionOptions, AgentSessionResult } from '../agent.ts';
import { defineAgent } from '../define-agent.ts';
import { costOf } from '../prices.ts';
import { rateLimitPattern } from '../parsers/parser.ts';
import { codingTools } from './tools.ts';

// The SDK's warnings would land in the middle of a run's output; the transcript keeps what matters.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS ??= false;

const system = `You are a coding agent working in a git repository, one session of a longer effort.
Use the tools to look at the code, change it and run its checks. Keep changes small and focused on the
task in the prompt. When you are done, answer with a short note of what you did and what is next.`;

/** The model named in baton.yaml: Anthropic, or any OpenAI-compatible endpoint (Ollama, llama.cpp, vLLM...). */
export function languageModel(
  config: Pick<BuiltinAgentConfig, 'provider' | 'model' | 'baseUrl' | 'apiKeyEnv'>,
  env: NodeJS.ProcessEnv,
): LanguageModel {
  if (config.provider === 'anthropic') {
    const apiKey = env[config.apiKeyEnv ?? 'ANTHROPIC_API_KEY'] ?? '';
    return createAnthropic({
      apiKey,
      ...(config.baseUrl === undefined ? {} : { baseURL: `${config.baseUrl.replace(/\/$/, '')}/v1` }),
    })(config.model);
  }
  const apiKey = env[config.apiKeyEnv ?? 'OPENAI_API_KEY'];
  return createOpenAICompatible({
    name: 'baton',
    baseURL: config.baseUrl ?? 'http://127.0.0.1:11434/v1',
    includeUsage: true,
    ...(apiKey === undefined ? {} : { apiKey }),
  })(config.model);
}

function retryAfterMs(error: APICallError): number | undefined {
  const header = error.responseHeaders?.['retry-after'];
  const seconds = header === undefined ? Number.NaN : Number(header);
  return Number.isFinite(seconds) ? seconds * 1_000 : undefined;
}

/**
 * baton's own small coding agent on the Vercel AI SDK: the model loop runs in the harness, the bash tool
 * runs each command in the sandbox, the file tools stay inside the worktree (and its scope), and the
 * turns are bounded. Usage is reported by the SDK and priced from the price table.
 */
export function createBuiltinAgent(config: BuiltinAgentConfig): Agent {
  return {
    specificationVersion: 'agent-v1',
    id: `builtin:${config.model}`,
    async startSession(session: AgentSessionOptions): Promise<AgentSessionResult> {
      const started = performance.now();
      const timeout = AbortSignal.timeout(session.timeoutMs);
      const signal = AbortSignal.any([session.signal, timeout]);
      const log = (entry: Record<string, unknown>): void => {
        appendFileSync(session.transcriptPath, `${JSON.stringify(entry)}\n`);
      };
      const base = { exitCode: null, transcriptPath: session.transcriptPath, sessionId: undefined };
      try {
        const result = await generateText({
          model: languageModel(config, session.env),
          instructions: system,
          prompt: session.prompt,
          tools: codingTools({
            cwd: session.cwd,
            env: session.env,
            sandbox: session.sandbox,
            writableInside: session.writableInside,
            signal,
            sessionDir: session.sessionDir,
          }),
          stopWhen: stepCountIs(config.maxTurns),
          maxRetries: 0,
          abortSignal: signal,
          onStepEnd: (step) => {
            log({
              text: step.text,
              toolCalls: step.toolCalls.map((call) => ({ tool: call.toolName, input: call.input })),
              toolResults: step.toolResults.map((entry) => ({ tool: entry.toolName, output: entry.output })),
            });
          },
        });
        const inputTokens = result.usage.inputTokens ?? 0;
        const outputTokens = result.usage.outputTokens ?? 0;
        const cachedInputTokens = result.usage.inputTokenDetails.cacheReadTokens ?? 0;
        const turns = result.steps.length;
        const unfinished = turns >= config.maxTurns && (result.steps.at(-1)?.toolCalls.length ?? 0) > 0;
        return {
          ...base,
          status: unfinished ? 'failed' : 'completed',
          exitCode: unfinished ? 1 : 0,
          durationMs: performance.now() - started,
          usage: {
            inputTokens,
            outputTokens,
            cachedInputTokens,
            costUsd: costOf(config.model, { inputTokens, outputTokens, cachedInputTokens }),
          },
          finalMessage: result.text,
          error: unfinished ? `reached maxTurns (${config.maxTurns}) while still calling tools` : undefined,
          turns,
        };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log({ error: message });
        const status = timeout.aborted ? 'timed-out' : session.signal.aborted ? 'aborted' : 'failed';
        const rateLimited =
          APICallError.isInstance(error) && (error.statusCode === 429 || rateLimitPattern.test(message));
        return {
          ...base,
          status,
          durationMs: performance.now() - started,
          usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0 },
          finalMessage: '',
          error: `the model call failed: ${message}`,
          rateLimit: rateLimited ? { message, retryAfterMs: retryAfterMs(error) } : undefined,
        };
      }
    },
  };
}

/** `type: builtin`: baton's own agent on the Vercel AI SDK. */
export const builtinAgent = defineAgent({ type: 'builtin', create: createBuiltinAgent });

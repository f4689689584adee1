import { costOf } from '../prices.ts';
import {
  field,
  num,
  processProblem,
  processStatus,
  rateLimitPattern,
  str,
  type ParsedSession,
  type ProcessEnd,
  type StreamParser,
} from './parser.ts';

/**
 * `gemini -p ... -o stream-json`: init {session_id, model}, message {role, content, delta?}, tool_use,
 * tool_result, error {severity, message}, result {status, error?, stats}. Exit 53 is the turn limit.
 */
export function createGeminiParser(model: string): StreamParser {
  let sessionId: string | undefined;
  let modelSeen = model;
  let text = '';
  let result: Record<string, unknown> | undefined;
  let turns = 0;
  let lastError: string | undefined;
  return {
    get finished() {
      return result !== undefined;
    },
    onEvent(event) {
      switch (event.type) {
        case 'init':
          sessionId = str(event.session_id);
          modelSeen = str(event.model) ?? modelSeen;
          break;
        case 'message':
          if (event.role === 'assistant') {
            const content = str(event.content) ?? '';
            text = event.delta === true ? text + content : content;
          } else if (event.role === 'user') {
            turns += 1;
          }
          break;
        case 'error':
          if (event.severity === 'error') lastError = str(event.message);
          break;
        case 'result':
          result = event;
          break;
        default:
          break;
      }
    },
    outcome(end: ProcessEnd): ParsedSession {
      const stats = field(result, 'stats');
      const inputTokens = num(field(stats, 'input_tokens'));
      const outputTokens = num(field(stats, 'output_tokens'));
      const cachedInputTokens = num(field(stats, 'cached'));
      const failedStatus = field(result, 'status') === 'error';
      const isError = result === undefined || failedStatus || end.exitCode !== 0;
      const message =
        str(field(result, 'error', 'message')) ??
        lastError ??
        (end.exitCode === 53 ? 'the session reached its turn limit (exit 53)' : undefined);
      return {
        status: processStatus(end) ?? (isError ? 'failed' : 'completed'),
        isError,
        turns: Math.max(turns, num(field(stats, 'tool_calls')) > 0 ? 1 : 0),
        sessionId,
        usage: {
          inputTokens,
          outputTokens,
          cachedInputTokens,
          costUsd: costOf(modelSeen, { inputTokens, outputTokens, cachedInputTokens }),
        },
        finalMessage: text,
        error:
          processProblem(end) ??
          (isError ? (message ?? `gemini printed no result (exit ${end.exitCode ?? '?'})`) : undefined),
        rateLimit:
          isError && message !== undefined && rateLimitPattern.test(message)
            ? { message, retryAfterMs: undefined }
            : undefined,
      };
    },
  };
}

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
 * `codex exec --json`. Terminal events: `turn.completed` (usage: thread totals) or `turn.failed`.
 * Top-level `error` events are often retry notices ("Reconnecting... 1/5"), not the end. No cost is
 * reported: it is computed from the price table.
 */
export function createCodexParser(model: string): StreamParser {
  let threadId: string | undefined;
  let lastMessage = '';
  let usage: Record<string, unknown> | undefined;
  let failed: string | undefined;
  let turns = 0;
  let terminal = false;
  let lastError: string | undefined;
  return {
    get finished() {
      return terminal;
    },
    onEvent(event) {
      switch (event.type) {
        case 'thread.started':
          threadId = str(event.thread_id);
          break;
        case 'turn.started':
          turns += 1;
          break;
        case 'item.completed':
          if (field(event, 'item', 'type') === 'agent_message') {
            lastMessage = str(field(event, 'item', 'text')) ?? lastMessage;
          }
          break;
        case 'turn.completed':
          usage = (field(event, 'usage') as Record<string, unknown> | undefined) ?? {};
          terminal = true;
          break;
        case 'turn.failed':
          failed = str(field(event, 'error', 'message')) ?? 'turn failed';
          terminal = true;
          break;
        case 'error':
          lastError = str(event.message) ?? lastError;
          break;
        default:
          break;
      }
    },
    outcome(end: ProcessEnd): ParsedSession {
      const inputTokens = num(field(usage, 'input_tokens'));
      const cachedInputTokens = num(field(usage, 'cached_input_tokens'));
      const outputTokens = num(field(usage, 'output_tokens')) + num(field(usage, 'reasoning_output_tokens'));
      const isError = failed !== undefined || usage === undefined || end.exitCode !== 0;
      const message = failed ?? lastError;
      return {
        status: processStatus(end) ?? (isError ? 'failed' : 'completed'),
        isError,
        turns,
        sessionId: threadId,
        usage: {
          inputTokens,
          outputTokens,
          cachedInputTokens,
          costUsd: costOf(model, { inputTokens, outputTokens, cachedInputTokens }),
        },
        finalMessage: lastMessage,
        error:
          processProblem(end) ??
          (isError
            ? (message ??
              `codex ended without turn.completed (exit ${end.exitCode ?? '?'}): ${end.stderrTail.trim().split('\n').slice(-2).join(' ')}`)
            : undefined),
        rateLimit:
          isError && message !== undefined && rateLimitPattern.test(message)
            ? { message, retryAfterMs: undefined }
            : undefined,
      };
    },
  };
}

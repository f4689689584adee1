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
 * Claude Code's `--output-format stream-json --verbose`. The terminal event is the `result` line; a
 * failure is `is_error`, an `error_*` subtype, a non-zero exit or no result at all (never the subtype
 * alone: API errors arrive as subtype "success" with is_error true). Tokens and cost come from the
 * result (modelUsage), not from the assistant lines, whose output counts are placeholders.
 */
export function createClaudeParser(model: string | undefined): StreamParser {
  let result: Record<string, unknown> | undefined;
  let sessionId: string | undefined;
  let lastText = '';
  let modelSeen = model ?? '';
  let rateLimited: string | undefined;
  let retryAfterMs: number | undefined;
  return {
    get finished() {
      return result !== undefined;
    },
    onEvent(event) {
      sessionId ??= str(event.session_id);
      if (event.type === 'system' && event.subtype === 'init') modelSeen = str(event.model) ?? modelSeen;
      if (event.type === 'system' && event.subtype === 'api_retry' && num(event.error_status) === 429) {
        retryAfterMs = num(event.retry_delay_ms) || retryAfterMs;
      }
      if (event.type === 'assistant') {
        const content = field(event, 'message', 'content');
        if (Array.isArray(content)) {
          const texts = content
            .filter((block) => field(block, 'type') === 'text')
            .map((block) => str(field(block, 'text')) ?? '');
          if (texts.length > 0) lastText = texts.join('\n');
        }
        if (event.error === 'rate_limit' || num(event.api_error_status) === 429) {
          rateLimited = lastText || 'rate limited';
        }
      }
      if (event.type === 'rate_limit_event' && field(event, 'rate_limit_info', 'status') === 'rejected') {
        rateLimited = 'usage limit reached';
        const resets = num(field(event, 'rate_limit_info', 'resetsAt'));
        if (resets > 0) retryAfterMs = Math.max(0, resets * 1_000 - Date.now());
      }
      if (event.type === 'result') result = event;
    },
    outcome(end: ProcessEnd): ParsedSession {
      const models = field(result, 'modelUsage');
      let inputTokens = 0;
      let outputTokens = 0;
      let cachedInputTokens = 0;
      let modelCost = 0;
      if (typeof models === 'object' && models !== null) {
        for (const usage of Object.values(models)) {
          inputTokens +=
            num(field(usage, 'inputTokens')) +
            num(field(usage, 'cacheReadInputTokens')) +
            num(field(usage, 'cacheCreationInputTokens'));
          cachedInputTokens += num(field(usage, 'cacheReadInputTokens'));
          outputTokens += num(field(usage, 'outputTokens'));
          modelCost += num(field(usage, 'costUSD'));
        }
      } else if (result !== undefined) {
        inputTokens =
          num(field(result, 'usage', 'input_tokens')) +
          num(field(result, 'usage', 'cache_read_input_tokens'));
        cachedInputTokens = num(field(result, 'usage', 'cache_read_input_tokens'));
        outputTokens = num(field(result, 'usage', 'output_tokens'));
      }
      const reported = num(field(result, 'total_cost_usd')) || modelCost;
      const usage = {
        inputTokens,
        outputTokens,
        cachedInputTokens,
        costUsd:
          reported > 0 ? reported : costOf(modelSeen, { inputTokens, outputTokens, cachedInputTokens }),
      };
      const subtype = str(field(result, 'subtype')) ?? '';
      const isError =
        result === undefined ||
        field(result, 'is_error') === true ||
        subtype.startsWith('error_') ||
        end.exitCode !== 0;
      const resultText = str(field(result, 'result'));
      const errors = field(result, 'errors');
      const problem =
        processProblem(end) ??
        (result === undefined
          ? `claude printed no result (exit ${end.exitCode ?? '?'}): ${end.stderrTail.trim().split('\n').slice(-3).join(' ')}`
          : isError
            ? `${str(field(result, 'terminal_reason')) ?? subtype}: ${resultText ?? (Array.isArray(errors) ? errors.join('; ') : '')}`
            : undefined);
      const apiStatus = num(field(result, 'api_error_status'));
      const rateMessage =
        rateLimited ??
        (apiStatus === 429 || (isError && rateLimitPattern.test(resultText ?? ''))
          ? (resultText ?? 'rate limited (429)')
          : undefined);
      return {
        status: processStatus(end) ?? (isError ? 'failed' : 'completed'),
        isError,
        turns: result === undefined ? undefined : num(field(result, 'num_turns')),
        sessionId: str(field(result, 'session_id')) ?? sessionId,
        usage,
        finalMessage: resultText ?? lastText,
        error: problem,
        rateLimit: isError && rateMessage !== undefined ? { message: rateMessage, retryAfterMs } : undefined,
      };
    },
  };
}

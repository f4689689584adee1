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
 * `opencode run --format json`: lines {type, timestamp, sessionID, part?} with step_start, text,
 * tool_use, step_finish (cost and tokens per step: summed), error, and in some builds done. The process
 * exit is the end; denied permissions exit 0 with nothing done.
 */
export function createOpencodeParser(): StreamParser {
  let sessionId: string | undefined;
  let text = '';
  let steps = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  let cachedInputTokens = 0;
  let costUsd = 0;
  let errorMessage: string | undefined;
  let done = false;
  return {
    get finished() {
      return done;
    },
    onEvent(event) {
      sessionId ??= str(event.sessionID);
      switch (event.type) {
        case 'text':
          text = str(field(event, 'part', 'text')) ?? text;
          break;
        case 'step_finish': {
          steps += 1;
          const tokens = field(event, 'part', 'tokens');
          inputTokens += num(field(tokens, 'input')) + num(field(tokens, 'cache', 'read'));
          cachedInputTokens += num(field(tokens, 'cache', 'read'));
          outputTokens += num(field(tokens, 'output')) + num(field(tokens, 'reasoning'));
          costUsd += num(field(event, 'part', 'cost'));
          break;
        }
        case 'error':
          errorMessage =
            str(field(event, 'error', 'data', 'message')) ??
            str(field(event, 'error', 'message')) ??
            str(field(event, 'error', 'name')) ??
            'error';
          break;
        case 'done':
          done = true;
          break;
        default:
          break;
      }
    },
    outcome(end: ProcessEnd): ParsedSession {
      const isError = errorMessage !== undefined || end.exitCode !== 0 || steps === 0;
      return {
        status: processStatus(end) ?? (isError ? 'failed' : 'completed'),
        isError,
        turns: steps,
        sessionId,
        usage: { inputTokens, outputTokens, cachedInputTokens, costUsd },
        finalMessage: text,
        error:
          processProblem(end) ??
          (isError
            ? (errorMessage ??
              (steps === 0
                ? 'opencode did no step (a denied permission ends it silently)'
                : `exit ${end.exitCode ?? '?'}`))
            : undefined),
        rateLimit:
          errorMessage !== undefined && rateLimitPattern.test(errorMessage)
            ? { message: errorMessage, retryAfterMs: undefined }
            : undefined,
      };
    },
  };
}

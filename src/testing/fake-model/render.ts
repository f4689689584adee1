import { randomBytes } from 'node:crypto';
import type { NormalizedRequest, Wire } from './request.ts';
import type { FakeReply } from './script.ts';

/** One server-sent event as the wire format writes it (Chat Completions has no `event:` line). */
export interface SseEvent {
  readonly event?: string;
  readonly data: string;
}

const id = (prefix: string): string => `${prefix}_${randomBytes(8).toString('hex')}`;

function anthropicStream(reply: FakeReply, request: NormalizedRequest): SseEvent[] {
  const events: SseEvent[] = [];
  const send = (type: string, body: Record<string, unknown>): void => {
    events.push({ event: type, data: JSON.stringify({ type, ...body }) });
  };
  const { usage } = reply;
  send('message_start', {
    message: {
      id: id('msg'),
      type: 'message',
      role: 'assistant',
      model: request.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: usage.inputTokens,
        output_tokens: 1,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: usage.cachedInputTokens,
      },
    },
  });
  send('ping', {});
  let index = 0;
  if (reply.text !== undefined) {
    send('content_block_start', { index, content_block: { type: 'text', text: '' } });
    send('content_block_delta', { index, delta: { type: 'text_delta', text: reply.text } });
    send('content_block_stop', { index });
    index += 1;
  }
  for (const call of reply.toolCalls) {
    send('content_block_start', {
      index,
      content_block: { type: 'tool_use', id: id('toolu'), name: call.name, input: {} },
    });
    send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
    send('content_block_delta', {
      index,
      delta: { type: 'input_json_delta', partial_json: JSON.stringify(call.input) },
    });
    send('content_block_stop', { index });
    index += 1;
  }
  send('message_delta', {
    delta: { stop_reason: reply.toolCalls.length > 0 ? 'tool_use' : 'end_turn', stop_sequence: null },
    usage: { output_tokens: usage.outputTokens },
  });
  send('message_stop', {});
  return events;
}

function anthropicMessage(reply: FakeReply, request: NormalizedRequest): Record<string, unknown> {
  return {
    id: id('msg'),
    type: 'message',
    role: 'assistant',
    model: request.model,
    content: [
      ...(reply.text === undefined ? [] : [{ type: 'text', text: reply.text }]),
      ...reply.toolCalls.map((call) => ({
        type: 'tool_use',
        id: id('toolu'),
        name: call.name,
        input: call.input,
      })),
    ],
    stop_reason: reply.toolCalls.length > 0 ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: reply.usage.inputTokens,
      output_tokens: reply.usage.outputTokens,
      cache_read_input_tokens: reply.usage.cachedInputTokens,
    },
  };
}

function responsesUsage(reply: FakeReply): Record<string, unknown> {
  const { usage } = reply;
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

function responsesItems(reply: FakeReply): Record<string, unknown>[] {
  return [
    ...(reply.text === undefined
      ? []
      : [
          {
            type: 'message',
            role: 'assistant',
            id: id('msg'),
            status: 'completed',
            content: [{ type: 'output_text', text: reply.text, annotations: [] }],
          },
        ]),
    ...reply.toolCalls.map((call) => ({
      type: 'function_call',
      id: id('fc'),
      call_id: id('call'),
      name: call.name,
      arguments: JSON.stringify(call.input),
      status: 'completed',
    })),
  ];
}

function responsesStream(reply: FakeReply, request: NormalizedRequest): SseEvent[] {
  const responseId = id('resp');
  const events: SseEvent[] = [];
  let sequence = 0;
  const send = (type: string, body: Record<string, unknown>): void => {
    events.push({ event: type, data: JSON.stringify({ type, sequence_number: sequence++, ...body }) });
  };
  const base = {
    id: responseId,
    object: 'response',
    model: request.model,
    created_at: Math.floor(Date.now() / 1000),
  };
  send('response.created', { response: { ...base, status: 'in_progress', output: [] } });
  const items = responsesItems(reply);
  items.forEach((item, index) => {
    send('response.output_item.added', {
      output_index: index,
      item: { ...item, ...(item.type === 'message' ? { content: [] } : { arguments: '' }) },
    });
    if (item.type === 'message' && reply.text !== undefined) {
      send('response.content_part.added', {
        output_index: index,
        item_id: item.id,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [] },
      });
      send('response.output_text.delta', {
        output_index: index,
        item_id: item.id,
        content_index: 0,
        delta: reply.text,
      });
      send('response.output_text.done', {
        output_index: index,
        item_id: item.id,
        content_index: 0,
        text: reply.text,
      });
      send('response.content_part.done', {
        output_index: index,
        item_id: item.id,
        content_index: 0,
        part: { type: 'output_text', text: reply.text, annotations: [] },
      });
    } else if (item.type === 'function_call') {
      send('response.function_call_arguments.delta', {
        output_index: index,
        item_id: item.id,
        delta: item.arguments,
      });
      send('response.function_call_arguments.done', {
        output_index: index,
        item_id: item.id,
        arguments: item.arguments,
      });
    }
    send('response.output_item.done', { output_index: index, item });
  });
  send('response.completed', {
    response: { ...base, status: 'completed', output: items, usage: responsesUsage(reply) },
  });
  return events;
}

function chatUsage(reply: FakeReply): Record<string, unknown> {
  return {
    prompt_tokens: reply.usage.inputTokens,
    completion_tokens: reply.usage.outputTokens,
    total_tokens: reply.usage.inputTokens + reply.usage.outputTokens,
    prompt_tokens_details: { cached_tokens: reply.usage.cachedInputTokens },
  };
}

function chatStream(reply: FakeReply, request: NormalizedRequest): SseEvent[] {
  const chunkId = id('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): SseEvent => ({
    data: JSON.stringify({
      id: chunkId,
      object: 'chat.completion.chunk',
      created,
      model: request.model,
      choices,
      ...extra,
    }),
  });
  const events: SseEvent[] = [
    chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
  ];
  if (reply.text !== undefined) {
    events.push(chunk([{ index: 0, delta: { content: reply.text }, finish_reason: null }]));
  }
  reply.toolCalls.forEach((call, index) => {
    events.push(
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [
              { index, id: id('call'), type: 'function', function: { name: call.name, arguments: '' } },
            ],
          },
          finish_reason: null,
        },
      ]),
      chunk([
        {
          index: 0,
          delta: { tool_calls: [{ index, function: { arguments: JSON.stringify(call.input) } }] },
          finish_reason: null,
        },
      ]),
    );
  });
  events.push(
    chunk([{ index: 0, delta: {}, finish_reason: reply.toolCalls.length > 0 ? 'tool_calls' : 'stop' }]),
  );
  if (request.includeUsage) events.push(chunk([], { usage: chatUsage(reply) }));
  events.push({ data: '[DONE]' });
  return events;
}

function chatCompletion(reply: FakeReply, request: NormalizedRequest): Record<string, unknown> {
  return {
    id: id('chatcmpl'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.text ?? null,
          ...(reply.toolCalls.length === 0
            ? {}
            : {
                tool_calls: reply.toolCalls.map((call) => ({
                  id: id('call'),
                  type: 'function',
                  function: { name: call.name, arguments: JSON.stringify(call.input) },
                })),
              }),
        },
        finish_reason: reply.toolCalls.length > 0 ? 'tool_calls' : 'stop',
      },
    ],
    usage: chatUsage(reply),
  };
}

/** The reply as a stream of events in the request's wire format. */
export function renderStream(reply: FakeReply, request: NormalizedRequest): SseEvent[] {
  return request.wire === 'anthropic'
    ? anthropicStream(reply, request)
    : request.wire === 'responses'
      ? responsesStream(reply, request)
      : chatStream(reply, request);
}

/** The reply as one JSON body (non-streaming requests). */
export function renderBody(reply: FakeReply, request: NormalizedRequest): Record<string, unknown> {
  if (request.wire === 'anthropic') return anthropicMessage(reply, request);
  if (request.wire === 'chat') return chatCompletion(reply, request);
  return {
    id: id('resp'),
    object: 'response',
    status: 'completed',
    model: request.model,
    output: responsesItems(reply),
    usage: responsesUsage(reply),
  };
}

/** The provider's error body for an HTTP fault. */
export function errorBody(wire: Wire, status: number): Record<string, unknown> {
  const rateLimited = status === 429;
  if (wire === 'anthropic') {
    return {
      type: 'error',
      error: {
        type: rateLimited ? 'rate_limit_error' : 'api_error',
        message: rateLimited ? 'fake rate limit: slow down' : 'fake server error',
      },
    };
  }
  return {
    error: {
      message: rateLimited ? 'Rate limit reached (fake): slow down' : 'The server had an error (fake)',
      type: rateLimited ? 'rate_limit_exceeded' : 'server_error',
      code: rateLimited ? 'rate_limit_exceeded' : 'server_error',
      param: null,
    },
  };
}

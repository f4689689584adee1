import type { FakeCondition } from './script.ts';

export type Wire = 'anthropic' | 'responses' | 'chat';

/** What a rule can look at, the same whatever the wire format. */
export interface NormalizedRequest {
  readonly wire: Wire;
  readonly model: string;
  readonly stream: boolean;
  readonly lastUserText: string;
  readonly allText: string;
  /** Tool results after the model's last turn. */
  readonly toolResults: readonly string[];
  readonly tools: readonly string[];
  readonly structuredOutput: boolean;
  /** Chat Completions: send a usage chunk at the end. */
  readonly includeUsage: boolean;
}

type Json = Record<string, unknown>;

const record = (value: unknown): Json => (typeof value === 'object' && value !== null ? (value as Json) : {});
const array = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** The text of a content value: a string, or blocks with text (Anthropic and OpenAI shapes). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  return array(content)
    .map((block) => {
      const entry = record(block);
      if (typeof entry.text === 'string') return entry.text;
      if (entry.type === 'tool_result') return contentText(entry.content);
      return '';
    })
    .join('\n');
}

function normalizeAnthropic(body: Json): NormalizedRequest {
  const messages = array(body.messages).map(record);
  const system = contentText(body.system);
  const users = messages.filter((message) => message.role === 'user');
  const last = users.at(-1);
  const lastBlocks = array(last?.content).map(record);
  const toolResults = lastBlocks
    .filter((block) => block.type === 'tool_result')
    .map((block) => contentText(block.content));
  const userText = (message: Json | undefined): string =>
    typeof message?.content === 'string'
      ? message.content
      : array(message?.content)
          .map(record)
          .filter((block) => block.type === 'text')
          .map((block) => text(block.text))
          .join('\n');
  return {
    wire: 'anthropic',
    model: text(body.model),
    stream: body.stream === true,
    lastUserText: userText(last),
    allText: [system, ...users.map(userText)].join('\n'),
    toolResults,
    tools: array(body.tools).map((tool) => text(record(tool).name)),
    structuredOutput: record(body.output_config).format !== undefined,
    includeUsage: false,
  };
}

function normalizeResponses(body: Json): NormalizedRequest {
  const input =
    typeof body.input === 'string'
      ? [{ type: 'message', role: 'user', content: body.input }]
      : array(body.input).map(record);
  const messages = input.filter(
    (item) => item.type === 'message' || (item.type === undefined && item.role !== undefined),
  );
  const users = messages.filter(
    (item) => item.role === 'user' || item.role === 'developer' || item.role === 'system',
  );
  const lastAssistant = input
    .map((item) => item.type === 'function_call' || item.role === 'assistant')
    .lastIndexOf(true);
  const toolResults = input
    .slice(lastAssistant + 1)
    .filter((item) => item.type === 'function_call_output')
    .map((item) => contentText(item.output));
  const lastUser = [...messages].reverse().find((item) => item.role === 'user');
  return {
    wire: 'responses',
    model: text(body.model),
    stream: body.stream === true,
    lastUserText: contentText(lastUser?.content),
    allText: [text(body.instructions), ...users.map((item) => contentText(item.content))].join('\n'),
    toolResults,
    tools: array(body.tools).map((tool) => text(record(tool).name)),
    structuredOutput: record(record(body.text).format).type === 'json_schema',
    includeUsage: false,
  };
}

function normalizeChat(body: Json): NormalizedRequest {
  const messages = array(body.messages).map(record);
  const lastAssistant = messages.map((message) => message.role === 'assistant').lastIndexOf(true);
  const users = messages.filter((message) => message.role === 'user' || message.role === 'system');
  const lastUser = [...messages].reverse().find((message) => message.role === 'user');
  return {
    wire: 'chat',
    model: text(body.model),
    stream: body.stream === true,
    lastUserText: contentText(lastUser?.content),
    allText: users.map((message) => contentText(message.content)).join('\n'),
    toolResults: messages
      .slice(lastAssistant + 1)
      .filter((message) => message.role === 'tool')
      .map((message) => contentText(message.content)),
    tools: array(body.tools).map((tool) => text(record(record(tool).function).name)),
    structuredOutput: ['json_schema', 'json_object'].includes(text(record(body.response_format).type)),
    includeUsage: record(body.stream_options).include_usage === true,
  };
}

export function normalizeRequest(wire: Wire, body: unknown): NormalizedRequest {
  const json = record(body);
  return wire === 'anthropic'
    ? normalizeAnthropic(json)
    : wire === 'responses'
      ? normalizeResponses(json)
      : normalizeChat(json);
}

export function conditionHolds(condition: FakeCondition, request: NormalizedRequest): boolean {
  const checks = [
    condition.wire === undefined || condition.wire === request.wire,
    condition.lastUserIncludes === undefined || request.lastUserText.includes(condition.lastUserIncludes),
    condition.anyTextIncludes === undefined || request.allText.includes(condition.anyTextIncludes),
    condition.hasToolResult === undefined || condition.hasToolResult === request.toolResults.length > 0,
    condition.toolResultIncludes === undefined ||
      request.toolResults.some((result) => result.includes(condition.toolResultIncludes ?? '')),
    condition.toolsInclude === undefined ||
      condition.toolsInclude.every((tool) => request.tools.includes(tool)),
    condition.structuredOutput === undefined || condition.structuredOutput === request.structuredOutput,
  ];
  return checks.every(Boolean);
}

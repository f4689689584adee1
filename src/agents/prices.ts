import type { Usage } from '../log/events.ts';

/** USD per million tokens: input, output, cached input. List prices; unknown models cost 0 (say so). */
interface Price {
  readonly input: number;
  readonly output: number;
  readonly cachedInput: number;
}

const prices: readonly (readonly [RegExp, Price])[] = [
  [/claude-(opus-4|3-opus)/, { input: 15, output: 75, cachedInput: 1.5 }],
  [/claude-.*sonnet/, { input: 3, output: 15, cachedInput: 0.3 }],
  [/claude-.*haiku-4/, { input: 1, output: 5, cachedInput: 0.1 }],
  [/claude-.*haiku/, { input: 0.8, output: 4, cachedInput: 0.08 }],
  [/^gpt-5(\.\d+)?-mini/, { input: 0.25, output: 2, cachedInput: 0.025 }],
  [/^gpt-5/, { input: 1.25, output: 10, cachedInput: 0.125 }],
  [/^gpt-4\.1-mini/, { input: 0.4, output: 1.6, cachedInput: 0.1 }],
  [/^gpt-4\.1/, { input: 2, output: 8, cachedInput: 0.5 }],
  [/^gpt-4o-mini/, { input: 0.15, output: 0.6, cachedInput: 0.075 }],
  [/^gpt-4o/, { input: 2.5, output: 10, cachedInput: 1.25 }],
  [/^o[34]-mini/, { input: 1.1, output: 4.4, cachedInput: 0.275 }],
  [/^o3/, { input: 2, output: 8, cachedInput: 0.5 }],
  [/^gemini-2\.5-pro/, { input: 1.25, output: 10, cachedInput: 0.31 }],
  [/^gemini-2\.5-flash/, { input: 0.3, output: 2.5, cachedInput: 0.075 }],
];

export function priceOf(model: string): Price | undefined {
  const bare = model.includes('/') ? (model.split('/').at(-1) ?? model) : model;
  return prices.find(([pattern]) => pattern.test(bare))?.[1];
}

/** Cost of a usage at list price; cached input tokens are part of the input tokens. */
export function costOf(model: string, usage: Omit<Usage, 'costUsd'>): number {
  const price = priceOf(model);
  if (price === undefined) return 0;
  const uncached = Math.max(0, usage.inputTokens - usage.cachedInputTokens);
  return (
    (uncached * price.input +
      usage.cachedInputTokens * price.cachedInput +
      usage.outputTokens * price.output) /
    1_000_000
  );
}

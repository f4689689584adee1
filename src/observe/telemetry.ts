import { context as otelContext, trace, type Attributes, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Config } from '../config/resolve.ts';
import type { RunEvent } from '../log/events.ts';
import type { RunState } from '../log/reducer.ts';
import type { RunObserver } from './observer.ts';

type TelemetryConfig = Config['telemetry'];

/** The step an event ends, and the one it starts (spans are replayed from the log's own times). */
const stepAfter: Partial<Record<RunEvent['type'], string>> = {
  'iteration.started': 'smoke',
  'smoke.ended': 'agent',
  'agent.ended': 'verify',
  'verify.ended': 'judge',
  'judge.ended': 'record',
};

/**
 * OpenTelemetry traces of a run, when baton.yaml names an OTLP endpoint: a span for the run (each
 * segment, between a start or resume and the stop), one per iteration, one per step inside it (smoke,
 * agent, verify, judge, record), and one per task attempt in a parallel run. Built from the events, so
 * the spans carry the same times and numbers as the log.
 */
export function createTelemetry(config: TelemetryConfig): RunObserver | undefined {
  if (config.otlpEndpoint === undefined) return undefined;
  const provider = new TracerProvider({
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: config.otlpEndpoint, headers: { ...config.headers } }),
      }),
    ],
  });
  const tracer = provider.getTracer('baton', '0.1.0');
  let run: Span | undefined;
  let iteration: Span | undefined;
  let step: Span | undefined;
  const tasks = new Map<string, Span>();
  const child = (name: string, parent: Span | undefined, at: string, attributes: Attributes): Span =>
    tracer.startSpan(
      name,
      { startTime: new Date(at), attributes },
      parent === undefined ? otelContext.active() : trace.setSpan(otelContext.active(), parent),
    );
  function finish(span: Span | undefined, at: string, attributes: Attributes = {}): void {
    span?.setAttributes(attributes);
    span?.end(new Date(at));
  }

  return {
    onEvent(event: RunEvent, state: RunState): void {
      const runAttributes = { 'baton.run_id': state.runId ?? '' };
      switch (event.type) {
        case 'run.started':
        case 'run.resumed':
          run = child('baton.run', undefined, event.at, {
            ...runAttributes,
            'baton.goal': state.goal.slice(0, 500),
          });
          return;
        case 'iteration.started':
          iteration = child('baton.iteration', run, event.at, {
            ...runAttributes,
            'baton.iteration': event.iteration,
          });
          break;
        case 'iteration.ended':
        case 'iteration.interrupted':
          finish(step, event.at);
          step = undefined;
          finish(iteration, event.at, {
            'baton.features_passing': state.featuresPassing,
            'baton.outcome':
              event.type === 'iteration.ended' ? (event.summary.split(':')[0] ?? '') : 'interrupted',
          });
          iteration = undefined;
          return;
        case 'agent.ended':
          step?.setAttributes({
            'baton.agent.status': event.status,
            'baton.tokens.input': event.usage.inputTokens,
            'baton.tokens.output': event.usage.outputTokens,
            'baton.cost_usd': event.usage.costUsd,
          });
          break;
        case 'judge.ended':
          step?.setAttributes({
            'baton.verdict.done': event.verdict.done,
            'baton.verdict.reason': event.verdict.reason.slice(0, 500),
          });
          break;
        case 'task.started':
          tasks.set(
            event.task,
            child('baton.task', run, event.at, {
              ...runAttributes,
              'baton.task': event.task,
              'baton.attempt': event.attempt,
              'baton.worker': event.worker,
            }),
          );
          return;
        case 'task.worked':
          finish(tasks.get(event.task), event.at, {
            'baton.agent.status': event.status,
            'baton.tokens.input': event.usage.inputTokens,
            'baton.tokens.output': event.usage.outputTokens,
          });
          tasks.delete(event.task);
          return;
        case 'run.stopped':
          finish(step, event.at);
          step = undefined;
          finish(iteration, event.at);
          iteration = undefined;
          for (const span of tasks.values()) finish(span, event.at);
          tasks.clear();
          finish(run, event.at, {
            'baton.stop.reason': event.reason,
            'baton.features_passing': state.featuresPassing,
          });
          run = undefined;
          return;
        default:
          break;
      }
      const next = stepAfter[event.type];
      if (next !== undefined && iteration !== undefined) {
        finish(step, event.at);
        step = undefined;
        step = child(`baton.${next}`, iteration, event.at, {
          ...runAttributes,
          'baton.iteration': state.currentIteration ?? 0,
        });
      }
    },
    async close(): Promise<void> {
      await provider.forceFlush();
      await provider.shutdown();
    },
  };
}

import { z } from 'zod';
import { commandLine, duration } from '../fields.ts';

/** `telemetry:` and `notify:`: the bystanders of a run (observe/). */

export const telemetrySchema = z
  .strictObject({
    otlpEndpoint: z
      .url()
      .optional()
      .describe(
        'An OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces: spans for the run, iterations and steps.',
      ),
    serviceName: z.string().min(1).default('baton'),
    headers: z.record(z.string(), z.string()).default({}).describe('Extra HTTP headers for the exporter.'),
  })
  .prefault({})
  .describe('Optional OpenTelemetry traces (off unless otlpEndpoint is set).');

export const notifySchema = z
  .strictObject({
    on: z
      .array(z.enum(['stop', 'park', 'question']))
      .default(['stop', 'park', 'question'])
      .describe('What to tell a person about.'),
    command: commandLine
      .optional()
      .describe(
        'Run on each notification, the notification as JSON on stdin and in BATON_NOTIFY_* variables.',
      ),
    webhook: z.url().optional().describe('POST each notification as JSON (with a Slack-style "text" field).'),
    timeout: duration.prefault('10s'),
  })
  .transform(({ timeout, ...notify }) => ({ ...notify, timeoutMs: timeout }))
  .prefault({})
  .describe('Tell a person when the run stops, parks a feature or asks a question.');

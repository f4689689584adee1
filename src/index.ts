/**
 * baton's public API. The CLI is a thin shell over these functions; tests and users call them too.
 * @module
 */
export { runInit, type InitOptions, type InitResult } from './api/init.ts';
export {
  runLoop,
  resumeRun,
  type RunLoopOptions,
  type ResumeOptions,
  type RunLoopResult,
} from './api/run.ts';
export {
  pauseRun,
  stopRun,
  steerRun,
  resumeOrUnpause,
  type ControlResult,
  type ResumeOutcome,
} from './api/control.ts';
export { listCheckpoints, rollbackTo, type CheckpointInfo, type RollbackResult } from './api/checkpoints.ts';
export { explain, type Explanation } from './api/explain.ts';
export {
  buildRunReceipt,
  renderReceipt,
  report,
  writeRunReceipt,
  receiptSchemaVersion,
  type Receipt,
  type ReceiptFormat,
  type ReportResult,
  type WrittenReceipt,
} from './api/report.ts';
export { publishRun, type PublishOptions, type PublishResult } from './api/publish.ts';
export { runDemo, type DemoOptions, type DemoResult } from './api/demo.ts';
export {
  listRuns,
  readRun,
  showIteration,
  status,
  type IterationEvidence,
  type RunRecord,
  type StatusReport,
} from './api/inspect.ts';
export { loadConfig, parseConfigText, formatConfigProblems, type ConfigResult } from './config/load.ts';
export type { Config, AgentConfig, OracleConfig } from './config/resolve.ts';
export { configSchema } from './config/schema.ts';
export { BatonError, exitCodes, describeError } from './errors.ts';
export {
  type Agent,
  type AgentSessionOptions,
  type AgentSessionResult,
  claimDoneMarker,
  claimsDone,
} from './agents/agent.ts';
export { createCommandAgent, type CommandAgentOptions } from './agents/command-agent.ts';
export { createAgentFromConfig } from './agents/registry.ts';
export {
  noSandbox,
  prepareSandbox,
  type Sandbox,
  type SandboxSettings,
  type WrapRequest,
  type WrappedCommand,
} from './sandbox/sandbox.ts';
export { EventLog, readEventLog, parseLogText } from './log/event-log.ts';
export type { RunEvent, CheckResult, Verdict, StopReason, Usage } from './log/events.ts';
export {
  allIterations,
  foldEvents,
  reduceRunState,
  initialRunState,
  type RunState,
  type IterationSummary,
} from './log/reducer.ts';
export { judge, type JudgeInput } from './core/deterministic-judge.ts';
export { buildPrompt, promptLimits, type PromptInput } from './loop/prompt.ts';
export {
  parseFeatureList,
  readFeatureList,
  featureListSchema,
  type Feature,
  type FeatureList,
} from './workspace/features.ts';

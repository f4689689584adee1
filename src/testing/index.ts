/**
 * Test doubles shipped as product code: use them to test your own baton setups.
 * @module
 */
export { agentScriptSchema, type AgentScript, type AgentScriptInput, type ScriptRule } from './script.ts';
export { runScriptedSession, scriptedAgentMainPath, conditionHolds } from './scripted-agent-session.ts';
export { createScriptedAgent } from './scripted-agent.ts';
export { createFunctionAgent, type AgentFunction } from './function-agent.ts';
export { taskPlan, type TaskPlanEntry } from './task-plan.ts';
export {
  startFakeModelServer,
  fakeModelScriptSchema,
  type FakeModelServer,
  type FakeModelServerOptions,
  type FakeModelScript,
  type FakeModelScriptInput,
  type RecordedRequest,
} from './fake-model/index.ts';
export { createRecordingSandbox, type RecordingSandbox } from './recording-sandbox.ts';
export type { ContractTestApi } from './contracts/test-api.ts';
export {
  describeAgentContract,
  type AgentContractBehaviour,
  type AgentContractOptions,
  type AgentContractSetup,
} from './contracts/agent-contract.ts';
export { describeSandboxContract, type SandboxContractOptions } from './contracts/sandbox-contract.ts';
export {
  describeTransportContract,
  type TransportContractOptions,
  type TransportContractSetup,
  type TransportUnderTest,
} from './contracts/transport-contract.ts';

import type { AgentConfig } from '../config/resolve.ts';
import type { Agent } from './agent.ts';

/** The agent types baton.yaml can name (`agent.type`); their schemas are in config/schema.ts. */
export type AgentType = AgentConfig['type'];

/** The resolved baton.yaml section of one agent type. */
export type AgentConfigOf<Type extends AgentType> = AgentConfig & { readonly type: Type };

export interface AgentFactoryContext {
  /** The checkout the agent's sessions work in; paths in its config are relative to it. */
  readonly workspace: string;
}

/**
 * How one `agent.type` of baton.yaml becomes an Agent. The factory gets no sandbox: the harness hands
 * one to every session (`AgentSessionOptions.sandbox`), so an agent built once runs each session in the
 * sandbox chosen for it.
 */
export interface AgentDefinition<Type extends AgentType = AgentType> {
  readonly type: Type;
  create(config: AgentConfigOf<Type>, context: AgentFactoryContext): Agent;
}

/** An agent type, typed; list it in agents/registry.ts. */
export function defineAgent<const Type extends AgentType>(definition: {
  readonly type: Type;
  // The type names the definition; the factory's parameter must not widen it (one adapter, four types).
  create(config: AgentConfigOf<NoInfer<Type>>, context: AgentFactoryContext): Agent;
}): AgentDefinition<Type> {
  return definition;
}

import { defaultAgentTimeout } from '../config/fragments/agent.ts';
import { defaultBudgets } from '../config/fragments/budgets.ts';
import { defaultProgressEntries } from '../config/fragments/progress.ts';
import { claimDoneMarker } from './claim.ts';
import { serializeFeatureList, type FeatureList } from './features.ts';

/** The files `baton init` writes. Each is a starting point the people and agents of the project own. */
export interface TemplateInput {
  readonly goal: string;
  /** The agent section of baton.yaml, already as YAML lines (or undefined for none yet). */
  readonly agentYaml: string | undefined;
  readonly oraclesYaml: string | undefined;
  readonly smokeCommand: string;
  readonly features: FeatureList;
  /** Oracles that must pass for the run to be done. */
  readonly doneOracles: readonly string[];
}

export function specTemplate(goal: string): string {
  return `# Specification

## Goal
${goal.trim()}

## Constraints
- (Add the constraints every change must respect: languages, dependencies, performance, compatibility.)

## Non-goals
- (Add what is explicitly out of scope, so no worker drifts into it.)

## Definition of done
Every feature in FEATURES.json passes its verify command, run by the harness, and every oracle named
under \`done:\` in baton.yaml exits 0 on a clean tree.
`;
}

export function planTemplate(features: FeatureList): string {
  const items = features.features.map((feature) => `- [ ] ${feature.id}: ${feature.title}`);
  return `# Implementation plan

The ordered work queue. Workers keep it true: check items off, add what they discover, delete what no
longer applies. It is scaffolding, not scripture: regenerate it when it stops matching the repository.

${items.length > 0 ? items.join('\n') : '- [ ] Break the goal in SPEC.md into features in FEATURES.json'}
`;
}

export const progressTemplate = `# Progress

Append-only lab notebook of this workspace, written by the baton harness after every iteration.
`;

export const agentsTemplate = `# AGENTS.md: how to work in this workspace

You are one of many short-lived workers. Nobody remembers your session; only the workspace does.

## Every session
1. Orient: read SPEC.md, IMPLEMENTATION_PLAN.md, the latest entries of PROGRESS.md, FEATURES.json and
   \`git log --oneline -15\`.
2. Check the workspace is not already broken: \`./init.sh smoke\`.
3. Pick one failing feature or plan item. Keep the change small.
4. Implement it and run its verify command from FEATURES.json yourself.
5. Update IMPLEMENTATION_PLAN.md. End with a short handoff note: what you did, what you verified, what is next.
6. Stop. Another worker continues from what you leave on disk.

## Rules
- Never weaken, skip or delete a test to make it pass. Fix the behaviour.
- Never edit "status" or "evidence" in FEATURES.json: the harness sets them from its own runs.
- Leave no scratch files, logs or build output in the workspace (or add them to .gitignore).
- Claim the whole goal is met only when you believe it, by ending your note with the line
  \`${claimDoneMarker}\`. The harness verifies the claim; a false one is rejected.
`;

export function initScriptTemplate(smokeCommand: string): string {
  return `#!/usr/bin/env bash
# Boot and smoke-test this workspace. Written by \`baton init\`; edit it to fit the project.
#   ./init.sh         set up what the project needs (dependencies, services)
#   ./init.sh smoke   a fast check that the workspace is not broken; baton runs it before every iteration
set -euo pipefail
cd "$(dirname "$0")"
case "\${1:-boot}" in
  boot)
    if [ -f package.json ]; then npm install --no-audit --no-fund; fi
    ;;
  smoke)
    ${smokeCommand}
    ;;
  *)
    echo "usage: ./init.sh [boot|smoke]" >&2
    exit 2
    ;;
esac
`;
}

/** The agent section `baton init --agent "<command>"` writes: a command agent, its prompt on stdin. */
export function commandAgentYaml(command: string): string {
  return `agent:\n  type: command\n  command: ${JSON.stringify(command)}\n  prompt: stdin\n  timeout: ${defaultAgentTimeout}`;
}

export function configTemplate(input: TemplateInput): string {
  const goalLine = JSON.stringify(input.goal.trim().split('\n')[0] ?? '');
  return `# baton.yaml: the contract of this workspace. Schema: baton/schema/baton.schema.json
version: 1
goal: ${goalLine}

# The worker. Any program works (type: command); the prompt arrives on stdin by default.
${
  input.agentYaml ??
  `# agent:
#   type: command
#   command: my-agent --non-interactive
#   prompt: stdin        # or: file (path in BATON_PROMPT_FILE), argument
#   timeout: ${defaultAgentTimeout}`
}

# Commands the harness runs after every iteration, beside each feature's own verify command.
${input.oraclesYaml ?? 'oracles: []'}

# Checks run side by side, each in its own sandbox (default: one per core; 1 runs them one by one).
# verify:
#   concurrency: 2
#   exclusive: [F3]      # features whose verify command needs the machine alone (ports, a database)

# Done only when this holds on the harness's own evidence.
done:
  features: all          # every feature in FEATURES.json passes its verify command
  oracles: [${input.doneOracles.join(', ')}]${' '.repeat(Math.max(1, 12 - input.doneOracles.join(', ').length))}# names of oracles above that must exit 0
  cleanTree: true        # verification leaves no uncommitted files behind

budgets:
  iterations: ${defaultBudgets.iterations}
  wallClock: ${defaultBudgets.wallClock}
  noProgressIterations: ${defaultBudgets.noProgressIterations}   # stop after this many iterations in a row with nothing newly passing

progress:
  keepEntries: ${defaultProgressEntries}           # PROGRESS.md keeps the newest entries; older ones are folded away
`;
}

export function starterFeatures(goal: string): FeatureList {
  return {
    version: 1,
    features: [
      {
        id: 'F1',
        title: goal.trim().split('\n')[0]?.slice(0, 200) ?? 'The goal is met',
        steps: ['Split this goal into smaller features, each with its own verify command'],
        verify: './init.sh smoke && false # replace with a command that exits 0 only when this works',
        status: 'failing',
        evidence: null,
      },
    ],
  };
}

export function renderTemplates(input: TemplateInput): Record<string, string> {
  return {
    'SPEC.md': specTemplate(input.goal),
    'FEATURES.json': serializeFeatureList(input.features),
    'IMPLEMENTATION_PLAN.md': planTemplate(input.features),
    'PROGRESS.md': progressTemplate,
    'AGENTS.md': agentsTemplate,
    'init.sh': initScriptTemplate(input.smokeCommand),
    'baton.yaml': configTemplate(input),
  };
}

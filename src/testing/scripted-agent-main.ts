#!/usr/bin/env node
/**
 * The scripted agent as a real process: `node scripted-agent-main.js <script.json>`. It reads its prompt
 * from BATON_PROMPT_FILE (or stdin), works on the current directory, prints what it does (its
 * transcript), and writes its handoff note to BATON_HANDOFF_FILE and stdout.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { agentScriptSchema } from './script.ts';
import { runScriptedSession } from './scripted-agent-session.ts';

const scriptPath = process.argv[2];
if (scriptPath === undefined) {
  process.stderr.write('usage: scripted-agent-main <script.json>\n');
  process.exit(2);
}
const parsed = agentScriptSchema.safeParse(JSON.parse(readFileSync(scriptPath, 'utf8')));
if (!parsed.success) {
  process.stderr.write(`invalid agent script ${scriptPath}: ${parsed.error.message}\n`);
  process.exit(2);
}
const promptFile = process.env.BATON_PROMPT_FILE;
const prompt = promptFile === undefined ? readFileSync(0, 'utf8') : readFileSync(promptFile, 'utf8');
const iterationText = process.env.BATON_ITERATION;
const outcome = runScriptedSession({
  script: parsed.data,
  cwd: process.cwd(),
  prompt,
  iteration: iterationText === undefined ? undefined : Number(iterationText),
  log: (line) => {
    process.stdout.write(`[agent] ${line}\n`);
  },
});
if (outcome.usage !== undefined) process.stdout.write(`BATON_USAGE ${JSON.stringify(outcome.usage)}\n`);
const handoff = process.env.BATON_HANDOFF_FILE;
if (handoff !== undefined) writeFileSync(handoff, `${outcome.message}\n`);
process.stdout.write(`${outcome.message}\n`);
process.exit(outcome.exitCode);

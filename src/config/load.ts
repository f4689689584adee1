import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { BatonError, exitCodes } from '../errors.ts';
import { configSchema } from './schema.ts';
import type { Config } from './resolve.ts';
import { knownKeysAt } from './known-keys.ts';
import { configRules, type ConfigProblem } from './rules.ts';

export const configFileName = 'baton.yaml';

export type ConfigResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const saved = row[j] ?? 0;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, previous + cost);
      previous = saved;
    }
  }
  return row[b.length] ?? 0;
}

function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

function issueToProblem(issue: z.core.$ZodIssue): ConfigProblem[] {
  const field = fieldName(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const candidates = knownKeysAt(configSchema, issue.path);
    return issue.keys.map((key) => {
      const suggestion = closest(key, candidates);
      return {
        field: issue.path.length === 0 ? key : `${field}.${key}`,
        message: 'is not a known setting',
        fix:
          suggestion === undefined
            ? `remove it; known settings here: ${candidates.join(', ')}`
            : `did you mean "${suggestion}"? Rename it or remove it`,
      };
    });
  }
  if (
    issue.code === 'invalid_union' &&
    issue.path[0] === 'agent' &&
    (issue.path.length === 1 || issue.path[1] === 'type')
  ) {
    return [
      {
        field: 'agent',
        message: 'needs a type: command (any program) or scripted (a scripted test agent)',
        fix: 'add "type: command" with "command: <your agent command>", or "type: scripted" with "script: <file>"',
      },
    ];
  }
  const fixes: Record<string, string> = {
    invalid_type: `set ${field} to ${issue.message.replace(/^Invalid input: expected /, 'a ').replace(/, received .*/, '')}`,
    too_small: `raise ${field}: ${issue.message}`,
    invalid_value: `use one of the allowed values for ${field}`,
  };
  return [
    {
      field,
      message: issue.message,
      fix: fixes[issue.code] ?? `correct ${field} in baton.yaml (see schema/baton.schema.json)`,
    },
  ];
}

/** Parse and validate the text of a baton.yaml. Problems come back as data, one per field. */
export function parseConfigText(text: string): ConfigResult {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((error) => {
        const position = error.linePos?.[0];
        return {
          field: position === undefined ? '(yaml)' : `line ${position.line}, column ${position.col}`,
          message: `is not valid YAML: ${(error.message.split('\n')[0] ?? error.code).replace(/ at line \d+, column \d+:?$/, '')}`,
          fix: 'fix the YAML syntax there (indentation with spaces, a space after each colon, quotes closed)',
        };
      }),
    };
  }
  const raw: unknown = document.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      ok: false,
      problems: [
        {
          field: '(top level)',
          message: 'is not a mapping of settings',
          fix: 'start from the file `baton init` writes: version: 1, agent: ..., oracles: ...',
        },
      ],
    };
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.flatMap(issueToProblem) };
  const problems = configRules.flatMap((rule) => rule(parsed.data));
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: parsed.data };
}

export function formatConfigProblems(path: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map(
    (problem) => `  - ${problem.field}: ${problem.message}\n    fix: ${problem.fix}`,
  );
  return `${path} is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/** Read the workspace's baton.yaml, or throw a BatonError whose message lists every problem. */
export function loadConfig(workspace: string): Config {
  const path = join(workspace, configFileName);
  if (!existsSync(path)) {
    throw new BatonError(`no ${configFileName} in ${workspace}`, {
      code: 'CONFIG_MISSING',
      fix: 'run `baton init "<goal>"` there first, or pass --workspace <dir> pointing at an initialised workspace',
      exitCode: exitCodes.usage,
    });
  }
  const result = parseConfigText(readFileSync(path, 'utf8'));
  if (!result.ok) {
    throw new BatonError(formatConfigProblems(path, result.problems), {
      code: 'CONFIG_INVALID',
      fix: 'edit baton.yaml as each line says; `baton init` shows a valid example',
      exitCode: exitCodes.usage,
    });
  }
  return result.config;
}

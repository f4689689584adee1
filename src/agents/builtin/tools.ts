import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { tool } from 'ai';
import { z } from 'zod';
import type { Sandbox } from '../../sandbox/sandbox.ts';
import { describeProcessEnd, runProcess } from '../../util/run-process.ts';
import { tail } from '../../util/text.ts';

export interface ToolContext {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** The session's sandbox: every bash command runs in it. */
  readonly sandbox: Sandbox;
  /** Folders of cwd the session may write (a parallel task's scope); undefined: all of cwd. */
  readonly writableInside: readonly string[] | undefined;
  readonly signal: AbortSignal;
  readonly sessionDir: string;
}

const skipped = new Set(['.git', 'node_modules', '.baton']);
const maxRead = 100_000;

function inside(folder: string, path: string): boolean {
  const relation = relative(folder, path);
  return relation === '' || (!relation.startsWith('..') && !isAbsolute(relation));
}

/** A path the model named, inside the worktree (after symlinks), or an error it can read. */
function confine(context: ToolContext, path: string, forWriting: boolean): string {
  const full = resolve(context.cwd, path);
  const root = realpathSync(context.cwd);
  let existing = full;
  while (!existsSync(existing)) existing = dirname(existing);
  if (!inside(root, realpathSync(existing)) || !inside(context.cwd, full)) {
    throw new Error(`${path} is outside the workspace; use paths relative to it`);
  }
  if (forWriting && context.writableInside !== undefined) {
    const relation = relative(context.cwd, full);
    if (!context.writableInside.some((folder) => inside(folder, relation))) {
      throw new Error(
        `${path} is outside this task's scope (${context.writableInside.join(', ')}): only those folders may change`,
      );
    }
  }
  return full;
}

function walk(root: string, from: string, out: string[], limit: number): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (out.length >= limit) return;
    if (skipped.has(entry.name)) continue;
    const path = join(from, entry.name);
    if (entry.isDirectory()) walk(root, path, out, limit);
    else if (entry.isFile()) out.push(relative(root, path));
  }
}

/** The coding tools of the builtin agent: bash (sandboxed), read, write, edit, list, grep. */
export function codingTools(context: ToolContext) {
  return {
    bash: tool({
      description:
        'Run a shell command in the workspace (sandboxed; no network). Returns the exit status and the output.',
      inputSchema: z.object({ command: z.string().describe('The command line, run by bash -c') }),
      execute: async ({ command }) => {
        const wrapped = context.sandbox.wrap({
          command: ['/bin/bash', '-c', command],
          env: context.env,
          workspace: context.cwd,
          writable: [context.sessionDir],
          ...(context.writableInside === undefined ? {} : { writableInside: context.writableInside }),
        });
        const result = await runProcess({
          command: wrapped.command,
          cwd: context.cwd,
          env: wrapped.env,
          timeoutMs: 120_000,
          signal: context.signal,
        });
        wrapped.release();
        return `${describeProcessEnd(result)}\n${tail(result.output, 8_000)}`;
      },
    }),
    read: tool({
      description: 'Read a text file of the workspace.',
      inputSchema: z.object({ path: z.string() }),
      execute: ({ path }) => {
        const text = readFileSync(confine(context, path, false), 'utf8');
        return text.length > maxRead
          ? `${text.slice(0, maxRead)}\n… (${text.length - maxRead} more characters)`
          : text;
      },
    }),
    write: tool({
      description: 'Create or overwrite a file of the workspace with the given content.',
      inputSchema: z.object({ path: z.string(), content: z.string() }),
      execute: ({ path, content }) => {
        const full = confine(context, path, true);
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, content);
        return `wrote ${path} (${content.length} characters)`;
      },
    }),
    edit: tool({
      description: 'Replace exactly one occurrence of `find` with `replace` in a file.',
      inputSchema: z.object({ path: z.string(), find: z.string().min(1), replace: z.string() }),
      execute: ({ path, find, replace }) => {
        const full = confine(context, path, true);
        const text = readFileSync(full, 'utf8');
        const count = text.split(find).length - 1;
        if (count !== 1) {
          throw new Error(`${path} has ${count} occurrences of the text to find; make it unique`);
        }
        writeFileSync(
          full,
          text.replace(find, () => replace),
        );
        return `edited ${path}`;
      },
    }),
    list: tool({
      description:
        'List the files of the workspace (or of a folder in it), recursively, without .git and node_modules.',
      inputSchema: z.object({ path: z.string().default('.') }),
      execute: ({ path }) => {
        const folder = confine(context, path, false);
        if (!statSync(folder).isDirectory()) return `${path} is a file`;
        const files: string[] = [];
        walk(context.cwd, folder, files, 2_000);
        return files.join('\n') || '(empty)';
      },
    }),
    grep: tool({
      description: 'Search the workspace files for a regular expression; returns path:line: text.',
      inputSchema: z.object({ pattern: z.string(), path: z.string().default('.') }),
      execute: ({ pattern, path }) => {
        const expression = new RegExp(pattern);
        const files: string[] = [];
        walk(context.cwd, confine(context, path, false), files, 5_000);
        const hits: string[] = [];
        for (const file of files) {
          const lines = readFileSync(join(context.cwd, file), 'utf8').split('\n');
          lines.forEach((line, index) => {
            if (hits.length < 200 && expression.test(line)) {
              hits.push(`${file}:${index + 1}: ${line.slice(0, 300)}`);
            }
          });
        }
        return hits.join('\n') || 'no match';
      },
    }),
  };
}

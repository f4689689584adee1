import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { publishSchema, remoteNamePattern, type PublishConfig } from '../config/fragments/publish.ts';
import { BatonError, exitCodes } from '../errors.ts';
import { runGit } from '../git/git.ts';
import { describeProcessEnd, processSucceeded, runProcess } from '../util/run-process.ts';
import { readInside } from '../util/safe-io.ts';
import { sanitizeText, tail } from '../util/text.ts';
import { stateFiles } from '../workspace/paths.ts';
import { readRun } from './inspect.ts';
import { writeRunReceipt } from './report.ts';
import { runBranchOf } from './run-branch.ts';

export interface PublishOptions {
  readonly runId?: string;
  /** The remote to push to (default: publish.remote in baton.yaml, else origin). */
  readonly remote?: string;
  /** The environment of publish.command (default: this process's: it is the person's own command). */
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  readonly commandTimeoutMs?: number;
}

export interface PublishResult {
  readonly runId: string;
  readonly branch: string;
  readonly remote: string;
  /** The commit the remote branch now points at. */
  readonly commit: string;
  /** The markdown receipt handed to the command. */
  readonly reportPath: string;
  /** publish.command as run ({report} and {branch} replaced), and how it ended; null: none configured. */
  readonly command: {
    readonly line: string;
    readonly succeeded: boolean;
    readonly ended: string;
    /** The last part of what it printed (sanitised). */
    readonly output: string;
  } | null;
  /** Things the person should know (a publish section the working copy has but the run did not start with). */
  readonly notes: readonly string[];
}

const maxConfigBytes = 1024 * 1024;
const defaultCommandTimeoutMs = 10 * 60 * 1000;

/** The `publish:` section of a baton.yaml text (invalid or absent: the defaults, and why). */
function publishSectionOf(text: string | null): { config: PublishConfig; problem: string | null } {
  const empty = publishSchema.parse({});
  if (text === null) return { config: empty, problem: null };
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    return {
      config: empty,
      problem: `baton.yaml is not valid YAML: ${(error as Error).message.split('\n')[0] ?? ''}`,
    };
  }
  const section = typeof raw === 'object' && raw !== null && 'publish' in raw ? raw.publish : undefined;
  const parsed = publishSchema.safeParse(section);
  return parsed.success
    ? { config: parsed.data, problem: null }
    : {
        config: empty,
        problem: `publish in baton.yaml: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`,
      };
}

async function committedConfigText(workspace: string, commit: string): Promise<string | null> {
  const result = await runGit(workspace, ['cat-file', 'blob', `${commit}:${stateFiles.config}`], {
    allowFailure: true,
    maxOutputBytes: maxConfigBytes,
  });
  return result.exitCode === 0 ? result.stdout : null;
}

/**
 * publish.command is a program run outside the sandbox with the person's environment, and baton.yaml is
 * worker-writable during a run (the tampering guard restores it, but a guard is not a boundary). So the
 * section is read from baton.yaml as committed at the run's start commit (recorded in the log), which
 * the person wrote and no worker of this run could touch; the working copy is only compared with it.
 */
async function publishConfigOf(
  workspace: string,
  startCommit: string,
): Promise<{ config: PublishConfig; notes: string[] }> {
  const committed = publishSectionOf(await committedConfigText(workspace, startCommit));
  if (committed.problem !== null) {
    throw new BatonError(
      `the run's baton.yaml (at ${startCommit.slice(0, 12)}) cannot be used: ${committed.problem}`,
      {
        code: 'CONFIG_INVALID',
        fix: 'correct the publish section in baton.yaml, commit it, and publish a run started after that',
        exitCode: exitCodes.usage,
      },
    );
  }
  const notes: string[] = [];
  let working: string | null;
  try {
    working = readInside(workspace, stateFiles.config, { maxBytes: maxConfigBytes })?.text ?? null;
  } catch {
    working = null; // a link or a folder where baton.yaml was: nothing to compare
  }
  const current = publishSectionOf(working).config;
  if (JSON.stringify(current) !== JSON.stringify(committed.config)) {
    notes.push(
      `the publish section of baton.yaml in the working copy differs from the one the run started with (${startCommit.slice(0, 12)}); the run's is used, since the worker could write the working copy. Commit a change there before a run for it to count.`,
    );
  }
  return { config: committed.config, notes };
}

/** A value for a shell line: as it is when it is plainly safe, else single-quoted. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export function publishCommandLine(template: string, reportPath: string, branch: string): string {
  return template.replaceAll('{report}', shellQuote(reportPath)).replaceAll('{branch}', shellQuote(branch));
}

async function checkRemote(workspace: string, remote: string): Promise<void> {
  const remotes = (await runGit(workspace, ['remote'])).stdout
    .split('\n')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (remoteNamePattern.test(remote) && remotes.includes(remote)) return;
  throw new BatonError(
    remotes.length === 0
      ? `this repository has no git remote, so there is nowhere to push the run's branch (asked for ${JSON.stringify(remote)})`
      : `there is no git remote ${JSON.stringify(remote)} in this repository`,
    {
      code: 'NO_REMOTE',
      fix:
        remotes.length === 0
          ? 'add one with `git remote add origin <url>`, then run `baton publish` again; nothing was pushed'
          : `pass --remote with one of ${remotes.join(', ')} (or set publish.remote in baton.yaml), or add it with \`git remote add ${remoteNamePattern.test(remote) ? remote : 'origin'} <url>\`; nothing was pushed`,
      exitCode: exitCodes.usage,
    },
  );
}

/**
 * `baton publish`: push the run's branch to the remote (the person's config; hooks stay off, as for
 * every git of the harness), then write the markdown receipt and run publish.command with it.
 */
export async function publishRun(workspace: string, options: PublishOptions = {}): Promise<PublishResult> {
  const dir = resolve(workspace);
  const record = readRun(dir, options.runId);
  const { state } = record;
  if (state.startCommit === null) {
    throw new BatonError(`run ${record.runId} never recorded its start, so it has no branch to publish`, {
      code: 'NOTHING_TO_PUBLISH',
      fix: 'resume it with `baton resume`, or publish another run with --run <id>',
      exitCode: exitCodes.usage,
    });
  }
  const branch = await runBranchOf(state, dir);
  if (branch === null) {
    throw new BatonError("HEAD is detached, so the run's branch is not known", {
      code: 'DETACHED_HEAD',
      fix: 'check out the branch the run worked on (`git switch <branch>`), then run `baton publish` again; nothing was pushed',
      exitCode: exitCodes.usage,
    });
  }
  const { config, notes } = await publishConfigOf(dir, state.startCommit);
  const remote = options.remote ?? config.remote ?? 'origin';
  await checkRemote(dir, remote);
  const ref = `refs/heads/${branch}`;
  const commit = (await runGit(dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).stdout.trim();
  await runGit(dir, ['push', '--quiet', '--no-verify', remote, `${ref}:${ref}`], {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const written = await writeRunReceipt(dir, record.runId);
  const pushed = { runId: record.runId, branch, remote, commit, reportPath: written.markdownPath, notes };
  if (config.command === undefined) return { ...pushed, command: null };
  const line = publishCommandLine(config.command, written.markdownPath, branch);
  const result = await runProcess({
    command: ['/bin/sh', '-c', line],
    cwd: dir,
    env: {
      ...(options.env ?? process.env),
      BATON_RUN_ID: record.runId,
      BATON_REPORT: written.markdownPath,
      BATON_BRANCH: branch,
      BATON_REMOTE: remote,
    },
    timeoutMs: options.commandTimeoutMs ?? defaultCommandTimeoutMs,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    keepOutputChars: 16 * 1024,
  });
  return {
    ...pushed,
    command: {
      line,
      succeeded: processSucceeded(result),
      ended: describeProcessEnd(result),
      output: tail(sanitizeText(result.output), 4000),
    },
  };
}

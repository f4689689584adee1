import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { agentFacts, type AgentFacts } from '../agents/agent-facts.ts';
import { findOnHost } from '../agents/agent-missing.ts';
import { projectEnv } from '../checks/project-path.ts';
import { matchRule, parseAllowList } from '../config/allow-rules.ts';
import { loadConfig } from '../config/load.ts';
import type { AgentConfig, Config } from '../config/resolve.ts';
import { BatonError, describeError } from '../errors.ts';
import { personIdentity } from '../git/person-identity.ts';
import { runGit } from '../git/run-git.ts';
import { providerHost } from '../sandbox/model-reach.ts';
import { createSandbox, type Sandbox } from '../sandbox/sandbox.ts';
import { runProcess } from '../util/run-process.ts';

/** One line of `baton doctor`: a fact about this machine and workspace, and the fix when it blocks. */
export interface DoctorCheck {
  readonly name: string;
  /** fail: a run cannot work; warn: it can, with a cost said here; skip: not checked (why in detail). */
  readonly status: 'ok' | 'warn' | 'fail' | 'skip';
  readonly detail: string;
  readonly fix?: string;
}

export interface DoctorReport {
  readonly workspace: string;
  readonly checks: readonly DoctorCheck[];
  /** Whether something blocks `baton run`: any check that failed. */
  readonly blocking: boolean;
}

export interface DoctorOptions {
  readonly workspace: string;
  /** The harness's environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Check this Redis too (distributed mode). */
  readonly redisUrl?: string;
}

const ok = (name: string, detail: string): DoctorCheck => ({ name, status: 'ok', detail });
const warn = (name: string, detail: string, fix?: string): DoctorCheck => ({
  name,
  status: 'warn',
  detail,
  ...(fix === undefined ? {} : { fix }),
});
const fail = (name: string, detail: string, fix: string): DoctorCheck => ({
  name,
  status: 'fail',
  detail,
  fix,
});
const skip = (name: string, detail: string): DoctorCheck => ({ name, status: 'skip', detail });

function fromError(name: string, error: unknown, fallbackFix: string): DoctorCheck {
  return fail(
    name,
    describeError(error),
    BatonError.isInstance(error) ? (error.fix ?? fallbackFix) : fallbackFix,
  );
}

async function gitCheck(workspace: string): Promise<DoctorCheck> {
  let version: string;
  try {
    version = execFileSync('git', ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return fail('git', 'git is not on PATH', 'install git (e.g. apt-get install git)');
  }
  const inside = await runGit(workspace, ['rev-parse', '--is-inside-work-tree'], true).catch(() => undefined);
  if (inside?.stdout.trim() !== 'true') {
    return fail(
      'git',
      `${version}; ${workspace} is not a git repository`,
      'run `baton init "<goal>" --git-init` there (or `git init` and commit), or pass -C <workspace>',
    );
  }
  return ok('git', `${version}; a repository`);
}

function configCheck(workspace: string): { check: DoctorCheck; config?: Config } {
  try {
    const config = loadConfig(workspace);
    return { check: ok('baton.yaml', 'valid'), config };
  } catch (error) {
    return { check: fromError('baton.yaml', error, 'edit baton.yaml as the message says') };
  }
}

function agentCheck(agent: AgentConfig | undefined): DoctorCheck {
  if (agent === undefined) {
    return fail(
      'agent',
      'baton.yaml names no agent',
      'set agent: in baton.yaml (e.g. `baton init "<goal>" --agent "<command>"` writes one), then run again',
    );
  }
  return ok('agent', agent.type === 'command' ? 'a command agent' : agent.type);
}

function sandboxCheck(workspace: string, config: Config): { check: DoctorCheck; sandbox?: Sandbox } {
  try {
    const { sandbox, warning } = createSandbox(workspace, config.sandbox);
    const name = 'sandbox';
    if (warning !== undefined) return { check: warn(name, `${sandbox.backend}: ${warning}`), sandbox };
    return { check: ok(name, `${sandbox.backend}, network ${config.sandbox.network}`), sandbox };
  } catch (error) {
    return { check: fromError('sandbox', error, 'install bubblewrap, or set sandbox.backend in baton.yaml') };
  }
}

/** The agent's program as a session would start it: visible, readable, and (an agent CLI) its version. */
async function programChecks(
  workspace: string,
  facts: AgentFacts,
  sandbox: Sandbox,
  env: NodeJS.ProcessEnv,
): Promise<DoctorCheck[]> {
  const program = facts.program;
  if (facts.unresolved !== undefined) return [skip('agent program', facts.unresolved)];
  if (program === undefined) return [skip('agent program', 'the harness runs this agent itself')];
  const onHost = findOnHost(program, env.PATH, workspace);
  if (onHost === undefined) {
    return [
      fail(
        'agent program',
        `${program} is not on PATH`,
        'install the agent program, or correct agent.command (agent.binary for an agent CLI) in baton.yaml',
      ),
    ];
  }
  if (isInside(onHost, workspace)) {
    return [ok('agent program', `${onHost}, in the workspace (which sessions see)`)];
  }
  // The probes run in a scratch folder standing in for the workspace: as root, a wrap gives its tree to
  // the sandbox's group, and a diagnostic must not change the person's checkout.
  const scratch = mkdtempSync(join(tmpdir(), 'baton-doctor-'));
  mkdirSync(join(scratch, 'work'));
  mkdirSync(join(scratch, 'session'));
  try {
    const inside = await runInside(sandbox, scratch, env, ['/bin/sh', '-c', 'command -v -- "$0"', onHost]);
    if (inside.error !== undefined) return [fromError('agent program', inside.error, 'see the message')];
    if (inside.exitCode !== 0 && inside.output.trim() !== '') {
      // `command -v` prints nothing when it finds nothing: this is the sandbox itself failing to start.
      return [
        fail(
          'agent program',
          `the sandbox could not start to look for ${onHost}: ${inside.output.trim().split('\n')[0] ?? ''}`,
          'run baton doctor again; if it persists, the sandbox line above and docs/sandbox.md say what bwrap needs',
        ),
      ];
    }
    if (inside.exitCode !== 0) {
      return [
        fail(
          'agent program',
          `${onHost} is on the host but not inside the ${sandbox.backend} sandbox`,
          `add its folder to sandbox.readOnly in baton.yaml (readOnly: [${JSON.stringify(dirname(onHost))}]), or install it outside the home and temp folders`,
        ),
      ];
    }
    const checks = [ok('agent program', `${onHost}, visible inside the sandbox`)];
    if (facts.versionArgs === undefined) return checks;
    const version = await runInside(sandbox, scratch, env, [onHost, ...facts.versionArgs]);
    const line = version.output.trim().split('\n')[0] ?? '';
    checks.push(
      version.exitCode === 0 && line !== ''
        ? ok('agent version', line)
        : warn(
            'agent version',
            `${onHost} ${facts.versionArgs.join(' ')} inside the sandbox: ${version.error === undefined ? `exit ${String(version.exitCode)}: ${line}` : describeError(version.error)}`,
            'run it by hand to see why; a CLI that cannot start in the sandbox fails every session',
          ),
    );
    return checks;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * A session's wrap (a writable scratch folder, so the agent's own paths are checked as for a session), in
 * `scratch/work` instead of the workspace.
 */
async function runInside(
  sandbox: Sandbox,
  scratch: string,
  env: NodeJS.ProcessEnv,
  command: readonly string[],
): Promise<{ exitCode: number | null; output: string; error?: unknown }> {
  const workspace = join(scratch, 'work');
  let wrapped: ReturnType<Sandbox['wrap']>;
  try {
    wrapped = sandbox.wrap({ command, env, workspace, writable: [join(scratch, 'session')] });
  } catch (error) {
    return { exitCode: null, output: '', error };
  }
  try {
    const result = await runProcess({
      command: wrapped.command,
      cwd: workspace,
      env: wrapped.env,
      timeoutMs: 60_000,
    });
    return { exitCode: result.exitCode, output: result.output };
  } finally {
    wrapped.release();
  }
}

function credentialCheck(facts: AgentFacts, env: NodeJS.ProcessEnv): DoctorCheck {
  const credential = facts.credential;
  if (credential === undefined) return skip('credentials', 'a command agent brings its own: not checked');
  const value = env[credential.env];
  if (value !== undefined && value !== '') {
    return ok('credentials', `${credential.env} is set (passed to the agent alone, never to checks)`);
  }
  if (credential.optional) {
    return ok('credentials', `${credential.env} is not set (a local server may need none)`);
  }
  const subscription =
    env.CLAUDE_CODE_OAUTH_TOKEN === undefined
      ? ''
      : '; CLAUDE_CODE_OAUTH_TOKEN is set, but a subscription sign-in is not supported yet (issue 16)';
  return fail(
    'credentials',
    `${credential.env} is not set${subscription}`,
    `export ${credential.env}=<your key> before \`baton run\` (or name another variable in agent.apiKeyEnv)`,
  );
}

/** Whether the sandbox lets the agent reach its model: by the network rule, then by a connect. */
async function networkChecks(config: Config, facts: AgentFacts, sandbox: Sandbox): Promise<DoctorCheck[]> {
  const agent = config.agent;
  if (agent === undefined) return [];
  const inHarness = facts.program === undefined;
  const endpoint = facts.baseUrl === undefined ? undefined : new URL(facts.baseUrl);
  const host = endpoint?.hostname ?? providerHost(agent.type);
  if (host === undefined) return [skip('network', 'a command agent: what it reaches is its own')];
  const checks: DoctorCheck[] = [];
  if (inHarness || sandbox.network === 'host') {
    checks.push(ok('network', 'the agent calls its model from the harness'));
  } else if (config.sandbox.network === 'none') {
    checks.push(
      fail(
        'network',
        `workers have no network (sandbox.network: none): ${agent.type} cannot reach ${host}`,
        `set sandbox.network: allowlist with sandbox.allow: [${endpoint === undefined ? host : endpoint.host}]`,
      ),
    );
  } else {
    const port = endpointPort(endpoint);
    const matched = matchRule(parseAllowList(config.sandbox.allow).rules, host, port);
    if ('refused' in matched) {
      checks.push(
        fail(
          'network',
          matched.refused === 'port'
            ? `sandbox.allow names ${host}, but not its port ${String(port)}: the proxy will refuse the agent's requests`
            : `sandbox.allow does not name ${host}: the proxy will refuse the agent's requests`,
          `add ${host}:${String(port)} to sandbox.allow in baton.yaml`,
        ),
      );
    } else {
      checks.push(
        ok('network', `${host}:${String(port)} is allowed through the proxy (${matched.rule.text})`),
      );
    }
  }
  if (endpoint === undefined) {
    checks.push(skip('model endpoint', `no baseUrl: ${host} is not probed from here`));
  } else {
    const reached = await connects(endpoint.hostname, endpointPort(endpoint));
    checks.push(
      reached === true
        ? ok('model endpoint', `${endpoint.host} accepts connections`)
        : fail(
            'model endpoint',
            `${endpoint.host} does not accept connections (${reached})`,
            'start the model server, or correct agent.baseUrl in baton.yaml',
          ),
    );
  }
  return checks;
}

/** The port a request to `endpoint` goes to (443 for the provider's own host, named by no URL). */
function endpointPort(endpoint: URL | undefined): number {
  if (endpoint === undefined) return 443;
  if (endpoint.port !== '') return Number(endpoint.port);
  return endpoint.protocol === 'https:' ? 443 : 80;
}

function connects(host: string, port: number): Promise<true | string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('no answer in 3 s');
    });
    socket.once('error', (error) => {
      resolve(error.message);
    });
  });
}

async function identityCheck(workspace: string, env: NodeJS.ProcessEnv): Promise<DoctorCheck> {
  const identity = await personIdentity(workspace, env);
  return identity === null
    ? warn(
        'git identity',
        "no user.name/user.email: a person's changes are committed under baton's own identity",
        'git config --global user.name "<name>" && git config --global user.email "<email>"',
      )
    : ok('git identity', `${identity.name} <${identity.email}>`);
}

function nodeCheck(env: NodeJS.ProcessEnv): DoctorCheck {
  const path = projectEnv(env).PATH ?? '';
  const node = findOnHost('node', path);
  if (node === undefined) {
    return skip('node', "no node on the checks' PATH (a project without Node needs none)");
  }
  try {
    const version = execFileSync(node, ['--version'], {
      encoding: 'utf8',
      timeout: 10_000,
      env: { PATH: path },
    });
    return ok('node', `checks run ${node} (${version.trim()})`);
  } catch (error) {
    return warn('node', `${node} --version failed: ${describeError(error)}`);
  }
}

function isInside(path: string, folder: string): boolean {
  const relation = relative(folder, path);
  return relation !== '' && !relation.startsWith('..') && !isAbsolute(relation);
}

/** A Redis URL as it may be shown: its password replaced. */
function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(a Redis URL that does not parse)';
  }
}

async function redisCheck(url: string): Promise<DoctorCheck> {
  const { checkRedis } = await import('../distributed/redis.ts');
  const shown = shownUrl(url);
  try {
    await checkRedis(url);
    return ok('redis', `${shown} answers`);
  } catch (error) {
    const check = fromError('redis', error, 'start redis-server, or pass the right --redis URL');
    return { ...check, detail: check.detail.replaceAll(url, shown) };
  }
}

/**
 * What `baton doctor` says: each thing a run needs, checked the way a run would use it (the agent's
 * program inside the sandbox the run would make), one line each, with the fix for what blocks.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const { workspace } = options;
  const checks: DoctorCheck[] = [await gitCheck(workspace)];
  const { check, config } = configCheck(workspace);
  checks.push(check);
  if (config !== undefined) {
    checks.push(agentCheck(config.agent));
    const made = sandboxCheck(workspace, config);
    checks.push(made.check);
    if (config.agent !== undefined && made.sandbox !== undefined) {
      const facts = agentFacts(config.agent);
      try {
        checks.push(...(await programChecks(workspace, facts, made.sandbox, env)));
        checks.push(credentialCheck(facts, env));
        checks.push(...(await networkChecks(config, facts, made.sandbox)));
      } finally {
        await made.sandbox.close();
      }
    }
  }
  checks.push(await identityCheck(workspace, env));
  checks.push(nodeCheck(env));
  if (options.redisUrl !== undefined) checks.push(await redisCheck(options.redisUrl));
  return { workspace, checks, blocking: checks.some((entry) => entry.status === 'fail') };
}

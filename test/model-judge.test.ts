import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runLoop } from '../src/api/run.ts';
import { createFunctionAgent } from '../src/testing/function-agent.ts';
import { startFakeModelServer } from '../src/testing/fake-model/index.ts';
import type { FakeModelScriptInput } from '../src/testing/fake-model/script.ts';
import { checkOutRunBranch, feature, git, makeWorkspace } from './helpers.ts';

/** A worker that writes done.txt in its first session and touches up README.md in the next ones. */
const worker = createFunctionAgent(({ cwd }) => {
  writeFileSync(join(cwd, 'done.txt'), 'ok\n');
  appendFileSync(join(cwd, 'README.md'), 'Updated.\n');
  return 'Created done.txt and updated the README.\nCLAIM: DONE';
});

async function judged(
  rules: FakeModelScriptInput['rules'],
  provider: 'anthropic' | 'openai-compatible',
  featureVerify = 'test -f done.txt',
  close = false,
) {
  const server = await startFakeModelServer({ script: { rules } });
  onTestFinished(() => server.close());
  const workspace = await makeWorkspace({
    features: [feature('F1', featureVerify)],
    budgets: { iterations: 3 },
  });
  const baseUrl = provider === 'anthropic' ? server.url : server.openaiBaseUrl;
  appendFileSync(
    join(workspace, 'baton.yaml'),
    `judge:\n  model:\n    provider: ${provider}\n    model: ${provider === 'anthropic' ? 'claude-haiku-4-5' : 'qwen2.5'}\n    baseUrl: ${baseUrl}\n  condition: F1 passes and the README says what changed.\n`,
  );
  git(workspace, 'commit', '-qam', 'a model judge');
  if (close) await server.close();
  const result = await runLoop({
    workspace,
    agent: worker,
    env: { ...process.env, ANTHROPIC_API_KEY: 'sk-ant-fake', OPENAI_API_KEY: 'sk-fake' },
  });
  return { workspace, result, server };
}

const opinion = (
  met: boolean,
  reason: string,
  next: string,
  maxUses?: number,
): FakeModelScriptInput['rules'][number] => ({
  name: met ? 'met' : 'not met',
  when: { structuredOutput: true, anyTextIncludes: 'F1 passes and the README says what changed.' },
  reply: { text: JSON.stringify({ met, reason, next }) },
  ...(maxUses === undefined ? {} : { maxUses }),
});

describe('the model judge', () => {
  it.each(['openai-compatible', 'anthropic'] as const)(
    'vetoes done with a reason that reaches the next prompt, then agrees (%s)',
    async (provider) => {
      const { workspace, result, server } = await judged(
        [
          opinion(false, 'The README does not say what changed yet.', 'Describe the change in README.md.', 1),
          opinion(true, 'F1 passes and the README describes it.', ''),
        ],
        provider,
      );
      expect(result.stop.reason).toBe('done');
      expect(result.state.iterationsCompleted).toBe(2);
      const first = result.state.iterations[0]?.verdict;
      expect(first?.done).toBe(false);
      expect(first?.reason).toContain('the model judge disagrees');
      expect(first?.model).toMatchObject({ met: false });
      const prompt = readFileSync(
        join(workspace, '.baton', 'runs', result.runId, 'iterations', '00002', 'prompt.md'),
        'utf8',
      );
      expect(prompt).toContain('Model judge: not met: The README does not say what changed yet.');
      expect(prompt).toContain('Next: Describe the change in README.md.');
      // The judge saw the harness's evidence: the checks, the features, the diff stat, the handoff note.
      const asked = server.requests[0]?.request.allText ?? '';
      expect(asked).toContain('feature F1: PASS');
      expect(asked).toContain('done.txt');
      expect(asked).toContain('Created done.txt and updated the README.');
      expect(server.requests.every((request) => request.request.structuredOutput)).toBe(true);
    },
  );

  it('never overrides a failing oracle or feature', async () => {
    const { result, server } = await judged(
      [opinion(true, 'Looks complete to me.', '')],
      'openai-compatible',
      'test -f never.txt',
    );
    expect(result.stop.reason).not.toBe('done');
    expect(result.state.iterations.every((entry) => entry.verdict?.done === false)).toBe(true);
    expect(server.requests.length).toBeGreaterThan(0);
  });

  it('an unreachable model judge does not confirm done, and says why', async () => {
    const { result } = await judged(
      [opinion(true, 'fine', '')],
      'openai-compatible',
      'test -f done.txt',
      true,
    );
    expect(result.stop.reason).toBe('budget-iterations');
    expect(result.state.lastVerdict?.reason).toContain('The model judge could not be asked');
  });
});

describe('the model judge on proposals', () => {
  /**
   * A library whose slug joins words with '-', tested by F1; SPEC.md asks for '_'. The worker changes the
   * code and the test together (an intentional behaviour change: a proposal), then implements F2.
   */
  async function behaviourChange(accept: boolean) {
    const server = await startFakeModelServer({
      script: {
        rules: [
          {
            name: 'proposal',
            when: { structuredOutput: true, anyTextIncludes: 'You review proposal P1' },
            reply: {
              text: JSON.stringify({
                accept,
                reason: accept ? 'SPEC.md asks for underscores.' : 'SPEC.md does not ask for this.',
              }),
            },
          },
          {
            name: 'verdict',
            when: {
              structuredOutput: true,
              anyTextIncludes: 'You are the judge of a long-running coding run',
            },
            reply: { text: JSON.stringify({ met: true, reason: 'The checks pass.', next: '' }) },
          },
        ],
      },
    });
    onTestFinished(() => server.close());
    const workspace = await makeWorkspace({
      files: {
        'README.md': '# slug\n',
        'slug.sh': 'echo "$1-$2"\n',
        'test/slug.test.sh': '[ "$(sh slug.sh a b)" = "a-b" ]\n',
      },
      features: [feature('F1', 'sh test/slug.test.sh'), feature('F2', 'test -f usage.txt')],
      budgets: { iterations: 3, noProgressIterations: 0 },
    });
    writeFileSync(join(workspace, 'SPEC.md'), '# slug\n\nslug joins its words with an underscore: a_b.\n');
    appendFileSync(
      join(workspace, 'baton.yaml'),
      `judge:\n  model:\n    provider: openai-compatible\n    model: qwen2.5\n    baseUrl: ${server.openaiBaseUrl}\n`,
    );
    git(workspace, 'commit', '-qam', 'the spec asks for underscores; a model judge');
    const worker = createFunctionAgent(({ cwd, env }) => {
      if (env.BATON_ITERATION === '1') {
        writeFileSync(join(cwd, 'slug.sh'), 'echo "$1_$2"\n');
        writeFileSync(join(cwd, 'test/slug.test.sh'), '[ "$(sh slug.sh a b)" = "a_b" ]\n');
        return 'slug joins with underscores, as SPEC.md says';
      }
      writeFileSync(join(cwd, 'usage.txt'), 'sh slug.sh a b\n');
      return 'wrote usage.txt';
    });
    const result = await runLoop({
      workspace,
      agent: worker,
      env: { ...process.env, OPENAI_API_KEY: 'sk-fake' },
    });
    const asked = server.requests.find((request) =>
      request.request.allText.includes('You review proposal P1'),
    );
    return { workspace, result, asked: asked?.request.allText ?? '' };
  }

  it('sees the change, the failing accepted test and SPEC.md, and its acceptance puts the change on the branch', async () => {
    const { workspace, result, asked } = await behaviourChange(true);
    expect(asked).toContain('echo "$1_$2"');
    expect(asked).toContain('feature F1');
    expect(asked).toContain('slug joins its words with an underscore');
    const [proposal] = result.state.proposals;
    expect(proposal).toMatchObject({
      id: 'P1',
      kind: 'behaviour',
      status: 'accepted',
      decision: { by: 'the model judge (qwen2.5)', reason: 'SPEC.md asks for underscores.' },
    });
    expect(proposal?.appliedAs).toMatch(/^[0-9a-f]{40}$/);
    expect(result.stop.reason).toBe('done');
    checkOutRunBranch(workspace, result.state);
    expect(readFileSync(join(workspace, 'slug.sh'), 'utf8')).toBe('echo "$1_$2"\n');
    expect(readFileSync(join(workspace, 'test/slug.test.sh'), 'utf8')).toContain('a_b');
  });

  it('leaves a proposal it does not accept open for a person', async () => {
    const { workspace, result } = await behaviourChange(false);
    expect(result.state.proposals.map((proposal) => [proposal.id, proposal.status])).toEqual([
      ['P1', 'open'],
    ]);
    expect(result.state.iterations[0]?.verdict?.reason).toContain(
      'the model judge did not accept it: SPEC.md does not ask for this.',
    );
    checkOutRunBranch(workspace, result.state);
    expect(readFileSync(join(workspace, 'slug.sh'), 'utf8')).toBe('echo "$1-$2"\n');
  });
});

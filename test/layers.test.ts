import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import layers from '../scripts/eslint-layers.js';

const root = join(import.meta.dirname, '..');

/** The layer rule (scripts/eslint-layers.js) on a made-up module at `file`. */
async function lintAs(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { layers },
        rules: { 'layers/one-way': 'error' },
      },
    ],
  });
  const [result] = await eslint.lintText(code, { filePath: join(import.meta.dirname, '..', file) });
  return (result?.messages ?? [])
    .filter((message) => message.ruleId === 'layers/one-way')
    .map((message) => message.message);
}

describe('one-way layers', () => {
  it('refuses a lower layer importing a higher one, and a shell bypassing api/', async () => {
    expect(
      await lintAs('src/util/probe.ts', "export { runAgentSession } from '../core/session.ts';\n"),
    ).toEqual([expect.stringContaining('util/ may not import core/')]);
    expect(
      await lintAs('src/loop/probe.ts', "export { scriptedAgentMain } from '../testing/index.ts';\n"),
    ).toEqual([expect.stringContaining('loop/ may not import testing/')]);
    expect(
      await lintAs('src/cli/probe.ts', "export { createCommandAgent } from '../agents/command-agent.ts';\n"),
    ).toEqual([expect.stringContaining('cli/ may not import agents/')]);
  });

  it('is on for every source file in the lint `npm test` runs', async () => {
    const config = (await new ESLint({ cwd: root }).calculateConfigForFile(
      join(root, 'src/core/session.ts'),
    )) as { rules: Record<string, unknown> };
    expect(config.rules['layers/one-way']).toEqual([2]);
  });

  it('lets a layer import what lies below it', async () => {
    expect(await lintAs('src/core/probe.ts', "export { runGit } from '../git/git.ts';\n")).toEqual([]);
    expect(await lintAs('src/cli/probe.ts', "export { runLoop } from '../api/run.ts';\n")).toEqual([]);
  });
});

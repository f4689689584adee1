import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLoop } from '../src/api/run.ts';
import { decideProjectPath } from '../src/checks/project-path.ts';
import { feature, makeWorkspace } from './helpers.ts';

const baton = '/opt/baton/node_modules/node/bin/node';
const probe = (nodes: Record<string, string>) => ({
  nodeIn: (dir: string) => nodes[dir],
  realDir: (dir: string) => dir,
});

describe("the PATH of a project's checks", () => {
  it("puts the user's node in front when baton's is first, and keeps every other folder", () => {
    const decision = decideProjectPath(
      ['/project/node_modules/.bin', '/usr/local/bin', '/usr/bin'].join(delimiter),
      new Set([baton]),
      probe({ '/project/node_modules/.bin': baton, '/usr/bin': '/usr/bin/node' }),
    );
    expect(decision).toEqual({
      kind: 'shim',
      userNode: '/usr/bin/node',
      path: ['/project/node_modules/.bin', '/usr/local/bin', '/usr/bin'].join(delimiter),
    });
  });

  it("leaves PATH alone when the user's node comes first, or when baton's is the only one", () => {
    expect(
      decideProjectPath(
        ['/usr/bin', '/project/node_modules/.bin'].join(delimiter),
        new Set([baton]),
        probe({ '/project/node_modules/.bin': baton, '/usr/bin': '/usr/bin/node' }),
      ),
    ).toEqual({ kind: 'unchanged' });
    expect(
      decideProjectPath(
        '/project/node_modules/.bin',
        new Set([baton]),
        probe({ '/project/node_modules/.bin': baton }),
      ),
    ).toEqual({ kind: 'unchanged' });
  });

  it("runs a check on the node first on the person's PATH after baton's own, in the default sandbox", async () => {
    // node_modules/.bin as npx leaves it: baton's Node first, beside a project tool. The person's own
    // node is a script that says who it is.
    const workspace = await makeWorkspace({
      features: [feature('F1', '[ "$(node --version)" = "person node" ] && project-tool')],
      budgets: { iterations: 1, noProgressIterations: 0 },
    });
    const bins = join(workspace, '..', 'bins');
    const npmBin = join(bins, 'node_modules', '.bin');
    const personBin = join(bins, 'person', 'bin');
    mkdirSync(npmBin, { recursive: true });
    mkdirSync(personBin, { recursive: true });
    symlinkSync(process.execPath, join(npmBin, 'node'));
    writeFileSync(join(npmBin, 'project-tool'), '#!/bin/sh\nexit 0\n');
    writeFileSync(join(personBin, 'node'), '#!/bin/sh\necho "person node"\n');
    chmodSync(join(npmBin, 'project-tool'), 0o755);
    chmodSync(join(personBin, 'node'), 0o755);
    const result = await runLoop({
      workspace,
      env: { ...process.env, PATH: [npmBin, personBin, process.env.PATH ?? ''].join(delimiter) },
    });
    expect(result.state.baseline?.checks.map((check) => [check.name, check.passed])).toEqual([['F1', true]]);
  });
});

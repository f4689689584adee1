import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectBwrap } from '../../src/sandbox/bwrap.ts';
import { batonEnvAllowlist } from '../../src/sandbox/policy.ts';
import { feature, tempDir } from '../helpers.ts';
import {
  expectNothingLeaked,
  expectSurvivedToDone,
  hostileWorkspace,
  runHostileCli,
  transcriptOf,
} from './hostile.ts';

/**
 * Class 7 of issue 14, lesser exposure: the harness's own BATON_* variables reaching workers and checks,
 * and the identity the worker has in the sandbox.
 */
describe.runIf(detectBwrap().works)("class 7: the harness's variables", () => {
  it("the harness's BATON_* variables and API key reach neither the worker nor its checks (through the CLI)", async () => {
    // Before the fix, every BATON_ variable of the harness's environment went through the sandbox.
    const hostile = await hostileWorkspace({
      features: [feature('F1', 'env; test -f a.txt'), feature('F2', 'env; test -f b.txt')],
      attack: 'env; env > "$BATON_HANDOFF_FILE"; echo a > a.txt',
    });
    expect(hostile.env.BATON_SECRET_TEST).toBe(hostile.secrets.batonEnv);
    const run = await runHostileCli(hostile);
    expectSurvivedToDone(run);
    const transcript = transcriptOf(hostile, run);
    // What a worker is told still arrives: its role, run, iteration, workspace and files.
    for (const name of [
      'BATON_RUN_ID',
      'BATON_ROLE',
      'BATON_ITERATION',
      'BATON_WORKSPACE',
      'BATON_HANDOFF_FILE',
    ]) {
      expect(transcript).toMatch(new RegExp(`^${name}=`, 'm'));
    }
    for (const line of transcript.split('\n').filter((entry) => entry.startsWith('BATON_'))) {
      expect(batonEnvAllowlist).toContain(line.slice(0, line.indexOf('=')));
    }
    // The checks' output too: their environment is the same filter's.
    const check = readFileSync(
      join(hostile.workspace, '.baton', 'runs', run.runId, 'iterations', '00001', 'checks', 'feature-F1.log'),
      'utf8',
    );
    expect(check).toMatch(/^BATON_RUN_ID=/m);
    await expectNothingLeaked(hostile); // the values: nowhere in the transcripts, check logs or history
  });
});

/**
 * The sandbox identity. As root, the worker is uid 0 inside (docs/sandbox.md, "Not done yet"): root-only
 * host files outside the hidden folders are readable to it; that stays open. What IS guaranteed: when the
 * harness runs as an unprivileged user, so does every worker, and a root-only host file stays unreadable.
 * This needs root here (to make the other user's workspace) and bwrap usable by that user.
 */
const unprivileged = 65534;

function bwrapWorksAs(uid: number): boolean {
  const probe = spawnSync(
    'setpriv',
    [
      `--reuid=${uid}`,
      `--regid=${uid}`,
      '--clear-groups',
      'bwrap',
      '--ro-bind',
      '/',
      '/',
      '--unshare-all',
      'true',
    ],
    { stdio: 'ignore' },
  );
  return probe.status === 0;
}

const asRoot = process.getuid?.() === 0;

describe.runIf(asRoot && detectBwrap().works && bwrapWorksAs(unprivileged))(
  'class 7: the identity of the worker',
  () => {
    it('a harness run by an unprivileged user (through the CLI): the worker cannot read a root-only host file', async () => {
      const token = `ROOT-ONLY-${randomBytes(6).toString('hex')}`;
      // Outside every hidden folder (/tmp, /run, /home and /root are hidden anyway).
      const folder = mkdtempSync('/var/lib/baton-escape-');
      try {
        chmodSync(folder, 0o755);
        const canary = join(folder, 'root-only');
        writeFileSync(canary, `${token}\n`, { mode: 0o600 });
        // Root reads it, as a worker mapped to root does today.
        expect(readFileSync(canary, 'utf8')).toContain(token);
        const hostile = await hostileWorkspace({
          attack: `echo "uid=$(id -u)"; cat ${canary}; cat ${canary} > "$BATON_HANDOFF_FILE"; echo a > a.txt`,
        });
        // The person who runs baton owns the workspace, the agent's folder and a home folder.
        const home = tempDir('baton-home-');
        execFileSync('chown', [
          '-R',
          `${unprivileged}:${unprivileged}`,
          dirname(hostile.workspace),
          hostile.outside,
          home,
        ]);
        const run = await runHostileCli(hostile, { user: { uid: unprivileged, home } });
        expectSurvivedToDone(run);
        const transcript = transcriptOf(hostile, run);
        expect(transcript).toContain(`uid=${unprivileged}`);
        expect(transcript).toMatch(/Permission denied/);
        // Back to root, whose git (in the checks below) refuses a repository of another owner.
        execFileSync('chown', ['-R', '0:0', dirname(hostile.workspace), hostile.outside, home]);
        await expectNothingLeaked(hostile, [token]);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });
  },
);

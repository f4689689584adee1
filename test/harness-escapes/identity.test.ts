import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectBwrap } from '../../src/sandbox/bwrap.ts';
import { batonEnvAllowlist } from '../../src/sandbox/policy.ts';
import { feature, tempDir } from '../helpers.ts';
import {
  checkLogPath,
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
    const check = readFileSync(checkLogPath(hostile, run, 'feature-F1'), 'utf8');
    expect(check).toMatch(/^BATON_RUN_ID=/m);
    await expectNothingLeaked(hostile); // the values: nowhere in the transcripts, check logs or history
  });
});

/**
 * The sandbox identity. A harness run as root gives its workers and checks a uid of their own
 * (`sandbox.user: auto`): with every capability dropped, uid 0 would still own every root-owned host
 * file. A harness run by an unprivileged user gives them its own uid. Either way a root-only host file
 * outside the hidden folders (here under /var/lib, and /etc/shadow) stays unreadable. Needs root here.
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

/** A root-only (0600) file outside every hidden folder (/tmp, /run, /home and /root are hidden anyway). */
function rootOnlyCanary(): { canary: string; token: string; remove: () => void } {
  const token = `ROOT-ONLY-${randomBytes(6).toString('hex')}`;
  const folder = mkdtempSync('/var/lib/baton-escape-');
  chmodSync(folder, 0o755);
  const canary = join(folder, 'root-only');
  writeFileSync(canary, `${token}\n`, { mode: 0o600 });
  // Root reads it, as a worker mapped to root would.
  expect(readFileSync(canary, 'utf8')).toContain(token);
  return {
    canary,
    token,
    remove: () => {
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

const readCanary = (canary: string): string =>
  `echo "uid=$(id -u)"; cat ${canary}; cat /etc/shadow | head -c 40; cat ${canary} > "$BATON_HANDOFF_FILE"; echo a > a.txt`;

describe.runIf(asRoot && detectBwrap().works)(
  'class 7: the identity of the worker, baton run as root',
  () => {
    it('with sandbox.user: root (the old default) the worker is uid 0 inside and reads a root-only host file: the target exists', async () => {
      const { canary, token, remove } = rootOnlyCanary();
      try {
        const hostile = await hostileWorkspace({ attack: readCanary(canary), sandbox: ['user: root'] });
        const run = await runHostileCli(hostile);
        expectSurvivedToDone(run);
        const transcript = transcriptOf(hostile, run);
        expect(transcript).toContain('uid=0');
        expect(transcript).toContain(token);
        const chosen = run.events.find((event) => event.type === 'sandbox.chosen');
        expect(JSON.stringify(chosen)).toMatch(/sandbox\.user: root/);
      } finally {
        remove();
      }
    });

    it('by default (sandbox.user: auto, through the CLI) the worker and its checks run as a uid of their own: no root-only host file, no secret anywhere', async () => {
      const { canary, token, remove } = rootOnlyCanary();
      try {
        const hostile = await hostileWorkspace({
          // The checks run the worker's code too: they try the same.
          features: [
            feature('F1', `id -u; cat ${canary}; test -f a.txt`),
            feature('F2', `cat /etc/shadow; test -f b.txt`),
          ],
          attack: readCanary(canary),
        });
        const run = await runHostileCli(hostile);
        expectSurvivedToDone(run);
        const transcript = transcriptOf(hostile, run);
        const uid = /uid=(\d+)/.exec(transcript)?.[1];
        expect(uid).toBeDefined();
        expect(Number(uid)).not.toBe(0);
        expect(transcript.match(/Permission denied/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
        const checkLog = readFileSync(checkLogPath(hostile, run, 'feature-F1'), 'utf8');
        expect(checkLog).toMatch(/Permission denied/);
        expect(checkLog).not.toMatch(/^0$/m);
        // The worker's work landed, and the workspace is still the person's to use: root's git reads it.
        expect(
          execFileSync('git', ['-C', hostile.workspace, 'status', '--porcelain'], { encoding: 'utf8' }),
        ).toBe('');
        await expectNothingLeaked(hostile, [token]);
      } finally {
        remove();
      }
    });
  },
);

describe.runIf(asRoot && detectBwrap().works && bwrapWorksAs(unprivileged))(
  'class 7: the identity of the worker, baton run by an unprivileged user',
  () => {
    it('a harness run by an unprivileged user (through the CLI): the worker cannot read a root-only host file', async () => {
      const { canary, token, remove } = rootOnlyCanary();
      try {
        const hostile = await hostileWorkspace({ attack: readCanary(canary) });
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
        remove();
      }
    });
  },
);

/**
 * What the hardened runGit costs: 200 `git status` calls the old way (execFile, the whole environment,
 * three -c settings) against 200 through runGit, in one repository of a few hundred files; plus the
 * checks commitAll now makes before `git add`. Prints figures, asserts nothing.
 * Run: node bench/git-hardening.ts
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nestedRepositoryCandidates, runGit, untrustedPopulatedGitlinks } from '../src/git/git.ts';

const calls = 200;
const repo = mkdtempSync(join(tmpdir(), 'baton-bench-git-'));

function oldRunGit(cwd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', '-c', 'core.quotepath=off', ...args],
      { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' }, maxBuffer: 256 * 1024 * 1024 },
      (error) => {
        if (error === null) resolve();
        else reject(new Error(error.message));
      },
    );
  });
}

async function timeMs(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let index = 0; index < calls; index += 1) await run();
  return Number(process.hrtime.bigint() - start) / 1e6 / calls;
}

try {
  execFileSync('git', ['init', '-q', repo]);
  for (let index = 0; index < 300; index += 1) {
    mkdirSync(join(repo, `dir-${index % 20}`), { recursive: true });
    writeFileSync(join(repo, `dir-${index % 20}`, `file-${index}.ts`), `export const value = ${index};\n`);
  }
  execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@l', 'add', '-A'], { cwd: repo });
  execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@l', 'commit', '-qm', 'files'], { cwd: repo });
  writeFileSync(join(repo, 'dir-1', 'file-1.ts'), 'changed\n');
  writeFileSync(join(repo, 'new.ts'), 'new\n');
  const status = ['status', '--porcelain=v1', '-z', '--untracked-files=all'];

  // Warm both paths (page cache, git's startup), then alternate to share the noise.
  await timeMs(() => oldRunGit(repo, status));
  await timeMs(() => runGit(repo, status));
  const rounds = 3;
  let oldTotal = 0;
  let newTotal = 0;
  for (let round = 0; round < rounds; round += 1) {
    oldTotal += await timeMs(() => oldRunGit(repo, status));
    newTotal += await timeMs(() => runGit(repo, status));
  }
  const oldMs = oldTotal / rounds;
  const newMs = newTotal / rounds;
  const guardMs = await timeMs(async () => {
    await nestedRepositoryCandidates(repo);
    await untrustedPopulatedGitlinks(repo);
  });
  console.log(`git status, ${calls} calls x ${rounds} rounds, 300-file repository`);
  console.log(`  old runGit: ${oldMs.toFixed(2)} ms per call`);
  console.log(`  hardened:   ${newMs.toFixed(2)} ms per call (difference ${(newMs - oldMs).toFixed(2)} ms)`);
  console.log(
    `  at 20 git calls per iteration: ${((newMs - oldMs) * 20).toFixed(1)} ms difference per iteration`,
  );
  console.log(
    `  commitAll's pre-add checks (status v2 + index gitlinks): ${guardMs.toFixed(2)} ms per commit (${(guardMs / newMs).toFixed(1)} status calls)`,
  );
} finally {
  rmSync(repo, { recursive: true, force: true });
}

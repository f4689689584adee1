#!/usr/bin/env -S node --max-semi-space-size=16
// The baton command. It needs Node 22 or newer; on an older Node it re-runs itself with the Node 24
// binary the package brings (the npm `node` package), so it works on any machine npm installed it on.
// --max-semi-space-size caps V8's young generation: a long run allocates steadily, and without a cap V8
// keeps growing it (RSS doubled over 1,000 iterations while the live heap stayed flat; see the bench).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  const require = createRequire(import.meta.url);
  let bundled;
  try {
    bundled = join(dirname(require.resolve('node/package.json')), 'bin', 'node');
  } catch {
    process.stderr.write(
      `baton: Node ${process.versions.node} is too old (22 or newer is needed).\n  fix: run \`npm install\` in the baton package (it brings Node 24), or install Node 24.\n`,
    );
    process.exit(2);
  }
  const result = spawnSync(
    bundled,
    ['--max-semi-space-size=16', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  process.exit(result.status ?? 1);
}

const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));

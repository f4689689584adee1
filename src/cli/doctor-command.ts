import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { DoctorReport } from '../api/doctor.ts';
import { exitCodes } from '../errors.ts';
import { workspaceOption, type CommandIo } from './control-commands.ts';

const marks: Record<DoctorReport['checks'][number]['status'], string> = {
  ok: 'ok',
  warn: 'WARN',
  fail: 'FAIL',
  skip: '-',
};

/** One line per check, its fix under it; the last line says whether anything blocks a run. */
export function formatDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((check) => check.name.length));
  const lines = [`baton doctor: ${report.workspace}`];
  for (const check of report.checks) {
    lines.push(`  ${marks[check.status].padEnd(4)}  ${check.name.padEnd(width)}  ${check.detail}`);
    if (check.fix !== undefined) lines.push(`  ${' '.repeat(4)}  ${' '.repeat(width)}  fix: ${check.fix}`);
  }
  const failed = report.checks.filter((check) => check.status === 'fail').length;
  lines.push(
    failed === 0
      ? 'nothing blocks a run'
      : `${String(failed)} problem(s) block a run: fix them, then run baton doctor again`,
  );
  return lines.join('\n');
}

/** doctor: what a run needs, checked as a run would use it. */
export function registerDoctorCommand(program: Command, io: CommandIo): void {
  program
    .command('doctor')
    .description(
      "check what a run needs: git, baton.yaml, the sandbox, the agent's program inside it, credentials, the model's network, git identity, node (exits 1 when something blocks a run)",
    )
    .addOption(workspaceOption())
    .option('--redis <url>', 'also check this Redis (distributed mode)')
    .option('--json', 'print as JSON')
    .action(async (flags: { workspace: string; redis?: string; json?: boolean }) => {
      const { runDoctor } = await import('../api/doctor.ts');
      const report = await runDoctor({
        workspace: resolve(flags.workspace),
        ...(flags.redis === undefined ? {} : { redisUrl: flags.redis }),
      });
      io.out(flags.json === true ? JSON.stringify(report, null, 2) : formatDoctor(report));
      if (report.blocking) io.setExitCode(exitCodes.error);
    });
}

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BatonError, exitCodes } from '../errors.ts';
import { isReceiptFormat, receiptFormats } from '../api/receipt-formats.ts';
import { workspaceOption, type CommandIo } from './control-commands.ts';

/** report and publish: what a run did, and handing it on. */
export function registerReportCommands(program: Command, io: CommandIo): void {
  program
    .command('report')
    .description("a run's receipt: verdict, features with evidence, rejected claims, guards, refs, numbers")
    .addOption(workspaceOption())
    .option('--run <id>', 'a run id (default: the newest)')
    .option('--format <format>', receiptFormats.join(', '), 'md')
    .option('--out <file>', 'write it to this file instead of printing it')
    .action(async (flags: { workspace: string; run?: string; format: string; out?: string }) => {
      if (!isReceiptFormat(flags.format)) {
        throw new BatonError(`--format ${flags.format} is not a receipt format`, {
          code: 'USAGE',
          fix: `pass one of ${receiptFormats.join(', ')}, e.g. --format html`,
          exitCode: exitCodes.usage,
        });
      }
      const { report, writeReportFile } = await import('../api/report.ts');
      const result = await report(resolve(flags.workspace), {
        format: flags.format,
        ...(flags.run === undefined ? {} : { runId: flags.run }),
      });
      if (flags.out === undefined) {
        io.out(result.text.trimEnd());
        return;
      }
      writeReportFile(resolve(flags.out), result.text);
      io.out(`wrote the receipt of run ${result.receipt.runId} to ${resolve(flags.out)}`);
    });

  program
    .command('publish')
    .description(
      "push the run's branch to a remote (default origin), then run publish.command from baton.yaml with the receipt ({report}, {branch})",
    )
    .addOption(workspaceOption())
    .option('--run <id>', 'a run id (default: the newest)')
    .option('--remote <name>', 'the git remote (default: publish.remote in baton.yaml, else origin)')
    .action(async (flags: { workspace: string; run?: string; remote?: string }) => {
      const { publishRun } = await import('../api/publish.ts');
      const result = await io.withInterrupts((signal) =>
        publishRun(resolve(flags.workspace), {
          signal,
          ...(flags.run === undefined ? {} : { runId: flags.run }),
          ...(flags.remote === undefined ? {} : { remote: flags.remote }),
        }),
      );
      io.out(`pushed ${result.branch} (${result.commit.slice(0, 12)}) to ${result.remote}`);
      io.out(`receipt: ${result.reportPath}`);
      for (const note of result.notes) io.err(`note: ${note}`);
      if (result.command === null) return;
      if (result.command.output.trim() !== '') io.out(result.command.output.trimEnd());
      if (result.command.succeeded) io.out(`publish.command: ${result.command.ended}`);
      else {
        io.err(`baton: publish.command failed (${result.command.ended}): ${result.command.line}`);
        io.err(
          '  fix: the branch is pushed; correct the command in baton.yaml or run it yourself with the receipt above',
        );
        io.setExitCode(exitCodes.error);
      }
    });
}

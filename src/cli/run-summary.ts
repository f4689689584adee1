import { summaryLines, type WrittenReceipt } from '../api/report.ts';

/** The few lines `baton run` and `baton resume` end with, from the receipt the run wrote. */
export function printRunSummary(
  io: { readonly out: (text: string) => void },
  receipt: WrittenReceipt | null,
): void {
  if (receipt === null) {
    io.out('(the receipt could not be written; `baton report` builds it from the log)');
    return;
  }
  for (const line of summaryLines(receipt.receipt, receipt.markdownPath)) io.out(line);
}

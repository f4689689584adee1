import type { IterationTiming, Sample } from './collect.ts';
import { median, quantile, ratio } from './stats.ts';

/** The targets of the issue. "RSS flat" has no number there; 1.2x, like the overhead, is our reading. */
export const targets = {
  medianOverheadMs: 150,
  overheadGrowth: 1.2,
  promptGrowth: 1.1,
  rssGrowth: 1.2,
} as const;

export interface Window {
  readonly label: string;
  readonly from: number;
  readonly to: number;
}

export interface WindowStats extends Window {
  readonly iterations: number;
  readonly medianTotalMs: number;
  readonly medianAgentMs: number;
  readonly medianChecksMs: number;
  readonly medianOverheadMs: number;
  readonly p90OverheadMs: number;
}

export interface TargetResult {
  readonly target: string;
  readonly actual: string;
  readonly met: boolean;
}

export interface BenchResult {
  readonly environment: Readonly<Record<string, string | number>>;
  readonly early: WindowStats;
  readonly late: WindowStats;
  readonly earlySample: Sample;
  readonly lateSample: Sample;
  readonly maxRssBytes: number;
  readonly ratios: { readonly medianOverhead: number; readonly promptBytes: number; readonly rss: number };
  readonly targets: readonly TargetResult[];
  /** Every iteration, for a closer look at where growth starts. */
  readonly timings: readonly IterationTiming[];
}

export function windowStats(window: Window, timings: readonly IterationTiming[]): WindowStats {
  const inside = timings.filter((timing) => timing.iteration >= window.from && timing.iteration <= window.to);
  const overheads = inside.map((timing) => timing.overheadMs);
  return {
    ...window,
    iterations: inside.length,
    medianTotalMs: median(inside.map((timing) => timing.totalMs)),
    medianAgentMs: median(inside.map((timing) => timing.agentMs)),
    medianChecksMs: median(inside.map((timing) => timing.checksMs)),
    medianOverheadMs: median(overheads),
    p90OverheadMs: quantile(overheads, 0.9),
  };
}

const count = (value: number): string => value.toLocaleString('en-US');
const ms = (value: number): string => `${value.toFixed(1)} ms`;
const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const times = (value: number): string => `${value.toFixed(2)}x`;

export function evaluateTargets(
  early: WindowStats,
  late: WindowStats,
  ratios: BenchResult['ratios'],
): TargetResult[] {
  return [
    {
      target: `overhead median under ${targets.medianOverheadMs} ms, ${early.label}`,
      actual: ms(early.medianOverheadMs),
      met: early.medianOverheadMs < targets.medianOverheadMs,
    },
    {
      target: `overhead median under ${targets.medianOverheadMs} ms, ${late.label}`,
      actual: ms(late.medianOverheadMs),
      met: late.medianOverheadMs < targets.medianOverheadMs,
    },
    {
      target: `overhead flat: iteration ${count(late.to)} within ${targets.overheadGrowth}x of iteration 10`,
      actual: times(ratios.medianOverhead),
      met: ratios.medianOverhead <= targets.overheadGrowth,
    },
    {
      target: `orientation prompt bounded: within ${targets.promptGrowth}x`,
      actual: times(ratios.promptBytes),
      met: ratios.promptBytes <= targets.promptGrowth,
    },
    {
      target: `RSS flat: within ${targets.rssGrowth}x (the issue gives no number)`,
      actual: times(ratios.rss),
      met: ratios.rss <= targets.rssGrowth,
    },
  ];
}

/** Rows of cells as an aligned text table, the first row being the header. */
function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows.reduce<number[]>(
    (acc, row) => row.map((cell, column) => Math.max(acc[column] ?? 0, cell.length)),
    [],
  );
  const line = (row: readonly string[]): string =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const [header, ...body] = rows;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(header ?? []), rule, ...body.map(line)].join('\n');
}

export function formatReport(result: BenchResult): string {
  const { early, late, earlySample, lateSample, ratios } = result;
  const env = result.environment;
  const windowHeader = (stats: WindowStats): string =>
    `${stats.label} (${count(stats.from)}–${count(stats.to)})`;
  const measures = formatTable([
    ['per iteration', windowHeader(early), windowHeader(late), `${count(late.to)} / 10`],
    [
      'median iteration time',
      ms(early.medianTotalMs),
      ms(late.medianTotalMs),
      times(ratio(late.medianTotalMs, early.medianTotalMs)),
    ],
    ['  of which agent (median)', ms(early.medianAgentMs), ms(late.medianAgentMs), ''],
    ['  of which checks (median)', ms(early.medianChecksMs), ms(late.medianChecksMs), ''],
    [
      'median harness overhead',
      ms(early.medianOverheadMs),
      ms(late.medianOverheadMs),
      times(ratios.medianOverhead),
    ],
    [
      'p90 harness overhead',
      ms(early.p90OverheadMs),
      ms(late.p90OverheadMs),
      times(ratio(late.p90OverheadMs, early.p90OverheadMs)),
    ],
    [
      `orientation prompt (at ${earlySample.iteration} / ${count(lateSample.iteration)})`,
      `${count(earlySample.promptBytes)} bytes`,
      `${count(lateSample.promptBytes)} bytes`,
      times(ratios.promptBytes),
    ],
    [
      `RSS (at ${earlySample.iteration} / ${count(lateSample.iteration)})`,
      megabytes(earlySample.rssBytes),
      megabytes(lateSample.rssBytes),
      times(ratios.rss),
    ],
    [
      `V8 heap reserved (at ${earlySample.iteration} / ${count(lateSample.iteration)})`,
      megabytes(earlySample.heapTotalBytes),
      megabytes(lateSample.heapTotalBytes),
      times(ratio(lateSample.heapTotalBytes, earlySample.heapTotalBytes)),
    ],
    [
      `live heap after full GC (at ${earlySample.iteration} / ${count(lateSample.iteration)})`,
      megabytes(earlySample.liveHeapBytes),
      megabytes(lateSample.liveHeapBytes),
      times(ratio(lateSample.liveHeapBytes, earlySample.liveHeapBytes)),
    ],
  ]);
  const verdicts = formatTable([
    ['target', 'actual', 'result'],
    ...result.targets.map((target) => [target.target, target.actual, target.met ? 'met' : 'NOT MET']),
  ]);
  return `baton harness overhead: ${count(Number(env.iterations))} iterations, ${count(Number(env.files))} committed files (node ${String(env.node)}, ${String(env.git)}, ${String(env.cpus)} CPUs)
overhead = iteration time - agent session - smoke and verify checks

${measures}

max RSS over the run: ${megabytes(result.maxRssBytes)}; wall clock: ${(Number(env.wallClockMs) / 1000).toFixed(0)} s
RSS follows the heap V8 reserves, including a young generation that grows with the allocation rate up to
its limit; the live heap after a full GC is what the harness really keeps.

${verdicts}
`;
}

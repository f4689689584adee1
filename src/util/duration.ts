/** Human durations in config ('90s', '30m', '2h', '1h30m', '1d') or plain milliseconds. */
const unitMs: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const partPattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  partPattern.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(partPattern)) {
    const [whole, amount, unit] = match;
    if (amount === undefined || unit === undefined) return undefined;
    const factor = unitMs[unit];
    if (factor === undefined) return undefined;
    total += Number(amount) * factor;
    consumed += whole.length;
  }
  return consumed === trimmed.length && consumed > 0 ? Math.round(total) : undefined;
}

export function formatDurationMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1_000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const minutes = Math.floor(seconds / 60);
  const restSeconds = Math.round(seconds - minutes * 60);
  if (minutes < 60) return `${minutes}m${restSeconds > 0 ? `${restSeconds}s` : ''}`;
  const hours = Math.floor(minutes / 60);
  const restMinutes = minutes - hours * 60;
  return `${hours}h${restMinutes > 0 ? `${restMinutes}m` : ''}`;
}

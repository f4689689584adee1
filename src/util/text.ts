/** Keep the last `maxChars` characters of a text, marking what was cut. */
export function tail(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `…(${text.length - maxChars} earlier characters cut)\n${text.slice(text.length - maxChars)}`;
}

/** Keep the first `maxChars` characters of a text, marking what was cut. */
export function head(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}…(${text.length - maxChars} more characters cut)`;
}

export function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.trim();
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** Shorten a text for one line of display, ending with an ellipsis when cut. */
export function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1)).trimEnd()}…`;
}

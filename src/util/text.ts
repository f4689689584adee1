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

/** A byte count for people: "512 B", "3.4 KB", "248.3 MB" (powers of 1024). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit] ?? 'B'}`;
}

// C0 controls except \t and \n, DEL, C1 controls, and the Unicode bidi overrides and isolates that can
// make text read differently from what it is.
// eslint-disable-next-line no-control-regex
const unsafeCharacters = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/**
 * Text a worker wrote, made fit for a commit message or a prompt: invalid UTF-8 becomes U+FFFD, lone
 * surrogates too, `\r\n` and `\r` become `\n`, and NUL and every other control character except `\n`
 * and `\t` is dropped (a NUL breaks `git commit -m`; escape sequences repaint a terminal).
 */
export function sanitizeText(input: string | Uint8Array): string {
  const text = typeof input === 'string' ? input.toWellFormed() : Buffer.from(input).toString('utf8');
  return text.replace(/\r\n?/g, '\n').replace(unsafeCharacters, '');
}

/**
 * Worker-influenced text (a feature title or verify command, a judge's reason that quotes them) for one
 * line of a prompt or a message: sanitised, and every run of whitespace, line breaks included, made one
 * space, so no part of it can start a line of its own and pose as a heading or an instruction.
 */
export function singleLine(text: string): string {
  return sanitizeText(text).replace(/\s+/g, ' ').trim();
}

/**
 * A worker-chosen string (a file name, a branch, an id) rendered as data on one line: a JSON string
 * literal, so a newline shows as `\n` and the value can never start a line of its own, pose as a
 * markdown heading or close a code fence. Control and bidi characters are escaped too.
 */
export function quoteName(name: string): string {
  return JSON.stringify(name.toWellFormed()).replace(
    /[\u007F-\u009F\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

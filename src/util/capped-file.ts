import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { UnsafeFileError, writeAll } from './safe-io.ts';
import { formatBytes } from './text.ts';

/** How much of a stream a capped file keeps: its first `headBytes` and its last `tailBytes`. */
export interface OutputCap {
  readonly headBytes: number;
  readonly tailBytes: number;
}

export function cutMarker(cutBytes: number): string {
  return `\n[… ${formatBytes(cutBytes)} cut by baton …]\n`;
}

/**
 * An output file (transcript, check output) that never grows past its cap: the head is written as it
 * arrives, the tail is held in memory (at most `tailBytes` plus one chunk) and written on close, after a
 * marker saying how much was cut in between. Both ends matter: the start says what ran, the end why it
 * failed. Opened without following a link; appends to an existing regular file.
 */
export class CappedFile {
  readonly #fd: number;
  readonly #cap: OutputCap;
  #headWritten = 0;
  #tail: Buffer[] = [];
  #tailLength = 0;
  #seen = 0;
  #closed = false;

  private constructor(fd: number, cap: OutputCap) {
    this.#fd = fd;
    this.#cap = cap;
  }

  static open(path: string, cap: OutputCap): CappedFile {
    let fd: number;
    try {
      fd = openSync(
        path,
        constants.O_WRONLY |
          constants.O_CREAT |
          constants.O_APPEND |
          constants.O_NOFOLLOW |
          constants.O_NONBLOCK,
        0o644,
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafeFileError(path, 'symbolic-link');
      if ((error as NodeJS.ErrnoException).code === 'ENXIO') {
        throw new UnsafeFileError(path, 'not-regular-file');
      }
      throw error;
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new UnsafeFileError(path, 'not-regular-file');
    }
    return new CappedFile(fd, cap);
  }

  /** Bytes written to this file so far plus those held for the tail. */
  get seenBytes(): number {
    return this.#seen;
  }

  write(chunk: string | Uint8Array): void {
    if (this.#closed) return;
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    this.#seen += bytes.length;
    const headRoom = this.#cap.headBytes - this.#headWritten;
    if (headRoom > 0) {
      const head = bytes.subarray(0, headRoom);
      writeAll(this.#fd, head);
      this.#headWritten += head.length;
      bytes = bytes.subarray(head.length);
    }
    if (bytes.length === 0 || this.#cap.tailBytes <= 0) return;
    this.#tail.push(bytes);
    this.#tailLength += bytes.length;
    let first = this.#tail[0];
    while (first !== undefined && this.#tailLength - first.length >= this.#cap.tailBytes) {
      this.#tail.shift();
      this.#tailLength -= first.length;
      first = this.#tail[0];
    }
  }

  /** Write the marker and the tail, and close. Returns how many bytes were cut. */
  close(): number {
    if (this.#closed) return 0;
    this.#closed = true;
    try {
      const held = Buffer.concat(this.#tail, this.#tailLength);
      const tail = held.subarray(Math.max(0, held.length - this.#cap.tailBytes));
      const cut = this.#seen - this.#headWritten - tail.length;
      if (cut > 0) writeSync(this.#fd, cutMarker(cut));
      writeAll(this.#fd, tail);
      this.#tail = [];
      return cut;
    } finally {
      closeSync(this.#fd);
    }
  }
}

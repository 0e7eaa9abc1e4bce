/**
 * The size cap on what crosses from an import child to the validator. The child refuses to send a
 * summary past the cap (a 300 MB description is measured, never copied); the validator reads lines
 * into a buffer that never grows past its own cap, whatever a child writes.
 */

export class TooLargeError extends Error {
  override readonly name = 'TooLargeError';
  constructor(
    readonly limit: number,
    readonly field: string,
    readonly fieldLength: number,
  ) {
    super(`larger than ${limit} bytes`);
  }
}

/**
 * `JSON.stringify(value)`, or a `TooLargeError` naming the field where the running total of string
 * lengths passed `limit`, before any of it is copied.
 */
export function stringifyCapped(value: unknown, limit: number): string {
  let total = 0;
  const text = JSON.stringify(value, function (this: unknown, key: string, inner: unknown) {
    total += key.length + (typeof inner === 'string' ? inner.length : 8);
    if (total > limit) throw new TooLargeError(limit, key, typeof inner === 'string' ? inner.length : 0);
    return inner;
  });
  // Multi-byte characters: the length in bytes is checked once it is known.
  if (Buffer.byteLength(text) > limit) throw new TooLargeError(limit, '', 0);
  return text;
}

/**
 * Splits a byte stream into lines, holding at most `limit` bytes of an unfinished line: a longer
 * line calls `onOverflow` once and everything after it is dropped.
 */
export class CappedLineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private overflowed = false;

  constructor(
    private readonly limit: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.overflowed) return;
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const line = Buffer.concat([...this.pending, chunk.subarray(start, nl)]).toString('utf8');
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
      if (Buffer.byteLength(line) > this.limit) return this.overflow();
      this.onLine(line);
      if (this.overflowed) return;
    }
    const rest = chunk.subarray(start);
    this.pendingBytes += rest.length;
    if (this.pendingBytes > this.limit) return this.overflow();
    if (rest.length > 0) this.pending.push(Buffer.from(rest));
  }

  private overflow(): void {
    this.overflowed = true;
    this.pending = [];
    this.onOverflow();
  }
}

/** Where a command writes. The CLI passes the process's streams; tests pass buffers. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** Exit codes every verb shares. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A command was called wrongly or its configuration is unusable: exit 2 with this message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Retry behaviour lives on the error: an operator throws a `TaskError` to say how its failure is to
 * be treated, and the runner translates that to the queue in one place. Any other thrown value is
 * an ordinary, retryable failure.
 */
export type TaskErrorCode = 'failed' | 'fail_now' | 'skip' | 'timeout';

export interface TaskErrorOptions {
  /** Whether another try may follow. @defaultValue `true` for `failed` and `timeout`, `false` otherwise */
  retryable?: boolean;
  /** Wait at least this long before the next try, overriding the task's retry delay. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class TaskError extends Error {
  override readonly name = 'TaskError';
  readonly code: TaskErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: TaskErrorCode, message: string, options: TaskErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? (code === 'failed' || code === 'timeout');
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The task fails at once, whatever retries are left: `throw failNow('table missing')`. */
export function failNow(message: string, options: { cause?: unknown } = {}): TaskError {
  return new TaskError('fail_now', message, { ...options, retryable: false });
}

/** The task ends as skipped; downstream tasks see a skipped upstream: `throw skip('no new files')`. */
export function skip(message: string): TaskError {
  return new TaskError('skip', message, { retryable: false });
}

export function isTaskError(error: unknown): error is TaskError {
  return error instanceof TaskError || (error instanceof Error && error.name === 'TaskError' && 'code' in error);
}

/**
 * Redis errors as one line a person can act on. A refused transaction says only "EXECABORT
 * Transaction discarded because of previous errors"; the cause (often OOM) is in the errors of
 * the commands it queued. Redis out of memory (maxmemory with noeviction) refuses every write while
 * reads still work: a service keeps going and says what to do.
 */
export function describeRedisError(error: unknown): string {
  const cause = firstCause(error);
  const message = cause instanceof Error ? cause.message : String(cause);
  if (isOutOfMemoryMessage(message)) {
    return `Redis is out of memory and refuses writes (maxmemory reached, noeviction): free memory or raise maxmemory [${message}]`;
  }
  return `${message}${replyHint(message)}`;
}

/** What a Redis refusal usually means for Runway. */
function replyHint(message: string): string {
  if (message.startsWith('MOVED ') || message.startsWith('CLUSTERDOWN')) {
    return ' (this Redis is a node of a Redis Cluster: add ?cluster=true to REDIS_URL)';
  }
  if (message.startsWith('NOPERM')) return " (the Redis user's ACL does not cover the keys under this --prefix)";
  return '';
}

/** Whether Redis answered that it is out of memory (a write refused at maxmemory). */
export function isRedisOutOfMemory(error: unknown): boolean {
  const cause = firstCause(error);
  return isOutOfMemoryMessage(cause instanceof Error ? cause.message : String(cause));
}

/**
 * Whether the same command may succeed later unchanged: Redis out of memory, loading, busy, a
 * replica or a cluster in transition, or no answer at all. A script or permission error is not.
 */
export function isTransientRedisError(error: unknown): boolean {
  if (!isRedisReplyError(error)) {
    // ioredis's words for a connection that is gone; a bug of ours (a TypeError, say) is not one.
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    return (
      (typeof code === 'string' && /^E[A-Z]+$/.test(code)) ||
      (typeof message === 'string' &&
        /Connection is closed|Stream isn't writeable|max retries per request/i.test(message))
    );
  }
  const cause = firstCause(error);
  const message = cause instanceof Error ? cause.message : String(cause);
  return isOutOfMemoryMessage(message) || /^(LOADING|BUSY|READONLY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN) /.test(message);
}

/** Whether Redis answered this error (the command reached it and was refused), not the network. */
export function isRedisReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

function firstCause(error: unknown): unknown {
  const previous = (error as { previousErrors?: unknown[] } | undefined)?.previousErrors;
  return Array.isArray(previous) && previous.length > 0 ? previous[0] : error;
}

function isOutOfMemoryMessage(message: string): boolean {
  return /^OOM |\bOOM command not allowed\b/.test(message);
}

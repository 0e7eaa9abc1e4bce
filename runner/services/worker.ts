/**
 * `runway worker`: BullMQ workers that run task instances. All workers on a queue must share the
 * lock settings: a worker that dies mid-task stops renewing its lock, and another worker's stalled
 * check moves the task back to the queue within lockDuration + stalledInterval (6 s by default,
 * against BullMQ's 60 s). The check runs twice per lock period: a lapsed lock is seen by the first
 * check after it lapses, so the interval, not the lock, sets how late recovery can be.
 */
import { Worker, type MinimalJob } from 'bullmq';
import { logDistinctErrors, type RedisClient } from '../redis/connect.ts';
import { lazyAwsClients } from '../aws/clients.ts';
import { Engine, type TaskJobData } from '../state/engine.ts';
import type { AwsClients, Logger } from '../core/operator.ts';
import { retryDelayMs } from '../core/retry-policy.ts';
import { isTaskError } from '../core/task-error.ts';
import { TaskExecutor } from './task-executor.ts';
import { WorkerPresence } from '../state/worker-presence.ts';

export interface WorkerOptions {
  /** Queues to take tasks from. @defaultValue ['default'] */
  queues?: readonly string[];
  /** Tasks run at once by this worker. @defaultValue 8 */
  concurrency?: number;
  /** @defaultValue 4_000 */
  lockDurationMs?: number;
  /** @defaultValue half of lockDurationMs */
  stalledIntervalMs?: number;
  /** Stalls after which a task fails instead of running again. @defaultValue 2 */
  maxStalledCount?: number;
  aws?: AwsClients;
  /** Echo task logs here too. */
  echo?: Logger;
}

export interface RunwayWorker {
  readonly workers: readonly Worker<TaskJobData>[];
  /** Its heartbeat: the queues it takes and the DAGs it has loaded; `beat()` after a reload. */
  readonly presence: WorkerPresence;
  /**
   * Stops taking tasks and lets running ones finish within `graceMs`. Past that it returns with
   * them unfinished: the process should exit, and their lapsed locks send them to another worker.
   */
  close(graceMs?: number): Promise<{ released: boolean }>;
}

export function startWorker(engine: Engine, connection: RedisClient, options: WorkerOptions = {}): RunwayWorker {
  const executor = new TaskExecutor(engine, {
    aws: options.aws ?? lazyAwsClients(),
    ...(options.echo ? { echo: options.echo } : {}),
  });
  const lockDuration = options.lockDurationMs ?? 4_000;
  const workers = (options.queues ?? ['default']).map((queue) => {
    const worker = new Worker<TaskJobData>(Engine.queueName(queue), executor.process, {
      connection,
      prefix: engine.prefix,
      concurrency: options.concurrency ?? 8,
      lockDuration,
      stalledInterval: options.stalledIntervalMs ?? lockDuration / 2,
      maxStalledCount: options.maxStalledCount ?? 2,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, error?: Error, job?: MinimalJob) => {
          const retryAfter = isTaskError(error) ? error.retryAfterMs : undefined;
          if (retryAfter !== undefined) return retryAfter;
          const policy = (job?.data as TaskJobData | undefined)?.retry;
          return policy ? retryDelayMs(policy, attemptsMade) : 1_000;
        },
      },
    });
    worker.on(
      'error',
      logDistinctErrors((m) => engine.log.warn(m), `worker (${queue})`),
    );
    return worker;
  });
  const queues = options.queues ?? ['default'];
  const presence = new WorkerPresence(
    engine.redis,
    engine.prefix,
    () => ({ queues, dagIds: engine.registry.list().map((d) => d.summary.dagId) }),
    logDistinctErrors((m) => engine.log.warn(m), 'worker heartbeat'),
  );
  presence.start();
  return {
    workers,
    presence,
    async close(graceMs = 30_000) {
      await presence.stop();
      const graceful = Promise.all(workers.map((w) => w.close()));
      const expired = new Promise<'expired'>((resolve) => setTimeout(() => resolve('expired'), graceMs).unref());
      if ((await Promise.race([graceful, expired])) === 'expired') {
        engine.log.warn(`tasks still running after ${graceMs} ms: releasing them to run again on another worker`);
        executor.releasing = true;
        // BullMQ's forced close still waits for running jobs; do not wait for it.
        for (const w of workers) void w.close(true).catch(() => undefined);
        return { released: true };
      }
      return { released: false };
    },
  };
}

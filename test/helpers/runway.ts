/** A Runway on the test Redis with a fresh key prefix, real engine, workers and scheduler. */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { DagRegistry, prepareDag, type AnyDag, type LoadedDag } from '../../runner/loader/dag-registry.ts';
import { Engine } from '../../runner/state/engine.ts';
import type { DagRunRecord } from '../../runner/core/model.ts';
import { connectRedis, type RedisClient } from '../../runner/redis/connect.ts';
import { Scheduler, type SchedulerOptions } from '../../runner/services/scheduler.ts';
import { startWorker, type RunwayWorker, type WorkerOptions } from '../../runner/services/worker.ts';
import { isRunFinished } from '../../runner/core/model.ts';

export interface TestRunway {
  redis: RedisClient;
  engine: Engine;
  prefix: string;
  worker(options?: WorkerOptions): RunwayWorker;
  scheduler(options?: SchedulerOptions): Scheduler;
  trigger(dagId: string, conf?: Record<string, unknown>, logicalDate?: Date): Promise<DagRunRecord>;
  waitForRun(dagId: string, runId: string, timeoutMs?: number): Promise<DagRunRecord>;
  close(): Promise<void>;
}

/** Options of a manual DAG that passes the policy; tests add an id and what they test. */
export const manualDag = {
  description: 'Test DAG run by real workers on Redis.',
  owner: 'data-platform',
  tags: ['data-lake'],
  schedule: null,
  timezone: 'UTC',
  startDate: '2026-01-01',
};

export function redisUrl(): string {
  return inject('redisUrl');
}

/** `dags`: DAG objects, or DAGs already loaded (a lazily loaded one, say). */
export function testRunway(dags: readonly (AnyDag | LoadedDag)[]): TestRunway {
  const prefix = `{rw-${randomUUID().slice(0, 8)}}`;
  const redis = connectRedis(redisUrl());
  const loaded = dags.map((d) => ('summary' in d ? d : prepareDag(d)));
  const engine = new Engine({ redis, registry: new DagRegistry(loaded), prefix, env: {} });
  const closers: (() => Promise<void>)[] = [];
  const connections: RedisClient[] = [redis];
  return {
    redis,
    engine,
    prefix,
    worker(options = {}) {
      const connection = connectRedis(redisUrl());
      connections.push(connection);
      const worker = startWorker(engine, connection, { concurrency: 4, ...options });
      closers.push(async () => void (await worker.close(5_000)));
      return worker;
    },
    scheduler(options = {}) {
      const scheduler = new Scheduler(engine, { tickMs: 100, ...options });
      closers.push(() => scheduler.stop());
      return scheduler;
    },
    async trigger(dagId, conf = {}, logicalDate = new Date()) {
      const loaded = engine.loaded(dagId);
      const runId = `manual__${logicalDate.toISOString()}`;
      await engine.createRun(loaded, { runId, runType: 'manual', start: logicalDate, end: logicalDate, conf });
      await engine.startQueuedRuns(loaded);
      return (await engine.store.getRun(dagId, runId))!;
    },
    async waitForRun(dagId, runId, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const run = await engine.store.getRun(dagId, runId);
        if (run && isRunFinished(run.state)) return run;
        if (Date.now() > deadline) throw new Error(`run ${dagId} ${runId} still ${run?.state} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      for (const close of closers.reverse()) await close();
      await engine.close();
      for (const connection of connections) connection.disconnect();
    },
  };
}

/**
 * An engine over a test Runway's Redis, DAGs and prefix whose log lines of the given levels are
 * kept (in order, whatever their level), for tests of what a service says when Redis refuses.
 */
export function engineKeepingLog(
  runway: TestRunway,
  levels: readonly ('warn' | 'error')[] = ['error'],
): { engine: Engine; lines: string[] } {
  const lines: string[] = [];
  const keep = (level: 'warn' | 'error') => (levels.includes(level) ? (m: string) => void lines.push(m) : () => {});
  const engine = new Engine({
    redis: runway.redis,
    registry: runway.engine.registry,
    prefix: runway.prefix,
    env: {},
    log: { info: () => {}, warn: keep('warn'), error: keep('error') },
  });
  return { engine, lines };
}

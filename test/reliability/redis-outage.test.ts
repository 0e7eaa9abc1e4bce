/**
 * Redis going away under a running scheduler and worker (real processes, a redis-server of the
 * test's own with AOF, appendfsync everysec):
 * - killed with SIGKILL in the middle of runs and restarted from its AOF: every run completes;
 * - unreachable for 30 s: the services log it, retry with backoff, and carry on without a restart.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadDagRegistry } from '../../runner/loader/dag-registry.ts';
import { Engine } from '../../runner/state/engine.ts';
import { isRunFinished } from '../../runner/core/model.ts';
import { triggerDag } from '../../runner/state/operations.ts';
import { connectRedis } from '../../runner/redis/connect.ts';
import { startRedisServer, type RedisServer } from '../../runner/redis/redis-server.ts';
import { killAllServices, startService, until } from '../helpers/services.ts';

const DAGS = 'test/fixtures/reliability-dags';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  killAllServices();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => killAllServices());

/** A redis-server with AOF in a folder of its own, restartable on the same port and data. */
async function persistentRedis() {
  const dir = await mkdtemp(join(tmpdir(), 'runway-aof-'));
  let server: RedisServer = await startRedisServer({ persistence: true, dir });
  const port = server.port;
  cleanups.push(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    url: server.url,
    crash: async () => {
      const exited = new Promise((resolve) => server.process.once('exit', resolve));
      server.process.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      server = await startRedisServer({ persistence: true, dir, port });
    },
  };
}

async function scenario(url: string) {
  const prefix = `{outage-${randomUUID().slice(0, 8)}}`;
  const { registry } = await loadDagRegistry(DAGS);
  const redis = connectRedis(url);
  redis.on('error', () => undefined);
  const quiet = { info: () => {}, warn: () => {}, error: () => {} };
  const engine = new Engine({ redis, registry, prefix, env: {}, log: quiet });
  cleanups.push(async () => {
    await engine.close();
    redis.disconnect();
  });
  const args = ['--dags', DAGS, '--redis-url', url, '--prefix', prefix];
  const scheduler = startService(['scheduler', ...args, '--tick', '500']);
  const worker = startService(['worker', ...args, '--concurrency', '8']);
  await Promise.all([scheduler.waitFor(/scheduler started/), worker.waitFor(/worker started/)]);
  const trigger = async (count: number, from: number) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const logicalDate = new Date(Date.UTC(2026, 0, 1) + (from + i) * 60_000);
      ids.push((await triggerDag(engine, 'data_lake__steady', { logicalDate })).runId);
    }
    return ids;
  };
  const allFinished = (ids: string[], timeoutMs: number) =>
    until(
      'the runs to finish',
      async () => {
        const runs = await Promise.all(
          ids.map((id) => engine.store.getRun('data_lake__steady', id).catch(() => undefined)),
        );
        return runs.every((r) => r && isRunFinished(r.state)) ? runs : undefined;
      },
      timeoutMs,
    );
  return { engine, scheduler, worker, trigger, allFinished };
}

describe('Redis restarts', () => {
  it('from its AOF after a SIGKILL in the middle of runs: every run completes', async () => {
    const redis = await persistentRedis();
    const { trigger, allFinished } = await scenario(redis.url);
    const ids = await trigger(20, 0);
    // Past appendfsync everysec: the runs themselves are on disk; what is in flight is not.
    await new Promise((r) => setTimeout(r, 1_500));
    const crashedAt = Date.now();
    await redis.crash();
    await new Promise((r) => setTimeout(r, 2_000));
    await redis.restart();
    const runs = await allFinished(ids, 120_000);
    const states = runs.map((r) => r!.state);
    console.log(
      [
        'Redis SIGKILLed mid-run and restarted from its AOF (appendfsync everysec) after 2 s',
        `  runs: ${states.filter((s) => s === 'success').length} of ${ids.length} success, all ended ${((Date.now() - crashedAt) / 1_000).toFixed(1)} s after the crash`,
      ].join('\n'),
    );
    expect(states).toEqual(ids.map(() => 'success'));
  }, 180_000);
});

describe('Redis unreachable for 30 s', () => {
  it('has the scheduler and worker log it, retry, and recover without a restart', async () => {
    const redis = await persistentRedis();
    const { scheduler, worker, trigger, allFinished } = await scenario(redis.url);
    const before = await trigger(5, 0);
    await allFinished(before, 60_000);

    const downAt = Date.now();
    await redis.crash();
    await new Promise((r) => setTimeout(r, 30_000));
    await redis.restart();
    const backAt = Date.now();
    const after = await trigger(5, 100);
    const runs = await allFinished(after, 120_000);
    const recoveredIn = (Date.now() - backAt) / 1_000;

    // The services' output is piped, so their lines are JSON: show a line's message.
    const shown = (line: string | undefined) =>
      line === undefined ? '-' : line.startsWith('{') ? String((JSON.parse(line) as { msg: unknown }).msg) : line;
    const logLines = (text: string) =>
      text.split('\n').filter((line) => /Redis at redis:\/\/127\.0\.0\.1:\d+: /.test(line));
    console.log(
      [
        `Redis unreachable for ${((backAt - downAt) / 1_000).toFixed(0)} s under a running scheduler and worker`,
        `  scheduler logged ${logLines(scheduler.output()).length} distinct Redis errors, e.g. ${shown(logLines(scheduler.output())[0])}`,
        `  worker logged ${logLines(worker.output()).length} distinct Redis errors`,
        `  5 runs triggered after Redis came back: ${runs.filter((r) => r!.state === 'success').length} success, ${recoveredIn.toFixed(1)} s later`,
        `  processes restarted: 0 (scheduler ${scheduler.child.exitCode === null ? 'still running' : 'EXITED'}, worker ${worker.child.exitCode === null ? 'still running' : 'EXITED'})`,
      ].join('\n'),
    );
    expect(runs.map((r) => r!.state)).toEqual(after.map(() => 'success'));
    expect(scheduler.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
    expect(logLines(scheduler.output()).length).toBeGreaterThan(0);
    expect(logLines(worker.output()).length).toBeGreaterThan(0);
    for (const service of [scheduler, worker]) {
      // Piped, so JSON lines.
      expect(service.output()).toMatch(/"level":"info".*"msg":"Redis at redis:\/\/127\.0\.0\.1:\d+: connected again"/);
      // One clear line per cause, never an unhandled error dump.
      expect(service.output()).not.toMatch(/^Error: /m);
    }
  }, 240_000);
});

describe('stopping while Redis is unreachable', () => {
  it('still ends the scheduler and the worker, within their bound, saying why', async () => {
    const redis = await persistentRedis();
    const prefix = `{stop-${randomUUID().slice(0, 8)}}`;
    const args = ['--dags', DAGS, '--redis-url', redis.url, '--prefix', prefix];
    const scheduler = startService(['scheduler', ...args]);
    const worker = startService(['worker', ...args, '--grace', '1']);
    await Promise.all([scheduler.waitFor(/scheduler started/), worker.waitFor(/worker started/)]);
    await redis.crash();
    await new Promise((r) => setTimeout(r, 1_000));
    const stoppedAt = Date.now();
    scheduler.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    const [schedulerCode, workerCode] = await Promise.all([scheduler.exited, worker.exited]);
    const seconds = (Date.now() - stoppedAt) / 1_000;
    console.log(
      `stop while Redis is down: scheduler exit ${schedulerCode}, worker exit ${workerCode}, ${seconds.toFixed(1)} s after SIGTERM`,
    );
    // The scheduler's bound is 15 s, the worker's its grace plus 15 s.
    expect(seconds).toBeLessThan(25);
    // A service that could not stop cleanly says why it exits anyway.
    for (const [service, code] of [
      [scheduler, schedulerCode],
      [worker, workerCode],
    ] as const) {
      if (code !== 0)
        expect(service.output()).toMatch(/not stopped \d+ s after SIGTERM \(is Redis reachable\?\): exiting now/);
    }
  }, 60_000);
});

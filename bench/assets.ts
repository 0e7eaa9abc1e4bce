/**
 * bench/assets: latency from a producing task's success to the first task of the asset-triggered
 * run it causes starting to run, over 200 events, one at a time, on a private redis-server
 * (hz 100) with one worker and one scheduler (2 s passes: the worker, not the scheduler, makes the
 * run). Both instants are the task instances' own records (`endedAt`, `startedAt`, ms).
 * Prints its figures; never asserted in tests. Run: `npm run bench:assets`.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { asset, dag } from '../runner/index.ts';
import { DagRegistry, prepareDag } from '../runner/loader/dag-registry.ts';
import { Engine } from '../runner/state/engine.ts';
import { connectRedis } from '../runner/redis/connect.ts';
import { startRedisServer } from '../runner/redis/redis-server.ts';
import { startWorker } from '../runner/services/worker.ts';
import { Scheduler } from '../runner/services/scheduler.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200);
const base = {
  description: 'Benchmark DAG: asset event to consumer run latency.',
  owner: 'data-platform',
  tags: ['data-lake'],
  schedule: null,
  timezone: 'UTC',
  startDate: '2026-01-01',
};
const landed = asset<{ n: number }>('s3://bench-lake/events/');
const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

let consumed: (runId: string) => void = () => undefined;
const producer = dag({ ...base, id: 'data_lake__bench_producer' }).task('land', { outlets: [landed] }, async (ctx) =>
  ctx.assets.setExtra(landed, { n: Number(ctx.runId.split('_').at(-1)) }),
);
const consumer = dag({ ...base, id: 'data_lake__bench_consumer', schedule: [landed] }).task(
  'transform',
  {},
  async (ctx) => consumed(ctx.runId),
);

const server = await startRedisServer({ hz: 100 });
const redis = connectRedis(server.url);
const workerConnection = connectRedis(server.url);
const engine = new Engine({
  redis,
  registry: new DagRegistry([prepareDag(producer), prepareDag(consumer)]),
  prefix: `{bench-${randomUUID().slice(0, 6)}}`,
  env: {},
});
const worker = startWorker(engine, workerConnection, { concurrency: 4 });
const scheduler = new Scheduler(engine, { tickMs: 2_000 });
scheduler.start();

const latencies: number[] = [];
const started = performance.now();
for (let i = 0; i < EVENTS; i++) {
  const runId = `manual__bench_${i}`;
  const done = new Promise<string>((resolve) => (consumed = resolve));
  const now = new Date();
  await engine.createRun(engine.loaded('data_lake__bench_producer'), {
    runId,
    runType: 'manual',
    start: now,
    end: now,
  });
  await engine.startQueuedRuns(engine.loaded('data_lake__bench_producer'));
  const consumerRun = await done;
  const land = (await engine.store.states('data_lake__bench_producer', runId, ['land'])).land!;
  const transform = (await engine.store.states('data_lake__bench_consumer', consumerRun, ['transform'])).transform!;
  latencies.push(transform.startedAt! - land.endedAt!);
}
const elapsed = (performance.now() - started) / 1_000;

console.log(
  `bench/assets: ${EVENTS} events, one at a time; ${cpus().length} CPU(s), load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log('  producing task success -> first task of the triggered run running');
console.log(
  `    p50 ${pct(latencies, 50).toFixed(0)} ms   p99 ${pct(latencies, 99).toFixed(0)} ms   max ${Math.max(...latencies)} ms   (target p50 <= 50 ms)`,
);
console.log(`    ${(EVENTS / elapsed).toFixed(1)} producer-consumer round trips a second`);

await scheduler.stop();
await worker.close(5_000);
await engine.close();
redis.disconnect();
workerConnection.disconnect();
await server.stop();

/**
 * bench/runner: Runway against raw BullMQ, side by side, on one private redis-server (hz 100),
 * at equal worker concurrency. Prints its figures; never asserted in tests.
 *   (a) throughput: a DAG of 1,000 independent no-op tasks vs 1,000 raw no-op jobs
 *   (b) hop latency: a chain of 200 no-op tasks vs a raw chain where each job adds the next
 *   (c) 10,000 waiting sensors: Redis bytes per waiting sensor and worker slots held
 *   (d) one task mapped over 1,000 elements vs 1,000 independent tasks (bench/mapped.ts)
 * Run: `npm run bench:runner`; one case alone: `npm run bench:runner -- --only mapped`
 * (throughput, hops, sensors, mapped; repeat the flag for several).
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { dag, type Sensor } from '../runner/index.ts';
import { DagRegistry, prepareDag, type AnyDag } from '../runner/loader/dag-registry.ts';
import { Engine } from '../runner/state/engine.ts';
import { connectRedis, type RedisClient } from '../runner/redis/connect.ts';
import { startRedisServer } from '../runner/redis/redis-server.ts';
import { startWorker } from '../runner/services/worker.ts';
import { mappedCase } from './mapped.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const CASES = ['throughput', 'hops', 'sensors', 'mapped'] as const;
const { only } = parseArgs({ options: { only: { type: 'string', multiple: true } } }).values;
const unknownCase = only?.find((name) => !(CASES as readonly string[]).includes(name));
if (unknownCase) throw new Error(`--only ${unknownCase}: the cases are ${CASES.join(', ')}`);
const selected = (name: (typeof CASES)[number]) => !only || only.includes(name);
const base = {
  description: 'Benchmark DAG comparing Runway with raw BullMQ.',
  owner: 'data-platform',
  tags: ['data-lake'],
  schedule: null,
  timezone: 'UTC',
  startDate: '2026-01-01',
};

const server = await startRedisServer({ hz: 100 });
const connections: RedisClient[] = [];
const connect = () => {
  const c = connectRedis(server.url);
  connections.push(c);
  return c;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

function startRunway(dags: AnyDag[], concurrency = CONCURRENCY) {
  const prefix = `{bench-${randomUUID().slice(0, 6)}}`;
  const engine = new Engine({
    redis: connect(),
    registry: new DagRegistry(dags.map((d) => prepareDag(d))),
    prefix,
    env: {},
  });
  const worker = startWorker(engine, connect(), { concurrency });
  return {
    engine,
    async close() {
      await worker.close(5_000);
      await engine.close();
    },
  };
}

async function runway(dags: AnyDag[], work: (engine: Engine) => Promise<void>, concurrency = CONCURRENCY) {
  const { engine, close } = startRunway(dags, concurrency);
  try {
    await work(engine);
  } finally {
    await close();
  }
}

let runs = 0;
async function trigger(engine: Engine, dagId: string): Promise<string> {
  const loaded = engine.loaded(dagId);
  const runId = `manual__${new Date().toISOString()}_${runs++}`;
  await engine.createRun(loaded, { runId, runType: 'manual', start: new Date(), end: new Date() });
  await engine.startQueuedRuns(loaded);
  return runId;
}

async function waitRun(engine: Engine, dagId: string, runId: string): Promise<void> {
  for (;;) {
    const run = await engine.store.getRun(dagId, runId);
    if (run?.state === 'success') return;
    if (run?.state === 'failed') throw new Error(`${dagId} failed`);
    await sleep(2);
  }
}

// (a) throughput: both sides warm up (the JIT keeps speeding both up for several rounds), then
// their rounds alternate, so that a slower spell of this shared machine falls on both ---------
const median = (values: number[]) => pct(values, 50);
const WARM_UP_ROUNDS = 5;
const MEASURED_ROUNDS = 9;

interface ThroughputSide {
  /** One round: n tasks or jobs from enqueue to the last one done; its wall time in ms. */
  round(): Promise<number>;
  close(): Promise<void>;
}

async function rawSide(n: number): Promise<ThroughputSide> {
  const prefix = `{raw-${randomUUID().slice(0, 6)}}`;
  const queue = new Queue('raw-a', { connection: connect(), prefix });
  let done = 0;
  let onDone = () => undefined as void;
  const worker = new Worker('raw-a', async () => null, { connection: connect(), prefix, concurrency: CONCURRENCY });
  worker.on('completed', () => {
    if (++done === n) onDone();
  });
  return {
    async round() {
      done = 0;
      const finished = new Promise<void>((resolve) => (onDone = resolve));
      const started = performance.now();
      await queue.addBulk(
        Array.from({ length: n }, (_, i) => ({ name: `job${i}`, data: {}, opts: { removeOnComplete: true } })),
      );
      await finished;
      return performance.now() - started;
    },
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}

async function runwaySide(n: number): Promise<ThroughputSide> {
  let d = dag({ ...base, id: 'data_lake__bench_wide', maxActiveTasks: n }) as ReturnType<typeof dag>;
  for (let i = 0; i < n; i++) d = d.task(`t${i}`, {}, async () => null) as never;
  const { engine, close } = startRunway([d]);
  return {
    async round() {
      const started = performance.now();
      const runId = await trigger(engine, 'data_lake__bench_wide');
      await waitRun(engine, 'data_lake__bench_wide', runId);
      return performance.now() - started;
    },
    close,
  };
}

async function throughput(n: number): Promise<{ raw: number[]; runway: number[] }> {
  const sides = { raw: await rawSide(n), runway: await runwaySide(n) };
  const times = { raw: [] as number[], runway: [] as number[] };
  for (let round = 0; round < WARM_UP_ROUNDS + MEASURED_ROUNDS; round++) {
    for (const side of ['raw', 'runway'] as const) {
      const ms = await sides[side].round();
      if (round >= WARM_UP_ROUNDS) times[side].push(ms);
    }
  }
  await sides.raw.close();
  await sides.runway.close();
  return times;
}

// (b) hop latency -------------------------------------------------------------------------------
async function rawHops(n: number): Promise<number[]> {
  const prefix = `{raw-${randomUUID().slice(0, 6)}}`;
  const queue = new Queue('raw-b', { connection: connect(), prefix });
  const starts: number[] = [];
  const ends: number[] = [];
  const finished = new Promise<void>((resolve) => {
    const worker = new Worker(
      'raw-b',
      async (job) => {
        const i = job.data.i as number;
        starts[i] = performance.now();
        ends[i] = performance.now();
        if (i + 1 < n) await queue.add('hop', { i: i + 1 }, { removeOnComplete: true });
        else void worker.close().then(resolve);
        return null;
      },
      { connection: connect(), prefix, concurrency: CONCURRENCY },
    );
  });
  await queue.add('hop', { i: 0 }, { removeOnComplete: true });
  await finished;
  await queue.close();
  return starts.slice(1).map((start, i) => start - ends[i]!);
}

async function runwayHops(n: number): Promise<number[]> {
  const starts: number[] = [];
  const ends: number[] = [];
  let d = dag({ ...base, id: 'data_lake__bench_chain' }) as ReturnType<typeof dag>;
  for (let i = 0; i < n; i++) {
    d = d.task(`t${i}`, i === 0 ? {} : { upstream: [`t${i - 1}`] as never[] }, async () => {
      starts[i] = performance.now();
      ends[i] = performance.now();
      return null;
    }) as never;
  }
  await runway([d], async (engine) => {
    const runId = await trigger(engine, 'data_lake__bench_chain');
    await waitRun(engine, 'data_lake__bench_chain', runId);
  });
  return starts.slice(1).map((start, i) => start - ends[i]!);
}

// (c) waiting sensors ---------------------------------------------------------------------------
async function waitingSensors(n: number): Promise<{ bytesEach: number; slotsHeld: number; delayed: number }> {
  const never: Sensor<null, { polls: number }> = {
    kind: 'never',
    config: {},
    sensor: { timeoutMs: 86_400_000, softFail: false },
    poke: async (ctx) => ({ done: false, pokeAgainInMs: 3_600_000, state: { polls: (ctx.state?.polls ?? 0) + 1 } }),
  };
  // DAGs of 1,000 sensors each: one DAG may have at most MAX_TASKS (2,000) tasks.
  const perDag = 1_000;
  const dags = Array.from({ length: Math.ceil(n / perDag) }, (_, k) => {
    let d = dag({ ...base, id: `data_lake__bench_sensors_${k}`, maxActiveTasks: perDag }) as ReturnType<typeof dag>;
    for (let i = 0; i < Math.min(perDag, n - k * perDag); i++) d = d.task(`s${i}`, {}, never) as never;
    return d;
  });
  const probe = connect();
  let result = { bytesEach: 0, slotsHeld: 0, delayed: 0 };
  await runway(
    dags,
    async (engine) => {
      const before = usedMemory(await probe.info('memory'));
      for (const d of dags) await trigger(engine, d.id);
      const queue = engine.queue('default');
      for (;;) {
        const counts = await queue.getJobCounts('delayed', 'active', 'waiting', 'prioritized');
        if (counts.delayed === n) {
          const after = usedMemory(await probe.info('memory'));
          result = { bytesEach: (after - before) / n, slotsHeld: counts.active ?? 0, delayed: counts.delayed };
          break;
        }
        await sleep(100);
      }
    },
    CONCURRENCY,
  );
  return result;
}

function usedMemory(info: string): number {
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

// ------------------------------------------------------------------------------------------------
const redisVersion = /redis_version:([\d.]+)/.exec(await connect().info('server'))?.[1];
console.log(`bench/runner — ${new Date().toISOString()}`);
console.log(
  `machine: ${availableParallelism()} cores (${cpus()[0]?.model.trim()}), node ${process.version}, redis ${redisVersion} (hz 100, no persistence)`,
);
console.log(
  `worker concurrency ${CONCURRENCY} for both; the raw peer is BullMQ ${(await import('bullmq/package.json', { with: { type: 'json' } })).default.version}\n`,
);

if (selected('throughput')) {
  const { raw: rawRounds, runway: rwRounds } = await throughput(1_000);
  const rawA = median(rawRounds);
  const rwA = median(rwRounds);
  console.log(
    `(a) 1,000 independent no-op tasks (median of ${MEASURED_ROUNDS} alternating rounds after ${WARM_UP_ROUNDS} warm-up rounds)`,
  );
  console.log(
    `    rounds: raw ${rawRounds.map((t) => t.toFixed(0)).join(', ')} ms; Runway ${rwRounds.map((t) => t.toFixed(0)).join(', ')} ms`,
  );
  console.log(`    raw BullMQ   ${rawA.toFixed(0).padStart(6)} ms   ${(1_000_000 / rawA).toFixed(0)} jobs/s`);
  console.log(
    `    Runway       ${rwA.toFixed(0).padStart(6)} ms   ${(1_000_000 / rwA).toFixed(0)} tasks/s   ratio ${(rawA / rwA).toFixed(2)} of raw (target >= 0.67)`,
  );
}

if (selected('hops')) {
  const rawB = await rawHops(200);
  const rwB = await runwayHops(200);
  console.log('\n(b) chain of 200 no-op tasks: hop = upstream end -> downstream start');
  console.log(`    raw BullMQ   p50 ${pct(rawB, 50).toFixed(2)} ms   p99 ${pct(rawB, 99).toFixed(2)} ms`);
  console.log(
    `    Runway       p50 ${pct(rwB, 50).toFixed(2)} ms   p99 ${pct(rwB, 99).toFixed(2)} ms   (target p50 <= 2 ms, p99 <= 15 ms)`,
  );
}

if (selected('sensors')) {
  const sensors = await waitingSensors(10_000);
  console.log('\n(c) 10,000 waiting sensors (reschedule mode)');
  console.log(`    delayed jobs ${sensors.delayed}, worker slots held ${sensors.slotsHeld} (target 0)`);
  console.log(`    Redis memory per waiting sensor ${(sensors.bytesEach / 1024).toFixed(2)} KB (target <= 2 KB)`);
}

if (selected('mapped')) {
  const mappedRounds = 9;
  const mapped = await mappedCase(1_000, mappedRounds, { base, startRunway, trigger, waitRun, probe: connect() });
  const ratio = median(mapped.mappedMs) / median(mapped.independentMs);
  console.log(
    `\n(d) one task mapped over 1,000 elements vs 1,000 independent tasks (median of ${mappedRounds} rounds)`,
  );
  console.log(
    `    rounds: mapped ${mapped.mappedMs.map((t) => t.toFixed(0)).join(', ')} ms; independent ${mapped.independentMs.map((t) => t.toFixed(0)).join(', ')} ms`,
  );
  console.log(
    `    time           mapped ${median(mapped.mappedMs).toFixed(0)} ms   independent ${median(mapped.independentMs).toFixed(0)} ms   ratio ${ratio.toFixed(2)} (target <= 1.2)`,
  );
  console.log(
    `    Redis bytes    mapped ${mapped.mappedBytesEach.toFixed(0)} B/instance   independent ${mapped.independentBytesEach.toFixed(0)} B/instance   ratio ${(mapped.mappedBytesEach / mapped.independentBytesEach).toFixed(2)} (target <= 1.2)`,
  );
  console.log(
    `      (keys' MEMORY USAGE, BullMQ's bounded event stream left out; Redis used_memory delta: mapped ${mapped.mappedUsedMemoryEach.toFixed(0)}, independent ${mapped.independentUsedMemoryEach.toFixed(0)} B/instance, ratio ${(mapped.mappedUsedMemoryEach / mapped.independentUsedMemoryEach).toFixed(2)})`,
  );
  console.log(
    `    upstream end -> first mapped instance running   p50 ${pct(mapped.firstIndexMs, 50).toFixed(2)} ms   max ${Math.max(...mapped.firstIndexMs).toFixed(2)} ms (target p50 <= 5 ms)`,
  );
  console.log(
    `    the same hop to one plain task (its floor)      p50 ${pct(mapped.plainHopMs, 50).toFixed(2)} ms   max ${Math.max(...mapped.plainHopMs).toFixed(2)} ms`,
  );
}

for (const c of connections) c.disconnect();
await server.stop();

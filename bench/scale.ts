/**
 * bench/scale: what one scheduler costs with 100, 1,000 and 2,000 DAGs (3-task chains on
 * `*\/5 * * * *`), each size in a fresh process on a private redis-server:
 *   - start: loading the DAG folder (validate in isolation, then import) plus the first pass;
 *   - RSS of that process once loaded (a scheduler's; the worker starts after it is read);
 *   - an idle pass (nothing due, no run active): median time and the commands Redis executed;
 *   - a boundary where every DAG is due, with one worker of concurrency 16 in a process of its own
 *     (`runway worker` on the same folder and Redis, as deployed): creation lag (run created -
 *     interval end) and start lag (first task started - interval end).
 * The scheduler's clock is shifted so that the boundary comes a few seconds after the warm-up
 * instead of waiting for a real one. Targets at 2,000 DAGs: idle pass <= 50 ms and O(1) Redis
 * calls; lag p50 <= 1 s, p99 <= 3 s.
 * Run: `npm run bench:scale [-- --sizes 100,1000] [--tick 1000] [--worker-concurrency 16]
 * [--prof DIR]` (`--prof`: the scheduler's and the worker's processes write `--cpu-prof` profiles
 * under DIR).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectRedis, type RedisClient } from '../runner/redis/connect.ts';
import { startRedisServer } from '../runner/redis/redis-server.ts';
import { Scheduler } from '../runner/services/scheduler.ts';
import { Engine } from '../runner/state/engine.ts';
import { redisRows, runBytes, type RunBytes } from './scale-redis-bytes.ts';
import { coldStart, loadLikeAService, startRows, type StartFigures } from './scale-start.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const flag = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1]!;
};
const FIVE_MINUTES = 300_000;
const IDLE_PASSES = 20;
const tickMs = Number(flag('--tick', '1000'));
const profDir = flag('--prof', '');
const workerConcurrency = Number(flag('--worker-concurrency', '16'));

interface SizeResult {
  dags: number;
  startS: number;
  loadS: number;
  rssMiB: number;
  idlePassMs: number;
  idleCommands: number;
  boundaryPassMs: number;
  bytesPerRun: number;
  runBytes: RunBytes;
  cold: StartFigures;
  creation: { p50: number; p99: number };
  start: { p50: number; p99: number };
  /**
   * CPU seconds from 3 s before the boundary until the watcher's read that finds every first task
   * started, 2 s after the boundary or later (NaN where unknown).
   */
  boundaryCpu: { scheduler: number; worker: number; redis: number };
  boundaryAlone: BoundaryCost;
}

/** What one scheduler pass costs Redis when every DAG is due, no worker running. */
interface BoundaryCost {
  passMs: number;
  /** Commands Redis executed (INFO commandstats), a script's own calls included. */
  commands: number;
  /** Calls from the client: scripts (EVALSHA/EVAL), MULTI blocks and other top-level commands. */
  scripts: number;
}

function dagSource(n: number): string {
  return [
    "import { dag } from 'runway';",
    '',
    'export default dag({',
    `  id: 'data_lake__scale_${n}',`,
    `  description: 'Generated five-minute DAG number ${n} for the scale benchmark.',`,
    "  owner: 'data-platform',",
    "  tags: ['data-lake'],",
    "  schedule: '*/5 * * * *',",
    "  timezone: 'UTC',",
    "  startDate: '2026-01-01',",
    '  catchup: false,',
    '})',
    "  .task('extract', {}, async () => 1)",
    "  .task('transform', { upstream: ['extract'] }, async () => 2)",
    "  .task('load', { upstream: ['transform'] }, async () => 3);",
    '',
  ].join('\n');
}

const dagIdsOf = (registry: { list(): readonly { summary: { dagId: string } }[] }) =>
  registry.list().map((d) => d.summary.dagId);
const pct = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench/scale: timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** Redis's `used_memory`, after the lazy frees of deleted keys have run. */
async function usedMemory(observer: RedisClient): Promise<number> {
  const info = await observer.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)![1]);
}

/** Redis's commandstats since the last reset, leaving out the observer's own INFO and CONFIG. */
async function commandCounts(observer: RedisClient): Promise<Record<string, number>> {
  const stats = await observer.info('commandstats');
  return Object.fromEntries(
    [...stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)]
      .filter((m) => !/^(info|config)/.test(m[1]!))
      .map((m) => [m[1]!, Number(m[2])]),
  );
}

/**
 * Jumps the clock 1 s past the next boundary and makes one pass, the worker stopped so that only
 * the scheduler's commands are counted: what every due DAG costs Redis.
 */
async function boundaryPassAlone(
  scheduler: Scheduler,
  observer: RedisClient,
  clock: () => number,
  shift: (ms: number) => void,
  size: number,
): Promise<BoundaryCost> {
  const at = clock();
  shift(Math.ceil(at / FIVE_MINUTES) * FIVE_MINUTES + 1_000 - at);
  await observer.config('RESETSTAT');
  const t = performance.now();
  const created = await scheduler.tick();
  const passMs = performance.now() - t;
  if (created !== size) throw new Error(`bench/scale: the lone boundary pass created ${created} of ${size} runs`);
  const counts = await commandCounts(observer);
  const commands = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return { passMs, commands, scripts: (counts.evalsha ?? 0) + (counts.eval ?? 0) };
}

/** The rows of `boundaryPassAlone` and of the lags, side by side for the sizes. */
function printBoundaryRows(
  results: readonly SizeResult[],
  row: (label: string, values: string[], target?: string) => void,
) {
  row(
    'boundary pass alone',
    results.map((r) => `${r.boundaryAlone.passMs.toFixed(0)} ms`),
  );
  row(
    '  Redis commands per due DAG',
    results.map((r) => (r.boundaryAlone.commands / r.dags).toFixed(1)),
  );
  row(
    '  scripts per due DAG',
    results.map((r) => (r.boundaryAlone.scripts / r.dags).toFixed(2)),
  );
}

/** The machine's 1/5/15-minute load averages: figures on a shared machine are read beside them. */
function loadAverage(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');
}

/**
 * `runway worker` in a process of its own, as deployed: it does not share the scheduler's event
 * loop. Resolves once it has loaded the folder and takes tasks.
 */
async function startWorkerProcess(folder: string, redisUrl: string, prefix: string): Promise<ChildProcess> {
  const args = [
    ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', join(profDir, 'worker')] : []),
    join(root, 'bin/runway.js'),
    'worker',
    ...['--dags', folder, '--redis-url', redisUrl, '--prefix', prefix],
    ...['--concurrency', String(workerConcurrency), '--log-format', 'json', '--grace', '5'],
  ];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, RUNWAY_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4_096);
      if (!seen.includes('worker started')) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve();
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`bench/scale: the worker exited (${code}) before it started`)));
  });
  return child;
}

/** CPU seconds a process has used (Linux's /proc; NaN elsewhere): read beside wall times on a loaded machine. */
async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, in clock ticks of 1/100 s (fields 14 and 15 of proc(5)).
  return fields.length > 13 ? (Number(fields[11]) + Number(fields[12])) / 100 : Number.NaN;
}

/** SIGTERM, as a deployment stops a worker, and its exit (which writes its profile). */
async function stopWorkerProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  await exited;
}

const cacheRootOf = (size: number) => join(root, `bench/out/scale-cache-${size}`);

/** The generated folder of `size` DAGs; rewriting it unchanged keeps what a restart verified. */
async function writeDagFolder(size: number): Promise<string> {
  const folder = join(root, `bench/out/scale-dags-${size}`);
  await mkdir(folder, { recursive: true });
  await Promise.all(Array.from({ length: size }, (_, n) => writeFile(join(folder, `dag_${n}.ts`), dagSource(n))));
  return folder;
}

/** One size, in this process (started fresh by `main`). */
async function measure(size: number): Promise<Omit<SizeResult, 'cold'>> {
  const folder = await writeDagFolder(size);
  const cleanups: (() => Promise<void>)[] = [];
  const server = await startRedisServer();
  const connections: RedisClient[] = [];
  const connect = () => {
    const connection = connectRedis(server.url);
    connections.push(connection);
    return connection;
  };
  const redis = connect();
  const observer = connect();
  try {
    // The clock starts a minute after a boundary; warm-up runs are those of the interval just ended.
    const realStart = Date.now();
    let offset = Math.ceil(realStart / FIVE_MINUTES) * FIVE_MINUTES + 60_000 - realStart;
    const now = () => new Date(Date.now() + offset);

    const started = performance.now();
    const { registry, startS: loadS, stop: stopSource } = await loadLikeAService(folder, cacheRootOf(size));
    cleanups.push(stopSource);
    if (registry.list().length !== size) throw new Error(`bench/scale: loaded ${registry.list().length} of ${size}`);
    const prefix = `{scale-${randomUUID().slice(0, 6)}}`;
    const engine = new Engine({ redis, registry, prefix, env: {} });
    const scheduler = new Scheduler(engine, { now, tickMs, quietMs: 0 });
    const memoryBefore = await usedMemory(observer);
    const warmCreated = await scheduler.tick();
    const startS = (performance.now() - started) / 1_000;
    const rssMiB = process.memoryUsage().rss / 1024 / 1024;
    if (warmCreated !== size) throw new Error(`bench/scale: warm-up created ${warmCreated} of ${size} runs`);

    const worker = await startWorkerProcess(folder, server.url, prefix);
    const idle = async () => (await redis.scard(engine.store.busyKey)) === 0;
    try {
      // Warm-up runs finish; passes meanwhile start and reconcile them.
      await until('the warm-up runs', async () => (await scheduler.tick()) >= 0 && (await idle()), 300_000);
      // The worker is paused (SIGSTOP: nothing of it active now) while idle passes are counted, so
      // that only the scheduler's commands are.
      worker.kill('SIGSTOP');
      const bytesPerRun = ((await usedMemory(observer)) - memoryBefore) / size;
      const warmRunId = (await engine.store.listRuns(registry.list()[0]!.summary.dagId, 1))[0]!.runId;
      const warmBytes = await runBytes(observer, engine, dagIdsOf(registry), warmRunId);

      await observer.config('RESETSTAT');
      const passes: number[] = [];
      for (let i = 0; i < IDLE_PASSES; i++) {
        const t = performance.now();
        if ((await scheduler.tick()) !== 0) throw new Error('bench/scale: an idle pass created a run');
        passes.push(performance.now() - t);
      }
      const stats = await observer.info('commandstats');
      const idleCommands =
        [...stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)]
          .filter((m) => !/^(info|config)/.test(m[1]!))
          .reduce((sum, m) => sum + Number(m[2]), 0) / IDLE_PASSES;

      const boundaryAlone = await boundaryPassAlone(
        scheduler,
        observer,
        () => now().getTime(),
        (ms) => (offset += ms),
        size,
      );
      worker.kill('SIGCONT');
      await until(
        'the runs of the lone boundary pass',
        async () => (await scheduler.tick()) >= 0 && (await idle()),
        300_000,
      );
      // Jump the clock to 3 s before the next boundary, then let the timed loop meet it. Not the
      // one after: the interval ending at the next boundary would be due at once, 2,000 more runs
      // made 3 s before the boundary and still running at it.
      const clock = now().getTime();
      const boundary = Math.ceil((clock + 3_000) / FIVE_MINUTES) * FIVE_MINUTES;
      if (boundary - FIVE_MINUTES > clock) throw new Error('bench/scale: the clock would jump past a boundary');
      offset += boundary - 3_000 - clock;
      const boundaryReal = boundary - offset;
      let boundaryPassMs = 0;
      const tick = scheduler.tick.bind(scheduler);
      scheduler.tick = async () => {
        const t = performance.now();
        const created = await tick();
        if (created > 0) boundaryPassMs = Math.max(boundaryPassMs, performance.now() - t);
        return created;
      };
      const cpuBefore = {
        scheduler: process.cpuUsage(),
        worker: await cpuSecondsOf(worker.pid!),
        redis: await cpuSecondsOf(server.process.pid!),
      };
      scheduler.start();
      const runId = `scheduled__${new Date(boundary - FIVE_MINUTES).toISOString()}`;
      const dagIds = registry.list().map((d) => d.summary.dagId);
      const creation: number[] = [];
      const firstStart: number[] = [];
      try {
        // First read 2 s after the boundary, then only the runs not seen started yet, once a
        // second: the watching runs in the scheduler's process and must not take its CPU or Redis
        // while the boundary's runs are made and started (the lags are the recorded timestamps, not
        // the time this loop notices them).
        await sleep(5_000);
        let waiting = dagIds;
        await until(
          'every run of the boundary to start its first task',
          async () => {
            const pipeline = redis.pipeline();
            for (const dagId of waiting) pipeline.hget(engine.store.key('ti', dagId, runId), 'extract');
            const rows = (await pipeline.exec()) ?? [];
            waiting = waiting.filter((_, i) => {
              const raw = rows[i]![1];
              return typeof raw !== 'string' || JSON.parse(raw).startedAt === undefined;
            });
            return waiting.length === 0;
          },
          300_000,
          1_000,
        );
      } finally {
        await scheduler.stop();
      }
      const { user, system } = process.cpuUsage(cpuBefore.scheduler);
      const boundaryCpu = {
        scheduler: (user + system) / 1e6,
        worker: (await cpuSecondsOf(worker.pid!)) - cpuBefore.worker,
        redis: (await cpuSecondsOf(server.process.pid!)) - cpuBefore.redis,
      };
      for (const dagId of dagIds) {
        const run = await engine.store.getRun(dagId, runId);
        const [ti] = Object.values(await engine.store.states(dagId, runId, ['extract']));
        creation.push((Date.parse(run!.createdAt) - boundaryReal) / 1_000);
        firstStart.push((ti!.startedAt! - boundaryReal) / 1_000);
      }
      return {
        dags: size,
        startS,
        loadS,
        rssMiB,
        idlePassMs: pct(passes, 50),
        idleCommands,
        boundaryPassMs,
        bytesPerRun,
        runBytes: warmBytes,
        creation: { p50: pct(creation, 50), p99: pct(creation, 99) },
        start: { p50: pct(firstStart, 50), p99: pct(firstStart, 99) },
        boundaryCpu,
        boundaryAlone,
      };
    } finally {
      await stopWorkerProcess(worker);
      await engine.close();
    }
  } finally {
    for (const connection of connections) connection.disconnect();
    await server.stop();
    for (const cleanup of cleanups) await cleanup();
    await rm(folder, { recursive: true, force: true });
    await rm(cacheRootOf(size), { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = flag('--sizes', '100,1000,2000').split(',').map(Number);
  const loadBefore = loadAverage();
  const results: SizeResult[] = [];
  for (const size of sizes) {
    await rm(cacheRootOf(size), { recursive: true, force: true });
    await rm(join(root, `bench/out/scale-dags-${size}`), { recursive: true, force: true });
    const cold = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--cold', String(size)],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const coldLine = cold.stdout.trim().split('\n').pop() ?? '';
    if (cold.status !== 0 || !coldLine.startsWith('{'))
      throw new Error(`bench/scale: size ${size} failed: ${coldLine}`);
    // A fresh process per size, so that RSS and start time are those of that size alone.
    const child = spawnSync(
      process.execPath,
      [
        ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', join(profDir, 'scheduler')] : []),
        ...['--import', 'tsx', fileURLToPath(import.meta.url), '--one', String(size), '--tick', String(tickMs)],
        ...(profDir ? ['--prof', profDir] : []),
        ...['--worker-concurrency', String(workerConcurrency)],
      ],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 },
    );
    const line = child.stdout.trim().split('\n').pop() ?? '';
    if (child.status !== 0 || !line.startsWith('{')) throw new Error(`bench/scale: size ${size} failed: ${line}`);
    results.push({ ...(JSON.parse(line) as SizeResult), cold: JSON.parse(coldLine) as StartFigures });
    process.stderr.write(`  ${size} DAGs measured\n`);
  }
  const cell = (values: string[]) => values.map((v) => v.padStart(12)).join('');
  const s = (n: number) => `${n.toFixed(2)} s`;
  console.log(
    `bench/scale: one scheduler, 3-task DAGs on */5 * * * *, tick ${tickMs} ms, one worker process of concurrency ${workerConcurrency} ` +
      `(${availableParallelism()} cores, node ${process.version})`,
  );
  console.log(`${'DAGs'.padEnd(30)}${cell(results.map((r) => String(r.dags)))}   target at 2,000`);
  const row = (label: string, values: string[], target = '') =>
    console.log(`${label.padEnd(30)}${cell(values)}   ${target}`);
  startRows(results, row);
  row(
    'restart + first pass',
    results.map((r) => s(r.startS)),
  );
  row(
    'scheduler RSS',
    results.map((r) => `${r.rssMiB.toFixed(0)} MiB`),
    '<= 250 MiB',
  );
  row(
    'idle pass (median)',
    results.map((r) => `${r.idlePassMs.toFixed(1)} ms`),
    '<= 50 ms',
  );
  row(
    'Redis commands per idle pass',
    results.map((r) => r.idleCommands.toFixed(1)),
    'O(1)',
  );
  row(
    'used_memory growth per run',
    results.map((r) => `${(r.bytesPerRun / 1024).toFixed(1)} KB`),
  );
  redisRows(results, row);
  printBoundaryRows(results, row);
  row(
    'pass at the boundary (longest)',
    results.map((r) => `${r.boundaryPassMs.toFixed(0)} ms`),
  );
  row(
    'creation lag p50 / p99 (s)',
    results.map((r) => `${r.creation.p50.toFixed(2)}/${r.creation.p99.toFixed(2)}`),
    'p50 <= 1 s, p99 <= 3 s',
  );
  row(
    'start lag p50 / p99 (s)',
    results.map((r) => `${r.start.p50.toFixed(2)}/${r.start.p99.toFixed(2)}`),
    'p50 <= 1 s, p99 <= 3 s',
  );
  row(
    '  CPU (s): sched/worker/redis',
    results.map(
      (r) =>
        `${r.boundaryCpu.scheduler.toFixed(1)}/${r.boundaryCpu.worker.toFixed(1)}/${r.boundaryCpu.redis.toFixed(1)}`,
    ),
  );
  console.log(`load average (1/5/15 min): ${loadBefore} before, ${loadAverage()} after`);
}

const one = process.argv.indexOf('--one');
const cold = process.argv.indexOf('--cold');
if (cold !== -1) {
  const size = Number(process.argv[cold + 1]);
  console.log(JSON.stringify(await coldStart(await writeDagFolder(size), cacheRootOf(size))));
  process.exit(0);
} else if (one === -1) {
  await main();
} else {
  console.log(JSON.stringify(await measure(Number(process.argv[one + 1]))));
  process.exit(0);
}

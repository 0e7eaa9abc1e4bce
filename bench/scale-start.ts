/**
 * Start-up and memory of the services at 2,000 DAGs (issue 20), and bench/scale's start-up columns.
 *
 * `npm run bench:scale-start [-- --dags N]` starts `runway scheduler` and `runway worker` as real
 * processes on a fresh folder of N DAG files and a private redis-server: the scheduler's first start
 * (cold: every file validated in isolation and bundled), a restart of each on the unchanged folder
 * (from the verified cache), their RSS at start and 5 s later (the scheduler's first pass has
 * created a run for each DAG by then; the worker has no task to run), and `runway dags list`, against
 * the targets. Build first (`npm run build`): bin/runway.js runs the TypeScript sources through tsx
 * when dist/ is older than them, which costs start-up time and memory.
 *
 * bench/scale's start-up columns. A scheduler or worker on a local folder loads it through a
 * `LocalDagSource` (validate in isolation, bundle, import); a restart on an unchanged folder takes
 * the bundles it verified before. Each is measured in a fresh process: the cold start first (which
 * fills the cache), then the restart, whose process goes on to the rest of the benchmark.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedisServer } from '../runner/redis/redis-server.ts';
import { DagRegistry } from '../runner/loader/dag-registry.ts';
import { LocalDagSource } from '../runner/deploy/local-dag-source.ts';
import type { Logger } from '../runner/core/operator.ts';

export interface StartFigures {
  /** Seconds to load the folder, and the RSS after, in MiB. */
  startS: number;
  rssMiB: number;
}

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: (m) => process.stderr.write(`${m}\n`) };

/** The folder's DAGs as a service loads them, with the bundle cache under `cacheRoot`. */
export async function loadLikeAService(folder: string, cacheRoot: string) {
  const registry = new DagRegistry();
  const source = new LocalDagSource(folder, registry, { log: quiet, cacheDir: join(cacheRoot, 'bundles') });
  const started = performance.now();
  await source.refresh();
  const startS = (performance.now() - started) / 1_000;
  return { registry, startS, stop: () => source.stop() };
}

/** The cold start, in this (fresh) process: nothing verified yet. */
export async function coldStart(folder: string, cacheRoot: string): Promise<StartFigures> {
  const { startS, stop } = await loadLikeAService(folder, cacheRoot);
  const rssMiB = process.memoryUsage().rss / 1024 / 1024;
  await stop();
  return { startS, rssMiB };
}

/** The rows bench/scale prints for start-up. */
export function startRows(
  results: readonly { dags: number; cold: StartFigures; loadS: number; rssMiB: number }[],
  row: (label: string, values: string[], target?: string) => void,
): void {
  row(
    'first start of a service',
    results.map((r) => `${r.cold.startS.toFixed(2)} s`),
  );
  row(
    '  its RSS',
    results.map((r) => `${r.cold.rssMiB.toFixed(0)} MiB`),
  );
  row(
    'restart, folder unchanged',
    results.map((r) => `${r.loadS.toFixed(2)} s`),
    '<= 5 s',
  );
}

// --- `npm run bench:scale-start`: the services themselves, as separate processes -----------------

const DAG_COUNT = Number(process.argv[process.argv.indexOf('--dags') + 1] || 2_000);
const TARGET_S = 5;
const TARGET_MIB = 250;
const repo = fileURLToPath(new URL('..', import.meta.url));

/** A five-minute 3-task chain, as bench/scale's; `salt` makes a fresh folder whose first start is cold. */
function dagSource(n: number, salt: string): string {
  return `// ${salt}
import { dag } from 'runway';

export default dag({
  id: 'data_lake__start_${n}',
  description: 'Generated five-minute DAG number ${n} for the start-up benchmark.',
  owner: 'data-platform',
  tags: ['data-lake'],
  schedule: '*/5 * * * *',
  timezone: 'UTC',
  startDate: '2026-01-01',
  catchup: false,
})
  .task('extract', {}, async () => 1)
  .task('transform', { upstream: ['extract'] }, async () => 2)
  .task('load', { upstream: ['transform'] }, async () => 3);
`;
}

/** RSS of a process, in MiB, from /proc. */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

interface ServiceStart {
  startS: number;
  /** RSS when it says it started, and a few seconds later (after the scheduler's first passes). */
  rssMiB: number;
  settledRssMiB: number;
}

/** Starts `runway <verb>` on the folder, times it to its "started" line, reads its RSS, stops it. */
async function startService(verb: 'scheduler' | 'worker', folder: string, redisUrl: string): Promise<ServiceStart> {
  const started = performance.now();
  // The worker on a prefix of its own: the scheduler's runs would have it running tasks as it starts.
  const prefix = `{bench-start-${verb}}`;
  const child = spawn(process.execPath, ['bin/runway.js', verb, '--dags', folder, '--prefix', prefix], {
    cwd: repo,
    env: { ...process.env, REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      const look = (chunk: Buffer) => {
        out += chunk.toString();
        if (new RegExp(`${verb} started`).test(out)) resolve();
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
      child.once('exit', () => reject(new Error(`bench/scale-start: ${verb} exited before it started:\n${out}`)));
    });
    const startS = (performance.now() - started) / 1_000;
    const rssMiB = await rssOf(child.pid!);
    await new Promise((r) => setTimeout(r, 5_000));
    return { startS, rssMiB, settledRssMiB: await rssOf(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** `runway dags list` on the folder, timed. */
function timeDagsList(folder: string): number {
  const started = performance.now();
  const listed = spawnSync(process.execPath, ['bin/runway.js', 'dags', 'list', '--dags', folder], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (listed.status !== 0) throw new Error(`bench/scale-start: dags list failed: ${listed.stderr}`);
  return (performance.now() - started) / 1_000;
}

async function main(): Promise<void> {
  const folder = join(repo, `bench/out/start-dags-${DAG_COUNT}`);
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder, { recursive: true });
  const salt = `bench run ${new Date().toISOString()}`;
  await Promise.all(
    Array.from({ length: DAG_COUNT }, (_, n) => writeFile(join(folder, `dag_${n}.ts`), dagSource(n, salt))),
  );
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  const loadBefore = load();
  const redis = await startRedisServer();
  try {
    const cold = await startService('scheduler', folder, redis.url);
    const scheduler = await startService('scheduler', folder, redis.url);
    const worker = await startService('worker', folder, redis.url);
    const listS = timeDagsList(folder);
    const line = (label: string, value: string, target = '') =>
      console.log(`${label.padEnd(38)}${value.padStart(12)}   ${target}`);
    console.log(`${DAG_COUNT} DAG files, runway services as processes (bin/runway.js), node ${process.version}`);
    line('scheduler first start (cold)', `${cold.startS.toFixed(2)} s`);
    line('  its RSS at start / 5 s later', `${cold.rssMiB.toFixed(0)}/${cold.settledRssMiB.toFixed(0)} MiB`);
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT MET');
    const restartRows = (service: string, figures: typeof scheduler) => {
      line(
        `${service} restart, folder unchanged`,
        `${figures.startS.toFixed(2)} s`,
        `<= ${TARGET_S} s: ${verdict(figures.startS <= TARGET_S)}`,
      );
      line(
        '  its RSS at start / 5 s later',
        `${figures.rssMiB.toFixed(0)}/${figures.settledRssMiB.toFixed(0)} MiB`,
        `<= ${TARGET_MIB} MiB: ${verdict(figures.settledRssMiB <= TARGET_MIB)}`,
      );
    };
    restartRows('scheduler', scheduler);
    restartRows('worker', worker);
    line('runway dags list', `${listS.toFixed(2)} s`);
    console.log(`load average (1/5/15 min): ${loadBefore} before, ${load()} after`);
  } finally {
    await redis.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

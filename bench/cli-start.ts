/**
 * bench/cli-start: how long a `runway` verb takes from exec to exit, side by side with `node -e 0`
 * (the floor every Node program pays), median of 10 runs each, interleaved so that a busy moment of
 * the machine falls on every command alike. Also says whether a verb left a process behind in its
 * process group. Targets (issue 18): `--help` <= 0.3 s, `validate` of one DAG <= 0.8 s,
 * `dags list` on the examples <= 1 s. Run: `npm run bench:cli-start [-- --runs N]`. It builds dist/
 * first, then times each verb compiled (what users run) and from the sources through tsx (what a
 * checkout runs when its build is stale, and the tests), so the two sit side by side.
 */
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag === -1 ? 10 : Number(process.argv[runsFlag + 1]);

interface Case {
  label: string;
  args: string[];
  targetSeconds?: number;
  env?: NodeJS.ProcessEnv;
  /** Runs before each timing, outside it. */
  before?: () => void;
}

/** What `dags list` and the services verified before: a listing of unchanged files reads it instead of importing them. */
const forgetVerdicts = () => rmSync(join(root, '.runway', 'dag-bundles', 'verified'), { recursive: true, force: true });

const compiled: Case[] = [
  { label: 'node -e 0 (floor)', args: ['-e', '0'] },
  { label: 'runway --help', args: ['bin/runway.js', '--help'], targetSeconds: 0.3 },
  {
    label: 'runway validate <one DAG>',
    args: ['bin/runway.js', 'validate', 'dags/demo__local_pipeline.ts'],
    targetSeconds: 0.8,
  },
  { label: 'runway dags list', args: ['bin/runway.js', 'dags', 'list'], targetSeconds: 1 },
  // The first listing of a folder (or of files changed since): each file validated in isolation, then kept.
  { label: 'runway dags list, cold', args: ['bin/runway.js', 'dags', 'list'], before: forgetVerdicts },
  {
    label: 'runway tasks render',
    args: ['bin/runway.js', 'tasks', 'render', 'redshift_demo__orders_daily', 'stage_orders'],
  },
];
const fromSources: Case[] = compiled
  .filter((c) => c.targetSeconds !== undefined)
  .map((c) => ({ label: `${c.label} (sources)`, args: c.args, env: { ...process.env, RUNWAY_FROM_SOURCE: '1' } }));
const cases = [...compiled, ...fromSources];

const build = spawnSync(process.execPath, ['scripts/build.js'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) throw new Error('npm run build failed: the figures would not be of this code');

/** Runs one command in a process group of its own; resolves to its wall time and the group's leftovers. */
function timeOnce(
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ seconds: number; code: number | null; leftovers: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'ignore', detached: true });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      // A zombie (state Z) has ended; init reaps it. What counts is a process still running.
      const ps = spawnSync('ps', ['-o', 'stat=', '-g', String(child.pid)], { encoding: 'utf8' });
      const leftovers = ps.stdout.split('\n').filter((stat) => stat.trim() !== '' && !stat.startsWith('Z')).length;
      if (leftovers > 0) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone between ps and kill
        }
      }
      resolve({ seconds, code, leftovers });
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const samples = new Map<Case, { seconds: number[]; codes: Set<number | null>; leftovers: number }>(
  cases.map((c) => [c, { seconds: [], codes: new Set(), leftovers: 0 }]),
);
for (const c of cases) {
  c.before?.();
  await timeOnce(c.args, c.env); // warm the tsx cache and the page cache once
}
for (let round = 0; round < runs; round++) {
  for (const c of cases) {
    c.before?.();
    const result = await timeOnce(c.args, c.env);
    const sample = samples.get(c)!;
    sample.seconds.push(result.seconds);
    sample.codes.add(result.code);
    sample.leftovers += result.leftovers;
  }
}

console.log(
  `runway start-up, median of ${runs} runs (${availableParallelism()} cores, node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')})`,
);
let missed = 0;
for (const c of cases) {
  const { seconds, codes, leftovers } = samples.get(c)!;
  const m = median(seconds);
  const target =
    c.targetSeconds === undefined ? '' : `target <= ${c.targetSeconds} s: ${m <= c.targetSeconds ? 'met' : 'MISSED'}`;
  if (c.targetSeconds !== undefined && m > c.targetSeconds) missed++;
  console.log(
    `  ${c.label.padEnd(28)} ${m.toFixed(3)} s  (min ${Math.min(...seconds).toFixed(3)}, max ${Math.max(...seconds).toFixed(3)})` +
      `  exit ${[...codes].join('/')}  left behind ${leftovers}  ${target}`,
  );
}
console.log(`  ${missed} of ${cases.filter((c) => c.targetSeconds !== undefined).length} targets missed`);

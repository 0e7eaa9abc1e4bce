/**
 * bench/folder-rescan: the CPU a service on a local DAG folder spends rescanning it, every 2 s, when
 * nothing changed. A fresh scanner reads and hashes every file (what every rescan cost before the
 * stat check: 28 % of a worker's CPU at 2,000 DAGs in bench/scale's profile); the service's
 * scanner stats each file and reads none. Both on the same folder, alternating, in this process.
 * Run: `npm run bench:folder-rescan [-- --files N --rounds R]`.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FolderScanner, scanFolder } from '../runner/deploy/folder-scan.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const flag = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const files = flag('--files', 2000);
const rounds = flag('--rounds', 10);
/** Seconds between rescans in a service (LocalDagSource's pollEverySeconds). */
const RESCAN_EVERY_S = 2;

const dagSource = (n: number) =>
  [
    "import { dag } from 'runway';",
    "import { OWNER } from './_lib/owner.ts';",
    '',
    'export default dag({',
    `  id: 'data_lake__rescan_${n}',`,
    `  description: 'Generated DAG number ${n} for the rescan benchmark.',`,
    '  owner: OWNER,',
    "  tags: ['data-lake'],",
    "  schedule: '*/5 * * * *',",
    "  timezone: 'UTC',",
    "  startDate: '2026-01-01',",
    '})',
    "  .task('extract', {}, async () => 1)",
    "  .task('load', { upstream: ['extract'] }, async () => 2);",
    '',
  ].join('\n');

/** CPU milliseconds (user + system) of this process while `work` runs. */
async function cpuMs(work: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1_000;
}

async function main(): Promise<void> {
  const folder = join(root, `bench/out/rescan-dags-${files}`);
  await rm(folder, { recursive: true, force: true });
  await mkdir(join(folder, '_lib'), { recursive: true });
  await writeFile(join(folder, '_lib/owner.ts'), "export const OWNER = 'data-platform';\n");
  await Promise.all(Array.from({ length: files }, (_, n) => writeFile(join(folder, `dag_${n}.ts`), dagSource(n))));
  // Files changed in the last 2 s are read again on purpose (see folder-scan.ts): let them settle.
  await new Promise((r) => setTimeout(r, 2_500));

  const service = new FolderScanner(folder, root);
  await service.scan();
  const full: number[] = [];
  const statOnly: number[] = [];
  let reads = 0;
  for (let i = 0; i < rounds; i++) {
    full.push(await cpuMs(() => scanFolder(folder, root)));
    statOnly.push(await cpuMs(async () => (reads += (await service.scan()).reads)));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const share = (ms: number) => `${((ms / (RESCAN_EVERY_S * 1_000)) * 100).toFixed(1)} %`;
  const row = (label: string, values: string[], target = '') =>
    console.log(`${label.padEnd(44)}${values.map((v) => v.padStart(22)).join('')}  ${target}`);

  console.log(
    `bench/folder-rescan: ${files} DAG files, ${rounds} rounds, load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' / ')}`,
  );
  row('', ['read + hash every file', 'stat, read changed'], 'target');
  row('CPU per rescan of an unchanged folder (median)', [
    `${median(full).toFixed(1)} ms`,
    `${median(statOnly).toFixed(1)} ms`,
  ]);
  row(
    `share of one core, a rescan every ${RESCAN_EVERY_S} s`,
    [share(median(full)), share(median(statOnly))],
    '<= 5 %',
  );
  row('files read per unchanged rescan', [String(files + 1), String(reads / rounds)], '0');
  await rm(folder, { recursive: true, force: true });
}

await main();

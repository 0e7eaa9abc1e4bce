/**
 * bench/validate: how long `runway validate` takes on 1,000 generated DAG files of 10 tasks each,
 * and the peak memory of its whole process tree (the validator and its import children). Each
 * child is checked unchanged after every file (shared state, modules loaded, what is left running)
 * and reused; the files import only Runway, as most DAG files do.
 * Target on a 2-core machine: <= 10 s. Run: `npm run bench:validate [-- --files N]`.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeRss } from '../test/helpers/process-tree.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const filesFlag = process.argv.indexOf('--files');
const files = filesFlag === -1 ? 1000 : Number(process.argv[filesFlag + 1]);
const folder = join(root, 'bench/out/validate-dags');

function dagSource(n: number): string {
  const tasks = Array.from({ length: 10 }, (_, t) => {
    const upstream = t === 0 ? '' : `upstream: ['t${t - 1}'], `;
    return `  .task('t${t}', { ${upstream}retries: ${t % 3} }, async (ctx) => ({ n: ${t}, day: ctx.ds }))`;
  });
  return [
    "import { dag } from 'runway';",
    '',
    'export default dag({',
    `  id: 'data_lake__generated_${n}',`,
    `  description: 'Generated DAG number ${n} for the validate benchmark.',`,
    "  owner: 'data-platform',",
    "  tags: ['data-lake'],",
    `  schedule: '${n % 60} 2 * * *',`,
    "  timezone: 'Europe/Paris',",
    "  startDate: '2026-01-01',",
    '})',
    ...tasks,
    '',
  ].join('\n');
}

await rm(folder, { recursive: true, force: true });
await mkdir(folder, { recursive: true });
await Promise.all(Array.from({ length: files }, (_, n) => writeFile(join(folder, `dag_${n}.ts`), dagSource(n))));

const started = performance.now();
const child = spawn(process.execPath, ['bin/runway.js', 'validate', folder], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, treeRss(child.pid!))), 100);
const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
clearInterval(sampler);
const seconds = (performance.now() - started) / 1000;

console.log(
  `runway validate on ${files} DAG files x 10 tasks (${availableParallelism()} cores, node ${process.version})`,
);
console.log(`  exit code      ${code}  (${output.trim().split('\n').pop()})`);
console.log(`  wall time      ${seconds.toFixed(2)} s   (target <= 10 s)`);
console.log(
  `  peak RSS tree  ${(peak / 1024 / 1024).toFixed(0)} MiB (validator + import children, sampled every 100 ms)`,
);
await rm(folder, { recursive: true, force: true });
process.exitCode = code === 0 ? 0 : 1;

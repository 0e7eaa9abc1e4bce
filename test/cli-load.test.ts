import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/run-cli.ts';

const TRACER = fileURLToPath(new URL('./fixtures/trace/trace-imports.mjs', import.meta.url));
const HEAVY = /\/node_modules\/(bullmq|ioredis|@aws-sdk\/[^/]+|s3rver|prom-client)\//;
const dir = await mkdtemp(join(tmpdir(), 'runway-trace-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `node <nodeArgs>` with the tracer and resolves to the URLs of every module its own process loaded. */
async function modulesLoadedBy(name: string, nodeArgs: string[]): Promise<string[]> {
  const traceFile = join(dir, `${name.replace(/\W/g, '-')}.txt`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TRACER, ...nodeArgs], {
      cwd: REPO_ROOT,
      env: { ...process.env, RUNWAY_TRACE_FILE: traceFile },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
  expect(code).toBe(0);
  return (await readFile(traceFile, 'utf8')).split('\n');
}

const heavyPackagesAmong = (urls: string[]) => [
  ...new Set(urls.map((url) => HEAVY.exec(url)?.[1]).filter((name) => name !== undefined)),
];

/** Runs `runway ...args` and resolves to the packages among the modules its own process loaded. */
async function heavyPackagesLoadedBy(args: string[]): Promise<string[]> {
  const urls = await modulesLoadedBy(args.join('_'), ['bin/runway.js', ...args]);
  expect(urls.some((url) => url.endsWith('/runner/cli/main.ts'))).toBe(true);
  return heavyPackagesAmong(urls);
}

describe('a CLI verb loads only what it uses', () => {
  it.each([[['--help']], [['validate', 'dags/demo__local_pipeline.ts']], [['dags', 'list']], [['s3', '--help']]])(
    'runway %j loads neither BullMQ, ioredis, the AWS SDK, prom-client nor the local S3 server',
    async (args) => {
      expect(await heavyPackagesLoadedBy(args)).toEqual([]);
    },
  );

  it('importing the example DAGs, built from every operator, loads no AWS SDK (validate and dags list import each DAG file)', async () => {
    const files = (await readdir(join(REPO_ROOT, 'dags'))).filter((f) => f.endsWith('.ts'));
    const imports = files.map((f) => `await import(${JSON.stringify(join(REPO_ROOT, 'dags', f))});`).join(' ');
    const urls = await modulesLoadedBy('example-dags', ['--import', 'tsx', '--input-type=module', '-e', imports]);
    for (const name of [
      'glue/crawler',
      'redshift/unload',
      'redshift/statement',
      'stream/stream-quiescence',
      's3/s3-sync',
    ])
      expect(urls.some((url) => url.endsWith(`/operators/${name}.ts`) || url.endsWith(`/operators/${name}.js`))).toBe(
        true,
      );
    expect(heavyPackagesAmong(urls)).toEqual([]);
  });

  it('runway dags trigger --help lists the verb without loading it', async () => {
    expect(await heavyPackagesLoadedBy(['dags', 'trigger', '--help'])).toEqual([]);
  });
});

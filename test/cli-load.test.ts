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

/** Runs `runway ...args` and resolves to the packages among the modules its own process loaded. */
async function heavyPackagesLoadedBy(args: string[]): Promise<string[]> {
  const traceFile = join(dir, `${args.join('_').replace(/\W/g, '-')}.txt`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TRACER, 'bin/runway.js', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, RUNWAY_TRACE_FILE: traceFile },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
  expect(code).toBe(0);
  const urls = (await readFile(traceFile, 'utf8')).split('\n');
  expect(urls.some((url) => url.endsWith('/runner/cli/main.ts'))).toBe(true);
  return [...new Set(urls.map((url) => HEAVY.exec(url)?.[1]).filter((name) => name !== undefined))];
}

describe('a CLI verb loads only what it uses', () => {
  it.each([[['--help']], [['validate', 'dags/demo__local_pipeline.ts']], [['dags', 'list']], [['s3', '--help']]])(
    'runway %j loads neither BullMQ, ioredis, the AWS SDK, prom-client nor the local S3 server',
    async (args) => {
      expect(await heavyPackagesLoadedBy(args)).toEqual([]);
    },
  );

  it('importing the example DAGs, built from every operator, loads no AWS SDK (validate and dags list import each DAG file)', async () => {
    const traceFile = join(dir, 'operator-dags.txt');
    const files = (await readdir(join(REPO_ROOT, 'dags'))).filter((f) => f.endsWith('.ts')).map((f) => `dags/${f}`);
    const code = await new Promise<number | null>((resolve, reject) => {
      const imports = files.map((f) => `await import(${JSON.stringify(join(REPO_ROOT, f))});`).join(' ');
      const child = spawn(
        process.execPath,
        ['--import', TRACER, '--import', 'tsx', '--input-type=module', '-e', imports],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, RUNWAY_TRACE_FILE: traceFile },
          stdio: 'ignore',
        },
      );
      child.on('error', reject);
      child.on('close', resolve);
    });
    expect(code).toBe(0);
    const urls = (await readFile(traceFile, 'utf8')).split('\n');
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
    expect([...new Set(urls.map((url) => HEAVY.exec(url)?.[1]).filter((name) => name !== undefined))]).toEqual([]);
  });

  it('runway dags trigger --help lists the verb without loading it', async () => {
    expect(await heavyPackagesLoadedBy(['dags', 'trigger', '--help'])).toEqual([]);
  });
});

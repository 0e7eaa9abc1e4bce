/**
 * A worker imports a DAG's module on that DAG's first task, not at start: a worker on a folder of
 * many DAGs that runs one DAG's task has imported that one only. Each DAG file writes a line to a
 * log when it is imported, with the id of the process importing it (validation imports each file
 * in child processes of its own, and the CLI imports what it triggers).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './helpers/run-cli.ts';
import { engineOver, killAllServices, startService, until } from './helpers/services.ts';
import { redisUrl } from './helpers/runway.ts';

const DAGS = 12;

/** A manual DAG whose module, on import, appends its id and version and the importing process's id to `log`. */
function dagFile(id: string, version: string, log: string): string {
  return `import { appendFileSync } from 'node:fs';
import { dag } from 'runway';

appendFileSync(${JSON.stringify(log)}, '${id}@${version} ' + process.pid + '\\n');

export default dag({
  id: '${id}',
  description: 'A DAG that says when its module is imported.',
  owner: 'data-platform',
  tags: ['demo'],
  schedule: null,
  timezone: 'UTC',
  startDate: '2026-01-01',
}).task('report', {}, async () => 1);
`;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  killAllServices();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A folder of DAGs inside the repository (so that its files resolve `runway`), a worker on it, and a way to run one DAG. */
async function workerOnFolder(workerFlags: readonly string[] = []) {
  const root = join(REPO_ROOT, '.runway', `test-lazy-${randomUUID().slice(0, 8)}`);
  const dags = join(root, 'dags');
  await mkdir(dags, { recursive: true });
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const log = join(root, 'imports.log');
  await writeFile(log, '');
  const ids = Array.from({ length: DAGS }, (_, n) => `demo__lazy_${n}`);
  await Promise.all(ids.map((id) => writeFile(join(dags, `${id}.ts`), dagFile(id, 'v1', log))));
  const prefix = `{lazy-${randomUUID().slice(0, 8)}}`;
  const env = { REDIS_URL: redisUrl() };
  const worker = startService(
    ['worker', '--dags', dags, '--prefix', prefix, '--log-format', 'pretty', ...workerFlags],
    env,
  );
  await worker.waitFor(/worker started/, 120_000);
  const { engine, close } = await engineOver(dags, prefix);
  cleanups.push(close);

  const importedByWorker = async () =>
    (await readFile(log, 'utf8'))
      .split('\n')
      .filter((line) => line.endsWith(` ${worker.child.pid}`))
      .map((line) => line.split(' ')[0]);
  const runOnce = async (dagId: string) => {
    const triggered = await runCli(['dags', 'trigger', dagId, '--dags', dags, '--prefix', prefix], { env });
    expect(triggered.code, triggered.stderr).toBe(0);
    const runId = /created (manual__\S+)/.exec(triggered.stdout)![1]!;
    await until(`${dagId}'s run to succeed`, async () =>
      (await engine.store.getRun(dagId, runId))?.state === 'success' ? true : undefined,
    );
    return importedByWorker();
  };
  return { dags, log, worker, importedByWorker, runOnce };
}

describe('a worker on a folder of many DAGs', () => {
  it('imports a DAG on its first task only, and runs a changed file new from its next task', async () => {
    const { dags, log, worker, importedByWorker, runOnce } = await workerOnFolder();
    expect(await importedByWorker()).toEqual([]);
    expect(await runOnce('demo__lazy_3')).toEqual(['demo__lazy_3@v1']);
    expect(await runOnce('demo__lazy_7')).toEqual(['demo__lazy_3@v1', 'demo__lazy_7@v1']);

    // Hot reload: the changed file is registered again, and its next task imports the new version.
    await writeFile(join(dags, 'demo__lazy_3.ts'), dagFile('demo__lazy_3', 'v2', log));
    await worker.waitFor(/DAGs from .*: updated demo__lazy_3/);
    expect(await runOnce('demo__lazy_3')).toEqual(['demo__lazy_3@v1', 'demo__lazy_7@v1', 'demo__lazy_3@v2']);
  }, 300_000);

  it('with --max-dags, finishes its task and exits 0 once it has imported more DAGs than that', async () => {
    const { worker, runOnce } = await workerOnFolder(['--max-dags', '1']);
    expect(await runOnce('demo__lazy_1')).toEqual(['demo__lazy_1@v1']);
    expect(await runOnce('demo__lazy_2')).toEqual(['demo__lazy_1@v1', 'demo__lazy_2@v1']);
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toMatch(/imported 2 DAGs, more than --max-dags 1; exiting for a fresh worker/);
  }, 300_000);
});

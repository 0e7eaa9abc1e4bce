/**
 * The DAG author's inner loop against a real `runway standalone`: files added, changed, broken and
 * removed while it runs apply without a restart (what the UI's API and the runs show), and the CLI
 * finds standalone's Redis from `.runway/standalone.json` with no flags.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callWeb } from './helpers/web-client.ts';
import { REPO_ROOT, runCli } from './helpers/run-cli.ts';
import { engineOver, killAllServices, startService, until } from './helpers/services.ts';
import { redisUrl } from './helpers/runway.ts';
import { chooseRedis } from '../runner/cli/runtime.ts';
import { findStandaloneAddress } from '../runner/cli/standalone-address.ts';

const BIN = join(REPO_ROOT, 'bin', 'runway.js');

/** A manual DAG file whose one task logs `says` and returns it. */
function dagFile(id: string, says: string, description = 'A DAG written while standalone runs.'): string {
  return `import { dag } from 'runway';

export default dag({
  id: '${id}',
  description: '${description}',
  owner: 'data-platform',
  tags: ['demo'],
  schedule: null,
  timezone: 'UTC',
  startDate: '2026-01-01',
}).task('say', {}, async (ctx) => {
  ctx.log.info('${says}');
  return { says: '${says}' };
});
`;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  killAllServices();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * A working folder as a user's: `dags` in it (a link to a folder inside the repository, so that the
 * DAG files resolve `runway`), standalone's `.runway` data beside it.
 */
async function workspace() {
  const id = randomUUID().slice(0, 8);
  const dags = join(REPO_ROOT, '.runway', `test-live-${id}`, 'dags');
  await mkdir(dags, { recursive: true });
  const cwd = await mkdtemp(join(tmpdir(), 'runway-live-'));
  await symlink(dags, join(cwd, 'dags'));
  cleanups.push(async () => {
    await rm(join(REPO_ROOT, '.runway', `test-live-${id}`), { recursive: true, force: true });
    await rm(cwd, { recursive: true, force: true });
  });
  return { cwd, dags };
}

function startStandalone(cwd: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', BIN, 'standalone', '--dags', 'dags', '--log-format', 'pretty'],
    {
      cwd,
      env: { ...process.env, REDIS_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  cleanups.push(async () => {
    if (child.exitCode !== null) return;
    // Ctrl-C first: standalone stops its private redis-server (in a process group of its own), which
    // a SIGKILL of standalone's group would leave running; SIGKILL only if it does not stop.
    process.kill(-child.pid!, 'SIGINT');
    const stopped = await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000, 'late'))]);
    if (stopped === 'late') process.kill(-child.pid!, 'SIGKILL');
  });
  return { child, output: () => out, exited };
}

interface DagRow {
  dagId: string;
  description: string;
  state: string;
  importError: { message: string } | null;
}

describe('a live DAG folder under runway standalone', () => {
  it('applies added, changed, broken and removed files without a restart; the CLI finds its Redis', async () => {
    const { cwd, dags } = await workspace();
    await writeFile(join(dags, 'demo__live_a.ts'), dagFile('demo__live_a', 'a says one'));
    const standalone = startStandalone(cwd);
    await until(
      'standalone to be up',
      async () => (/Runway is running/.test(standalone.output()) ? true : undefined),
      60_000,
    );

    const address = JSON.parse(await readFile(join(cwd, '.runway', 'standalone.json'), 'utf8')) as {
      redisUrl: string;
      webUrl: string;
      pid: number;
    };
    expect(address.pid).toBe(standalone.child.pid);
    expect(address.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    const api = async <T>(path: string, body?: unknown): Promise<T> =>
      (await callWeb(address.webUrl, path, body)).json as T;
    const dagRows = async () => (await api<{ dags: DagRow[] }>('/api/dags')).dags;
    const row = async (dagId: string) => (await dagRows()).find((d) => d.dagId === dagId);
    /** Waits for the run to end and returns what its task logged. */
    const ranAndSaid = async (dagId: string, runId: string) => {
      await until(`${dagId} ${runId} to succeed`, async () => {
        const grid = await api<{ runs: { runId: string; state: string }[] }>(`/api/dags/${dagId}/grid`);
        return grid.runs.find((r) => r.runId === runId)?.state === 'success' ? true : undefined;
      });
      const task = await api<{ logs: string[] }>(`/api/dags/${dagId}/runs/${encodeURIComponent(runId)}/tasks/say`);
      return task.logs.join('\n');
    };
    expect(await row('demo__live_a')).toMatchObject({ state: 'active', importError: null });

    // Added: it appears, and a trigger from the CLI with no flags reaches standalone's Redis.
    await writeFile(join(dags, 'demo__live_b.ts'), dagFile('demo__live_b', 'b says one'));
    await until('demo__live_b to be listed', async () => ((await row('demo__live_b')) ? true : undefined));
    const triggered = await runCli(['dags', 'trigger', 'demo__live_b'], { cwd, env: { REDIS_URL: '' } });
    expect(triggered.stderr).toContain(
      `runway: using the Redis of runway standalone (pid ${address.pid}) at ${address.redisUrl}, from .runway/standalone.json`,
    );
    expect(triggered.stderr).not.toContain('warning');
    expect(triggered.code).toBe(0);
    // Started at once; standalone's worker may even have finished it by the time the CLI reads it.
    const runB = /created (manual__\S+) \((running|success)\)/.exec(triggered.stdout)?.[1];
    expect(runB, triggered.stdout).toBeDefined();
    expect(await ranAndSaid('demo__live_b', runB!)).toContain('b says one');

    // Changed: its next run is the new version.
    await writeFile(join(dags, 'demo__live_a.ts'), dagFile('demo__live_a', 'a says two', 'The second version of A.'));
    await until('demo__live_a to be the new version', async () =>
      (await row('demo__live_a'))?.description === 'The second version of A.' ? true : undefined,
    );
    const runA2 = await api<{ runId: string; warning: string | null }>('/api/dags/demo__live_a/trigger', {});
    expect(runA2.warning).toBeNull();
    expect(await ranAndSaid('demo__live_a', runA2.runId)).toContain('a says two');

    // Broken: the last good version keeps running, and the list says so.
    await writeFile(
      join(dags, 'demo__live_a.ts'),
      `${dagFile('demo__live_a', 'a says three')}\nexport const oops = ;\n`,
    );
    const broken = await until('demo__live_a to show its import error', async () => {
      const a = await row('demo__live_a');
      return a?.importError ? a : undefined;
    });
    expect(broken.state).toBe('active');
    expect(broken.importError!.message).toMatch(/the previous version keeps running$/);
    expect(standalone.output()).toMatch(
      /ERROR (\[[^\]]*\] )?dags\/demo__live_a\.ts.*: .*the previous version keeps running/,
    );
    const runA3 = await api<{ runId: string }>('/api/dags/demo__live_a/trigger', {});
    expect(await ranAndSaid('demo__live_a', runA3.runId)).toContain('a says two');

    // Removed: it leaves the list; its past runs stay readable.
    await unlink(join(dags, 'demo__live_b.ts'));
    await until('demo__live_b to leave the list', async () => ((await row('demo__live_b')) ? undefined : true));
    const runs = await runCli(['runs', 'list', 'demo__live_b'], { cwd, env: { REDIS_URL: '' } });
    expect(runs.stdout).toContain(runB);

    process.kill(-standalone.child.pid!, 'SIGINT');
    const code = await standalone.exited;
    expect(code, `standalone's last output:\n${standalone.output().slice(-3000)}`).toBe(0);
    expect(existsSync(join(cwd, '.runway', 'standalone.json'))).toBe(false);
  }, 180_000);
});

describe('finding standalone, and runs no worker will take', () => {
  it('uses a live standalone.json from this folder or a parent, after --redis-url and REDIS_URL; ignores a dead pid', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'runway-find-'));
    cleanups.push(() => rm(cwd, { recursive: true, force: true }));
    await mkdir(join(cwd, '.runway'));
    await mkdir(join(cwd, 'sub'));
    const address = (pid: number, prefix = '{runway}') =>
      JSON.stringify({
        redisUrl: 'redis://127.0.0.1:7777',
        webUrl: 'http://127.0.0.1:8080',
        pid,
        prefix,
        startedAt: '',
      });
    const saved = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
    try {
      // A standalone killed without a clean exit leaves its file behind: its pid is dead.
      const dead = spawnSync(process.execPath, ['-e', '']).pid!;
      await writeFile(join(cwd, '.runway', 'standalone.json'), address(dead));
      expect(findStandaloneAddress(join(cwd, 'sub'))).toBeUndefined();
      expect(chooseRedis({}, join(cwd, 'sub'))).toEqual({
        url: 'redis://127.0.0.1:6379',
        prefix: '{runway}',
        from: 'default',
      });

      await writeFile(join(cwd, '.runway', 'standalone.json'), address(process.pid));
      expect(chooseRedis({}, join(cwd, 'sub'))).toEqual({
        url: 'redis://127.0.0.1:7777',
        prefix: '{runway}',
        from: 'standalone',
        note: `runway: using the Redis of runway standalone (pid ${process.pid}) at redis://127.0.0.1:7777, from ../.runway/standalone.json`,
      });
      // A standalone started with --prefix: a verb left at the default prefix follows it, an explicit one wins.
      await writeFile(join(cwd, '.runway', 'standalone.json'), address(process.pid, '{dev}'));
      expect(chooseRedis({ prefix: '{runway}' }, cwd)).toMatchObject({
        prefix: '{dev}',
        note: `runway: using the Redis of runway standalone (pid ${process.pid}) at redis://127.0.0.1:7777, prefix {dev}, from .runway/standalone.json`,
      });
      expect(chooseRedis({ prefix: '{mine}' }, cwd)).toMatchObject({ prefix: '{mine}', from: 'standalone' });
      expect(chooseRedis({ redisUrl: 'redis://flag:1' }, cwd)).toMatchObject({ url: 'redis://flag:1', from: 'flag' });
      process.env.REDIS_URL = 'redis://env:2';
      expect(chooseRedis({}, cwd)).toMatchObject({ url: 'redis://env:2', from: 'env' });
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });

  it('says no standalone is running when a dead one left its file and nothing answers on the default port', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'runway-dead-'));
    cleanups.push(() => rm(cwd, { recursive: true, force: true }));
    await mkdir(join(cwd, '.runway'));
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeFile(
      join(cwd, '.runway', 'standalone.json'),
      JSON.stringify({
        redisUrl: redisUrl(),
        webUrl: 'http://127.0.0.1:1',
        pid: dead,
        prefix: '{runway}',
        startedAt: '',
      }),
    );
    const run = await runCli(
      ['runs', 'list', 'demo__every_minute', '--dags', join(REPO_ROOT, 'test/fixtures/standalone-dags')],
      {
        cwd,
        env: { REDIS_URL: '' },
      },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain('using the Redis of runway standalone');
    expect(run.stderr).toMatch(
      /^runway: cannot reach Redis at redis:\/\/127\.0\.0\.1:6379: .*; no runway standalone is running here \(no live \.runway\/standalone\.json\): start one with `npm start`, or give --redis-url or REDIS_URL$/m,
    );
  });

  it('says at trigger time that no worker has the DAG loaded, and still creates the run', async () => {
    const prefix = `{rw-${randomUUID().slice(0, 8)}}`;
    const flags = ['--dags', 'test/fixtures/standalone-dags', '--prefix', prefix];
    const triggered = await runCli(['dags', 'trigger', 'demo__every_minute', ...flags], {
      env: { REDIS_URL: redisUrl() },
    });
    expect(triggered.code).toBe(0);
    const runId = /created (manual__\S+) \(running\)/.exec(triggered.stdout)![1]!;
    expect(triggered.stderr).toContain(
      `runway: warning: run ${runId}: no worker is running (none has reported in the last 15 s): its tasks wait until one starts`,
    );
  });
});

describe('a live DAG folder under a worker process', () => {
  it('holds a task of a DAG it has not loaded, says so at trigger time, and runs it once the file appears', async () => {
    const { dags } = await workspace();
    const elsewhere = join(dags, '..', 'elsewhere');
    await mkdir(elsewhere);
    await writeFile(join(dags, 'demo__procs_a.ts'), dagFile('demo__procs_a', 'a says hello'));
    await writeFile(join(elsewhere, 'demo__procs_x.ts'), dagFile('demo__procs_x', 'x says hello'));
    const prefix = `{rw-${randomUUID().slice(0, 8)}}`;
    const env = { REDIS_URL: redisUrl() };
    const worker = startService(['worker', '--dags', dags, '--prefix', prefix, '--log-format', 'pretty'], env);
    await worker.waitFor(/worker started/, 60_000);

    // The CLI reads a folder the worker does not: the run is created, and the trigger says who lacks it.
    const trigger = () =>
      runCli(['dags', 'trigger', 'demo__procs_x', '--dags', elsewhere, '--prefix', prefix], { env });
    const first = await trigger();
    expect(first.code).toBe(0);
    const runId = /created (manual__\S+) \(running\)/.exec(first.stdout)![1]!;
    expect(first.stderr).toMatch(
      new RegExp(
        `runway: warning: run ${runId.replaceAll('.', '\\.')}: no worker has DAG "demo__procs_x" loaded \\(1 running: \\S+:${worker.child.pid}\\)`,
      ),
    );
    await worker.waitFor(/DAG "demo__procs_x" is not loaded on this worker: its tasks wait/);
    const { engine, close } = await engineOver(elsewhere, prefix);
    cleanups.push(close);
    expect((await engine.store.snapshot('demo__procs_x', runId)).say!.state).toBe('scheduled');

    // The file appears in the worker's folder: the waiting task runs, and triggers are quiet again.
    await writeFile(join(dags, 'demo__procs_x.ts'), dagFile('demo__procs_x', 'x says hello'));
    await worker.waitFor(/DAGs from .*: added demo__procs_x/);
    const run = await until('the waiting run to succeed', async () => {
      const r = await engine.store.getRun('demo__procs_x', runId);
      return r?.state === 'success' ? r : undefined;
    });
    expect(run.state).toBe('success');
    expect((await engine.store.logs('demo__procs_x', runId, 'say', 1)).join('\n')).toContain('x says hello');
    const second = await until('a trigger with no warning', async () => {
      const t = await trigger();
      return t.stderr.includes('warning') ? undefined : t;
    });
    expect(second.code).toBe(0);
  }, 180_000);
});

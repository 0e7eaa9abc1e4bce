/**
 * Deadline alerts across real `runway scheduler` processes on real Redis: a run that misses its
 * deadline is told about exactly once (Slack and callback) with three schedulers racing for it,
 * a restarted scheduler does not tell again, and a run that finishes in time is not told about.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { triggerDag } from '../runner/state/operations.ts';
import { runCli } from './helpers/run-cli.ts';
import { redisUrl } from './helpers/runway.ts';
import { engineOver, killAllServices, startService, until, type Service } from './helpers/services.ts';

const DAGS = 'test/fixtures/deadline-dags';
/** A bound on each wait for a state, not a pace: five processes share a busy machine. */
const WAIT_MS = 90_000;

/** What the DAGs' notifiers posted: Slack's `{ text }` to `/`, the callback's context to `/callback`. */
interface Alert {
  path: string;
  body: { text?: string; runId?: string; state?: string; deadline?: string };
}
let hook: Server;
let hookUrl: string;
const alerts: Alert[] = [];
const alertsFor = (runId: string) =>
  alerts.filter((a) => a.body.runId === runId || a.body.text?.includes(` run ${runId} `));

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      alerts.push({ path: req.url ?? '/', body: JSON.parse(body) as Alert['body'] });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => hook.close(resolve)));
afterEach(() => killAllServices());

function service(kind: 'scheduler' | 'worker', prefix: string): Service {
  const args = ['--dags', DAGS, '--redis-url', redisUrl(), '--prefix', prefix];
  return startService(kind === 'scheduler' ? ['scheduler', ...args, '--tick', '100'] : ['worker', ...args], {
    RUNWAY_TEST_DEADLINE_HOOK: hookUrl,
  });
}

async function stop(services: readonly Service[]): Promise<void> {
  for (const s of services) s.child.kill('SIGTERM');
  const codes = await Promise.all(services.map((s) => s.exited));
  expect(codes).toEqual(services.map(() => 0));
}

describe('deadline alerts with several scheduler processes', () => {
  it('tell once of a missed deadline with three schedulers, not again after a restart, never for a run in time', async () => {
    const prefix = `{deadline-${randomUUID().slice(0, 8)}}`;
    const { engine, close } = await engineOver(DAGS, prefix);
    try {
      const schedulers = [service('scheduler', prefix), service('scheduler', prefix), service('scheduler', prefix)];
      const worker = service('worker', prefix);
      await Promise.all([...schedulers, worker].map((s) => s.waitFor(/started/, WAIT_MS)));

      const late = await triggerDag(engine, 'data_lake__late');
      const prompt = await triggerDag(engine, 'data_lake__prompt');
      // The prompt run ends long before its 15 s deadline; the late one's task is never taken.
      await until(
        'the prompt run to succeed',
        async () =>
          (await engine.store.getRun('data_lake__prompt', prompt.runId))?.state === 'success' ? true : undefined,
        WAIT_MS,
      );
      const missed = await until(
        'the late run to be recorded as told about',
        async () => {
          const miss = await engine.deadlines.missOf('data_lake__late', late.runId);
          return miss?.notifiedAt ? miss : undefined;
        },
        WAIT_MS,
      );
      expect(missed.state).toBe('running');
      const run = (await engine.store.getRun('data_lake__late', late.runId))!;
      expect(Date.parse(missed.deadline)).toBe(Date.parse(run.createdAt) + 1_000);
      // The prompt run's deadline passes, and a scheduler takes it off the watch list untold.
      await until(
        'the prompt run to leave the watch list',
        async () => ((await engine.redis.zcard(engine.deadlines.key)) === 0 ? true : undefined),
        WAIT_MS,
      );
      // Once they have stopped, nothing can still be in flight.
      await stop([...schedulers, worker]);

      expect(
        alertsFor(late.runId)
          .map((a) => a.path)
          .sort(),
      ).toEqual(['/', '/callback']);
      expect(alertsFor(late.runId).find((a) => a.path === '/')!.body.text).toBe(
        `Runway: DAG data_lake__late run ${late.runId} missed its deadline: not finished 1s after queuedAt (${missed.deadline}); it is running`,
      );
      expect(alertsFor(late.runId).find((a) => a.path === '/callback')!.body).toEqual({
        dagId: 'data_lake__late',
        runId: late.runId,
        state: 'running',
        deadline: missed.deadline,
      });
      expect(alertsFor(prompt.runId)).toEqual([]);
      expect(await engine.deadlines.missOf('data_lake__prompt', prompt.runId)).toBeUndefined();
      // Exactly one scheduler logged the miss.
      const logged = schedulers.filter((s) => s.output().includes(`missed its deadline`));
      expect(logged).toHaveLength(1);

      // A restarted scheduler: the first miss is not told again; a new late run is told once.
      const restarted = service('scheduler', prefix);
      await restarted.waitFor(/started/, WAIT_MS);
      const second = await triggerDag(engine, 'data_lake__late', { logicalDate: new Date(Date.now() + 1) });
      await until(
        'the second late run to be told about',
        async () => ((await engine.deadlines.missOf('data_lake__late', second.runId))?.notifiedAt ? true : undefined),
        WAIT_MS,
      );
      await stop([restarted]);
      expect(
        alertsFor(second.runId)
          .map((a) => a.path)
          .sort(),
      ).toEqual(['/', '/callback']);
      expect(alertsFor(late.runId)).toHaveLength(2);

      // The CLI's run list and the run's API answer show the miss.
      const list = await runCli(['runs', 'list', 'data_lake__late', '--redis-url', redisUrl(), '--prefix', prefix]);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`${late.runId.replace(/[.+]/g, '\\$&')}\\s.*missed ${missed.deadline}`));
      expect(list.stdout).toContain('deadline');
    } finally {
      await close();
    }
  }, 300_000);
});

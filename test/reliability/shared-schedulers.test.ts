/**
 * Several `runway scheduler` processes share the DAGs instead of each repeating the whole pass:
 * three split twelve DAGs (each one's metrics show passes over its share only), one is SIGKILLed
 * and the other two take its DAGs, and no run is ever created twice nor an interval skipped.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../runner/state/engine.ts';
import { redisUrl } from '../helpers/runway.ts';
import { engineOver, killAllServices, startService, until, type Service } from '../helpers/services.ts';

const DAGS = 'test/fixtures/shared-schedulers-dags';
const dagIds = Array.from({ length: 12 }, (_, i) => `data_lake__share_${String(i + 1).padStart(2, '0')}`);
const closers: (() => Promise<void>)[] = [];
afterEach(() => killAllServices());
afterAll(async () => {
  for (const close of closers) await close();
});

const service = (verb: string, prefix: string, extra: string[] = []) =>
  startService([verb, '--dags', DAGS, '--redis-url', redisUrl(), '--prefix', prefix, ...extra]);

/** The scheduler's count of passes that handled each DAG, from its /metrics. */
async function handledByDag(port: number): Promise<Map<string, number>> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const m of body.matchAll(/^runway_scheduler_dags_handled_total\{dag_id="([^"]+)"\} (\d+)/gm)) {
    counts.set(m[1]!, Number(m[2]));
  }
  return counts;
}

/** The DAGs whose count moved between two readings. */
const moved = (before: Map<string, number>, after: Map<string, number>) =>
  [...after].filter(([dagId, n]) => n > (before.get(dagId) ?? 0)).map(([dagId]) => dagId);

async function runCounts(engine: Engine): Promise<Map<string, number>> {
  const counts = await Promise.all(dagIds.map(async (id) => (await engine.store.listRuns(id, 10_000)).length));
  return new Map(dagIds.map((id, i) => [id, counts[i]!]));
}

describe('schedulers sharing the DAGs', () => {
  it('split them, take over those of one SIGKILLed, and never create a run twice', async () => {
    const prefix = `{share-${randomUUID().slice(0, 8)}}`;
    const { engine, close } = await engineOver(DAGS, prefix);
    closers.push(close);
    const schedulers: Service[] = [0, 1, 2].map(() =>
      service('scheduler', prefix, ['--tick', '200', '--health-port', '0']),
    );
    service('worker', prefix, ['--concurrency', '8']);
    await Promise.all(schedulers.map((s) => s.waitFor(/3 live scheduler\(s\) share the DAGs/, 60_000)));
    const ports = schedulers.map((s) => Number(/health and metrics on port (\d+)/.exec(s.output())![1]));

    // From here every pass of every scheduler sees the same three members.
    const before = await Promise.all(ports.map(handledByDag));
    const runsBefore = await runCounts(engine);
    await until(
      'every DAG to get two more runs',
      async () => {
        const now = await runCounts(engine);
        return dagIds.every((id) => now.get(id)! >= runsBefore.get(id)! + 2) ? true : undefined;
      },
      90_000,
    );
    const after = await Promise.all(ports.map(handledByDag));
    const shares = after.map((counts, i) => moved(before[i]!, counts).sort());
    console.log(`shared schedulers: shares of 12 DAGs ${shares.map((s) => s.length).join(' / ')}`);
    // Each DAG handled by exactly one scheduler: the shares are disjoint and cover every DAG.
    expect(shares.flat().sort()).toEqual([...dagIds].sort());

    const victim = shares.reduce((big, share, i) => (share.length > shares[big]!.length ? i : big), 0);
    const orphans = shares[victim]!;
    const survivors = schedulers.filter((_, i) => i !== victim);
    const runsAtKill = await runCounts(engine);
    const killedAt = Date.now();
    schedulers[victim]!.child.kill('SIGKILL');
    await Promise.all(survivors.map((s) => s.waitFor(/2 live scheduler\(s\) share the DAGs/, 60_000)));
    await until(
      "the killed scheduler's DAGs to get two more runs",
      async () => {
        const now = await runCounts(engine);
        return orphans.every((id) => now.get(id)! >= runsAtKill.get(id)! + 2) ? true : undefined;
      },
      90_000,
    );
    console.log(
      `shared schedulers: ${orphans.length} DAG(s) of the SIGKILLed one had two more runs ${((Date.now() - killedAt) / 1_000).toFixed(1)} s after`,
    );

    // No interval twice, none skipped: each DAG's runs are consecutive minutes from its start, and
    // each finished run's task ran once.
    for (const dagId of dagIds) {
      const runs = await engine.store.listRuns(dagId, 10_000);
      const minutes = runs
        .map((r) => (Date.parse(r.logicalDate) - Date.UTC(2026, 0, 1)) / 60_000)
        .sort((a, b) => a - b);
      expect(minutes).toEqual(minutes.map((_, i) => i));
      for (const run of runs.filter((r) => r.state === 'success')) {
        expect((await engine.store.snapshot(dagId, run.runId)).tick?.try).toBe(1);
      }
    }
  }, 240_000);
});

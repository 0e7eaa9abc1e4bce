/**
 * Three `runway scheduler` processes on one Redis race to turn the same asset events into runs.
 * Whatever their timing, every event is consumed by exactly one run of each consumer, and each run
 * satisfies its consumer's condition.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { engineOver, killAllServices, startService, until } from './helpers/services.ts';
import { redisUrl } from './helpers/runway.ts';
import { AssetTrigger } from '../runner/services/asset-trigger.ts';
import type { AssetEvent } from '../runner/core/asset.ts';

const DAGS = 'test/fixtures/asset-dags';
const EVENTS = 's3://lake-raw/events/';
const CLICKS = 's3://lake-raw/clicks/';
const CONSUMERS = {
  data_lake__asset_all: [EVENTS, CLICKS],
  data_lake__asset_any: [EVENTS, CLICKS],
  data_lake__asset_one: [EVENTS],
} as const;

afterEach(() => killAllServices());

describe('asset-triggered runs with three schedulers', () => {
  it('consume every event exactly once, each run on a satisfied condition', async () => {
    const prefix = `{rw-${randomUUID().slice(0, 8)}}`;
    const args = ['--dags', DAGS, '--redis-url', redisUrl(), '--prefix', prefix, '--tick', '20'];
    const schedulers = [0, 1, 2].map(() => startService(['scheduler', ...args]));
    await Promise.all(schedulers.map((s) => s.waitFor(/scheduler started/)));
    const { engine, close } = await engineOver(DAGS, prefix);
    try {
      const trigger = new AssetTrigger(engine);
      // Events land as the schedulers pass: one at a time, each asset in turn, some in pairs.
      let produced = 0;
      const emit = async (uri: string) => {
        produced++;
        const attempt = { dagId: 'data_lake__producer', runId: `r${produced}`, taskId: 'land', generation: 0 };
        await trigger.events.record({ ...attempt, tryNumber: 1 }, [
          { uri, sourceDagId: attempt.dagId, sourceRunId: attempt.runId, sourceTaskId: 'land' },
        ]);
      };
      // Rounds that wait for a pass, then a stream of events paced at the schedulers' own speed, so
      // that their passes read different states and race to consume overlapping events.
      for (let round = 0; round < 10; round++) {
        await emit(round % 3 === 0 ? CLICKS : EVENTS);
        if (round % 4 === 0) await Promise.all([emit(EVENTS), emit(CLICKS)]);
        await until('a scheduler to consume the round', async () => {
          const state = await trigger.events.consumerState('data_lake__asset_any', [EVENTS, CLICKS]);
          return [...state.assets.values()].every((a) => a.consumed === a.latest) ? true : undefined;
        });
      }
      for (let n = 0; n < 120; n++) {
        await emit(n % 2 === 0 ? EVENTS : CLICKS);
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
      // The all-of consumer may be left with news of one asset only (a pass took the other's last
      // event with an earlier one): it waits for the other, as Airflow's would. Once the any-of
      // consumer has caught up (so the passes have), each asset the all-of consumer has no news of
      // gets one more event, which makes its condition hold on everything that is left.
      await until('data_lake__asset_any to consume every event', async () => {
        const state = await trigger.events.consumerState('data_lake__asset_any', [EVENTS, CLICKS]);
        return [...state.assets.values()].every((a) => a.consumed === a.latest) ? true : undefined;
      });
      const allOf = await trigger.events.consumerState('data_lake__asset_all', [EVENTS, CLICKS]);
      for (const uri of [EVENTS, CLICKS]) {
        const asset = allOf.assets.get(uri)!;
        if (asset.consumed === asset.latest) await emit(uri);
      }
      // Every consumer has consumed everything: its cursors reached each asset's newest event.
      for (const [dagId, uris] of Object.entries(CONSUMERS)) {
        await until(`${dagId} to consume every event`, async () => {
          const state = await trigger.events.consumerState(dagId, uris);
          return [...state.assets.values()].every((a) => a.consumed === a.latest) ? true : undefined;
        });
      }
      const all = new Map<string, AssetEvent[]>();
      for (const uri of [EVENTS, CLICKS]) all.set(uri, await trigger.events.recentEvents(uri, 1_000));
      for (const [dagId, uris] of Object.entries(CONSUMERS)) {
        const runs = await engine.store.listRuns(dagId, 1_000);
        const perRun = await Promise.all(runs.map((run) => trigger.events.runEvents(dagId, run.runId)));
        const consumed = perRun.flat().map((e) => e.id);
        // Exactly once: no event in two runs, none missed.
        expect(new Set(consumed).size, dagId).toBe(consumed.length);
        const expected = uris.flatMap((uri) => all.get(uri)!.map((e) => e.id));
        expect(
          consumed.sort((a, b) => a - b),
          dagId,
        ).toEqual(expected.sort((a, b) => a - b));
        for (const events of perRun) {
          const seen = new Set(events.map((e) => e.uri));
          if (dagId === 'data_lake__asset_all') expect([...seen].sort(), dagId).toEqual([CLICKS, EVENTS]);
          else expect(seen.size, dagId).toBeGreaterThan(0);
        }
        expect(runs.every((run) => run.runType === 'asset_triggered')).toBe(true);
      }
      expect(all.get(EVENTS)!.length + all.get(CLICKS)!.length).toBe(produced);
    } finally {
      await close();
    }
  }, 120_000); // three service processes and ~150 events on a busy 2-core machine
});

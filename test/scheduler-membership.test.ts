import { afterEach, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { SchedulerMembership } from '../runner/state/scheduler-membership.ts';
import { Scheduler } from '../runner/services/scheduler.ts';
import { until } from './helpers/services.ts';
import { engineKeepingLog, testRunway, type TestRunway } from './helpers/runway.ts';

let runway: TestRunway;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await runway?.close();
});

const member = (options: ConstructorParameters<typeof SchedulerMembership>[2] = {}) => {
  const membership = new SchedulerMembership(runway.redis, runway.engine.store.key('schedulers'), {
    ttlMs: 400,
    beatMs: 100,
    ...options,
  });
  stops.push(() => membership.stop());
  return membership;
};

const daily = dag({
  id: 'data_lake__daily',
  description: 'A daily DAG, for a scheduler whose heartbeat Redis refuses.',
  owner: 'data-platform',
  tags: ['data-lake'],
  schedule: '0 3 * * *',
  timezone: 'UTC',
  startDate: '2026-01-01',
}).task('work', {}, async () => 1);

describe('live schedulers', () => {
  it('see each other; one that stops leaves at once, one that goes silent is dropped after its TTL', async () => {
    runway = testRunway([]);
    const changes: number[] = [];
    const a = member({ onChange: (members) => changes.push(members.length) });
    const b = member();
    // Its one heartbeat lasts long enough for a slow machine to see it before it lapses.
    const silent = member({ ttlMs: 3_000 });
    await Promise.all([a.start(), b.start()]);
    await silent.beat();
    await until('a to see three schedulers', async () => (a.members().length === 3 ? true : undefined));
    expect(a.members()).toEqual([a.id, b.id, silent.id].sort());

    await b.stop();
    await until('a to see b gone', async () => (a.members().includes(b.id) ? undefined : true));
    // The silent one wrote one heartbeat only: it lapses, and the others drop it.
    await until('a to drop the silent one', async () => (a.members().length === 1 ? true : undefined));
    expect(a.members()).toEqual([a.id]);
    expect(changes.at(-1)).toBe(1);
  });

  it('a scheduler whose heartbeat Redis refuses says so, and works as if alone meanwhile', async () => {
    runway = testRunway([daily]);
    const { engine, lines: warnings } = engineKeepingLog(runway, ['warn']);
    // A key of the wrong type makes every heartbeat fail, as a refusal would.
    await runway.redis.set(engine.store.key('schedulers'), 'not a sorted set');
    const scheduler = new Scheduler(engine, { tickMs: 60_000, membershipTtlMs: 400 });
    stops.push(async () => {
      await scheduler.stop();
      await engine.close();
    });
    scheduler.start();
    await until('the refused heartbeat to be reported', async () => (warnings.length > 0 ? true : undefined));
    expect(warnings[0]).toMatch(/^scheduler: heartbeat not written: .*WRONGTYPE.*\(tried again shortly\)$/);
    // Said once, not at every heartbeat.
    await scheduler.membership.beat();
    await scheduler.membership.beat();
    expect(warnings).toHaveLength(1);
    expect(scheduler.membership.members()).toEqual([scheduler.membership.id]);
    // Its first pass went ahead, alone: the DAG is in the due set with its next due time.
    await until('the first pass', async () =>
      (await runway.redis.zscore(engine.store.dueKey, 'data_lake__daily')) === null ? undefined : true,
    );
  });
});

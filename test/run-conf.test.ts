/**
 * A run's conf is the user's data: it reaches every task, and the run record, as it was given,
 * though the run scripts rewrite the record in Lua (where cjson turns `[]` into `{}` and rounds
 * numbers to 14 digits).
 */
import { afterEach, expect, it } from 'vitest';
import { dag } from 'runway';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { decodeRunRecord, encodeRunRecord } from '../runner/state/run-record-json.ts';

let runway: TestRunway;
afterEach(async () => {
  await runway?.close();
});

it("a run's conf with empty lists and a 16-digit number reaches a downstream task and the record unchanged", async () => {
  const conf = { ids: [], nested: { partitions: [] as string[] }, sinceMicros: 1733184000123456, ratio: 0.1 };
  const probe = dag({ id: 'data_lake__conf_kept', ...manualDag })
    .task('first', {}, async () => 'ok')
    .task('second', { upstream: ['first'] }, async (ctx) => ctx.params);
  runway = testRunway([probe]);
  runway.worker();
  const run = await runway.trigger('data_lake__conf_kept', conf);
  expect((await runway.waitForRun('data_lake__conf_kept', run.runId)).state).toBe('success');
  // Both went through the scripts that start and end the run.
  expect((await runway.engine.store.getRun('data_lake__conf_kept', run.runId))?.conf).toEqual(conf);
  const outputs = await runway.engine.store.outputs('data_lake__conf_kept', run.runId, ['second']);
  expect(outputs.second).toEqual(conf);
});

it('a record kept before the conf was stored as text is still read with its conf', () => {
  const stored = JSON.stringify({ dagId: 'data_lake__old', runId: 'manual__1', conf: { day: '2026-01-01' } });
  expect(decodeRunRecord(stored).conf).toEqual({ day: '2026-01-01' });
});

it('a record also keeps conf as an object, for a service of the previous version in a rolling update', () => {
  const run = {
    dagId: 'data_lake__rolling',
    runId: 'manual__1',
    state: 'queued' as const,
    runType: 'manual' as const,
    logicalDate: '2026-01-01T00:00:00.000Z',
    dataIntervalStart: '2026-01-01T00:00:00.000Z',
    dataIntervalEnd: '2026-01-01T00:00:00.000Z',
    conf: { day: '2026-01-01' },
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  expect((JSON.parse(encodeRunRecord(run)) as { conf: unknown }).conf).toEqual({ day: '2026-01-01' });
  expect(decodeRunRecord(encodeRunRecord(run))).toEqual(run);
});

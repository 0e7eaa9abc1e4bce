import { describe, expect, it } from 'vitest';
import { checkDag, findCycle } from '../runner/core/dag-checks.ts';
import { summary, task } from './helpers/summary.ts';

const rules = (s = summary()) => checkDag(s).map((p) => [p.rule, p.taskId ?? null]);

describe('checkDag', () => {
  it('accepts a well-formed DAG', () => {
    expect(checkDag(summary())).toEqual([]);
  });

  it('reports a cycle with its path, starting at a task on it', () => {
    const s = summary({ tasks: [task('a', ['c']), task('b', ['a']), task('c', ['b']), task('d', ['c'])] });
    expect(checkDag(s)).toEqual([
      { dagId: 'data_lake__unit', rule: 'cycle', message: 'cycle: a -> b -> c -> a', taskId: 'a' },
    ]);
  });

  it('reports a task that is its own upstream', () => {
    expect(rules(summary({ tasks: [task('a', ['a'])] }))).toEqual([['cycle', 'a']]);
  });

  it('finds no cycle in a diamond or a 50,000-task chain', () => {
    expect(findCycle([task('a'), task('b', ['a']), task('c', ['a']), task('d', ['b', 'c'])])).toBeUndefined();
    const chain = Array.from({ length: 50_000 }, (_, i) => task(`t${i}`, i === 0 ? [] : [`t${i - 1}`]));
    expect(findCycle(chain)).toBeUndefined();
    chain[0] = task('t0', ['t49999']);
    expect(findCycle(chain)?.length).toBe(50_001);
  });

  it('reports duplicate task ids, unknown upstream and bad ids by task', () => {
    expect(rules(summary({ tasks: [task('a'), task('a')] }))).toEqual([['duplicate-task-id', 'a']]);
    expect(rules(summary({ tasks: [task('a'), task('b', ['nope'])] }))).toEqual([['unknown-upstream', 'b']]);
    expect(rules(summary({ dagId: 'bad id', tasks: [task('a/b')] }))).toEqual([
      ['invalid-id', null],
      ['invalid-id', 'a/b'],
    ]);
  });

  it('reports an empty DAG, bad schedule, time zone and dates', () => {
    expect(rules(summary({ tasks: [] }))).toEqual([['empty-dag', null]]);
    expect(rules(summary({ schedule: '*/5 * * *' }))).toEqual([['invalid-schedule', null]]);
    expect(rules(summary({ schedule: '@fortnightly' }))).toEqual([['invalid-schedule', null]]);
    expect(rules(summary({ timezone: 'Mars/Olympus' }))).toEqual([['invalid-timezone', null]]);
    expect(rules(summary({ startDate: '01/02/2026' }))).toEqual([['invalid-start-date', null]]);
    expect(rules(summary({ startDate: '2026-03-01', endDate: '2026-02-01' }))).toEqual([['start-after-end', null]]);
    expect(rules(summary({ startDate: '2026-03-01', endDate: '2026-03-01T00:00' }))).toEqual([]);
  });
});

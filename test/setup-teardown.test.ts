/** How a run moves around setups and teardowns, decided by the pure core (no Redis). */
import { describe, expect, it } from 'vitest';
import { decideTransitions, runOutcome, type GraphTask } from '../runner/core/run-advance.ts';
import { stoppedByTimeout, withSetupsAndTeardowns } from '../runner/core/setup-teardown.ts';
import type { TaskInstanceState } from '../runner/core/trigger-rule.ts';

const setup = (id: string, upstream: string[] = []): GraphTask => ({
  id,
  upstream,
  triggerRule: 'all_success',
  role: 'setup',
});
const work = (id: string, upstream: string[]): GraphTask => ({ id, upstream, triggerRule: 'all_success' });
const teardown = (id: string, upstream: string[], failsRun = false): GraphTask => ({
  id,
  upstream,
  triggerRule: 'all_done_setup_success',
  role: 'teardown',
  ...(failsRun ? { failsRun } : {}),
});

// create_a, create_b >> load >> drop (drop pairs both setups)
const graph = [
  setup('create_a'),
  setup('create_b'),
  work('load', ['create_a', 'create_b']),
  teardown('drop', ['load', 'create_a', 'create_b']),
];

const teardownDecision = (states: Record<string, TaskInstanceState>) =>
  decideTransitions(graph, { ...states, drop: 'none' }).get('drop');

describe('a teardown decides on its setups once its upstream tasks are done', () => {
  it.each([
    [
      'runs after a failed task when a setup succeeded',
      { create_a: 'success', create_b: 'success', load: 'failed' },
      'scheduled',
    ],
    [
      'runs when one of two setups succeeded',
      { create_a: 'failed', create_b: 'success', load: 'upstream_failed' },
      'scheduled',
    ],
    [
      'is upstream_failed when no setup succeeded',
      { create_a: 'failed', create_b: 'failed', load: 'upstream_failed' },
      'upstream_failed',
    ],
    [
      'is skipped when every setup was skipped',
      { create_a: 'skipped', create_b: 'skipped', load: 'skipped' },
      'skipped',
    ],
    ['waits while a task between is running', { create_a: 'success', create_b: 'success', load: 'running' }, undefined],
  ] as const)('%s', (_name, states, expected) => {
    expect(teardownDecision(states)).toBe(expected);
  });

  it('cascades in one pass: a failed setup fails upstream the work and the teardown', () => {
    const decided = decideTransitions(graph, { create_a: 'failed', create_b: 'failed', load: 'none', drop: 'none' });
    expect(Object.fromEntries(decided)).toEqual({ load: 'upstream_failed', drop: 'upstream_failed' });
  });
});

describe("the run's state", () => {
  const done = { create_a: 'success', create_b: 'success', load: 'success' } as const;
  it('ignores a failed teardown', () => {
    expect(runOutcome(graph, { ...done, drop: 'failed' })).toBe('success');
  });
  it('fails with a teardown marked onFailureFailRun', () => {
    const strict = [...graph.slice(0, 3), teardown('drop', ['load', 'create_a', 'create_b'], true)];
    expect(runOutcome(strict, { ...done, drop: 'failed' })).toBe('failed');
  });
  it('fails when a task between failed, even though the teardown succeeded', () => {
    expect(runOutcome(graph, { ...done, load: 'failed', drop: 'success' })).toBe('failed');
  });
});

describe('what a clear takes along', () => {
  it('takes the setups and teardown of a failed task cleared alone (--only-failed)', () => {
    expect(withSetupsAndTeardowns(graph, ['load']).sort()).toEqual(['create_a', 'create_b', 'drop', 'load']);
  });
  it('leaves out a setup whose teardown is not below the cleared task', () => {
    // create_a's teardown drop_a is not downstream of other: clearing other reruns neither.
    const two = [setup('create_a'), work('other', []), teardown('drop_a', ['create_a'])];
    expect(withSetupsAndTeardowns(two, ['other'])).toEqual(['other']);
  });
});

describe('what a dagRunTimeout stops', () => {
  it('skips the unfinished work and setups not yet running, and keeps teardowns and running setups', () => {
    const states: Record<string, TaskInstanceState> = {
      create_a: 'running',
      create_b: 'scheduled',
      load: 'none',
      drop: 'none',
    };
    expect(stoppedByTimeout(graph, states).sort()).toEqual(['create_b', 'load']);
    // The setup kept running ends; the teardown then runs on the setup that succeeded.
    expect(
      decideTransitions(graph, { ...states, create_a: 'success', create_b: 'skipped', load: 'skipped' }).get('drop'),
    ).toBe('scheduled');
  });

  it("stops a mapped task's unfinished indexes with it, and leaves finished ones", () => {
    const mapped = [setup('create_a'), work('load', ['create_a']), teardown('drop', ['load', 'create_a'])];
    const states: Record<string, TaskInstanceState> = {
      create_a: 'success',
      load: 'running',
      'load[0]': 'success',
      'load[1]': 'up_for_retry',
      drop: 'none',
    };
    expect(stoppedByTimeout(mapped, states).sort()).toEqual(['load', 'load[1]']);
  });
});

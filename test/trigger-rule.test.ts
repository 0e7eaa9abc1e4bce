import { describe, expect, it } from 'vitest';
import {
  countUpstream,
  evaluateTriggerRule,
  TRIGGER_RULES,
  type TaskInstanceState,
  type TriggerDecision,
  type TriggerRule,
} from '../runner/core/trigger-rule.ts';
import { decideTransitions, runOutcome, skippedByControlFlow } from '../runner/core/run-advance.ts';

const UPSTREAMS: [string, TaskInstanceState[]][] = [
  ['success+success', ['success', 'success']],
  ['success+failed', ['success', 'failed']],
  ['success+skipped', ['success', 'skipped']],
  ['skipped+skipped', ['skipped', 'skipped']],
  ['failed+failed', ['failed', 'failed']],
  ['success+running', ['success', 'running']],
  ['failed+running', ['failed', 'running']],
  ['upstream_failed+skipped', ['upstream_failed', 'skipped']],
];

const R = 'run',
  S = 'skip',
  U = 'upstream_failed',
  W = 'wait';
// One row per rule, one column per upstream situation above: Airflow's semantics.
const EXPECTED: Record<TriggerRule, TriggerDecision[]> = {
  all_success: [R, U, S, S, U, W, U, U],
  all_failed: [S, S, S, S, R, S, W, S],
  all_done: [R, R, R, R, R, W, W, R],
  all_done_min_one_success: [R, R, S, S, U, W, W, S],
  all_skipped: [S, S, S, R, S, S, S, S],
  one_success: [R, R, R, S, U, R, W, U],
  one_failed: [S, R, S, S, R, W, R, R],
  one_done: [R, R, R, S, R, R, R, S],
  none_failed: [R, U, R, R, U, W, U, U],
  none_failed_min_one_success: [R, U, R, S, U, W, U, U],
  none_failed_or_skipped: [R, U, R, S, U, W, U, U],
  none_skipped: [R, R, S, S, R, W, W, S],
  // With no setup task upstream (Runway has none yet) Airflow's rule is all_done.
  all_done_setup_success: [R, R, R, R, R, W, W, R],
  always: [R, R, R, R, R, R, R, R],
};

describe('evaluateTriggerRule', () => {
  it('has a row for every trigger rule', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...TRIGGER_RULES].sort());
  });

  for (const rule of TRIGGER_RULES) {
    it(`${rule}`, () => {
      const decisions = UPSTREAMS.map(([, states]) => evaluateTriggerRule(rule, countUpstream(states)));
      expect(Object.fromEntries(UPSTREAMS.map(([name], i) => [name, decisions[i]]))).toEqual(
        Object.fromEntries(UPSTREAMS.map(([name], i) => [name, EXPECTED[rule][i]])),
      );
    });
  }

  it('runs a task with no upstream under any rule', () => {
    for (const rule of TRIGGER_RULES) expect(evaluateTriggerRule(rule, countUpstream([]))).toBe('run');
  });
});

describe('decideTransitions', () => {
  const graph = [
    { id: 'a', upstream: [], triggerRule: 'all_success' as const },
    { id: 'b', upstream: ['a'], triggerRule: 'all_success' as const },
    { id: 'c', upstream: ['b'], triggerRule: 'all_success' as const },
    { id: 'd', upstream: ['c'], triggerRule: 'all_done' as const },
  ];

  it('schedules roots, then cascades a failure as upstream_failed in one pass', () => {
    expect(decideTransitions(graph, { a: 'none', b: 'none', c: 'none', d: 'none' })).toEqual(
      new Map([['a', 'scheduled']]),
    );
    expect(decideTransitions(graph, { a: 'failed', b: 'none', c: 'none', d: 'none' })).toEqual(
      new Map([
        ['b', 'upstream_failed'],
        ['c', 'upstream_failed'],
        ['d', 'scheduled'],
      ]),
    );
    expect(runOutcome(graph, { a: 'failed', b: 'upstream_failed', c: 'upstream_failed', d: 'success' })).toBe(
      'success',
    );
    expect(runOutcome(graph, { a: 'success', b: 'success', c: 'failed', d: 'upstream_failed' })).toBe('failed');
    expect(runOutcome(graph, { a: 'success', b: 'running', c: 'none', d: 'none' })).toBeUndefined();
  });

  it('skips the branches a branching task did not choose, and everything after a short circuit', () => {
    const fork = [
      { id: 'choose', upstream: [], triggerRule: 'all_success' as const },
      { id: 'x', upstream: ['choose'], triggerRule: 'all_success' as const },
      { id: 'y', upstream: ['choose'], triggerRule: 'all_success' as const },
      { id: 'z', upstream: ['y'], triggerRule: 'all_done' as const },
    ];
    expect(skippedByControlFlow(fork, 'choose', { branch: true }, 'x')).toEqual(['y']);
    expect(skippedByControlFlow(fork, 'choose', { branch: true }, ['x', 'y'])).toEqual([]);
    expect(skippedByControlFlow(fork, 'choose', { shortCircuit: true }, false)).toEqual(['x', 'y', 'z']);
    expect(skippedByControlFlow(fork, 'choose', { shortCircuit: true }, { rows: 1 })).toEqual([]);
  });
});

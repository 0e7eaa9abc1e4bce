/** Runway's trigger rules against the cases of Airflow's own tests (`trigger-rule-rows.ts`). */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  countUpstream,
  evaluateTriggerRule,
  TRIGGER_RULES,
  type TaskInstanceState,
  type TriggerRule,
} from '../../runner/core/trigger-rule.ts';
import { countRows } from './row.ts';
import { TRIGGER_RULE_ROWS, type AirflowCounts, type RuleRow } from './trigger-rule-rows.ts';

const isRule = (name: string): name is TriggerRule => (TRIGGER_RULES as readonly string[]).includes(name);

function countsOf(counts: AirflowCounts, upstream: number, setups = 0) {
  const [success, skipped, failed, upstreamFailed, , done, setupSuccess = 0, setupSkipped = 0] = counts;
  return { total: upstream, success, skipped, failed, upstreamFailed, done, setup: setups, setupSuccess, setupSkipped };
}

function check(row: RuleRow): void {
  switch (row.kind) {
    case 'rule':
      if (!isRule(row.rule)) throw new Error(`Runway has no trigger rule ${row.rule}`);
      expect(evaluateTriggerRule(row.rule, countsOf(row.counts, row.upstream, row.setups))).toBe(row.expected);
      return;
    case 'count': {
      const c = countUpstream(row.states as TaskInstanceState[]);
      expect([c.success, c.skipped, c.failed, c.upstreamFailed, 0, c.done, 0, 0]).toEqual(row.counts);
      return;
    }
    case 'unknown':
      // The DAG options schema reads triggerRule with this enum: an unknown rule is refused at load.
      expect(z.enum(TRIGGER_RULES).safeParse(row.rule).success).toBe(false);
      return;
    case 'unwritable':
      throw new Error(`${row.source} has no Runway form and must carry a difference`);
  }
}

describe("trigger rules conform to Airflow's tests", () => {
  for (const row of TRIGGER_RULE_ROWS) {
    if (row.difference !== undefined) continue;
    it(row.source, () => check(row));
  }

  it('covers every rule Runway offers, and lists every row it does not run as a documented difference', () => {
    const covered = new Set(TRIGGER_RULE_ROWS.flatMap((r) => (r.kind === 'rule' && !r.difference ? [r.rule] : [])));
    expect([...TRIGGER_RULES].filter((r) => !covered.has(r))).toEqual([]);
    expect(countRows(TRIGGER_RULE_ROWS)).toEqual({ pass: 98, difference: 22 });
  });
});

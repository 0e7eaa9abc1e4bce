/**
 * The README's "Differences from Airflow" says what the tables say: every difference a row carries
 * is listed there with its reason, and its count of rows per area is the tables' count.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { countRows, DIFFERENCES, type ConformanceRow } from './row.ts';
import { RETRY_ROWS } from './retry-rows.ts';
import { SETUP_TEARDOWN_ROWS } from './setup-teardown-rows.ts';
import { SCHEDULE_ROWS } from './schedule-rows.ts';
import { TRIGGER_RULE_ROWS } from './trigger-rule-rows.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Differences from Airflow'), readme.indexOf('## Redis for production'));
const flat = (text: string) => text.replace(/\s+/g, ' ');
const tables: [string, readonly ConformanceRow[]][] = [
  ['schedules and data intervals (incl. DST)', SCHEDULE_ROWS],
  ['trigger rules', TRIGGER_RULE_ROWS],
  ['retry delays', RETRY_ROWS],
  ['setup and teardown', SETUP_TEARDOWN_ROWS],
];

describe('Differences from Airflow (README)', () => {
  it('lists each difference the tables carry, with its reason, and no other', () => {
    const reasons = new Set<string>(Object.values(DIFFERENCES).map((d) => d.reason));
    const used = new Set(tables.flatMap(([, rows]) => rows.flatMap((r) => (r.difference ? [r.difference] : []))));
    expect([...used].filter((reason) => !reasons.has(reason))).toEqual([]);
    expect([...reasons].filter((reason) => !used.has(reason))).toEqual([]);
    for (const { title, reason } of Object.values(DIFFERENCES)) {
      expect(flat(section)).toContain(flat(`- **${title}.** ${reason}`));
    }
  });

  it('gives each area the count of rows that pass and of documented differences', () => {
    for (const [area, rows] of tables) {
      const { pass, difference } = countRows(rows);
      expect(section).toMatch(
        new RegExp(`\\| ${area.replace(/[()]/g, '\\$&')}\\s*\\| ${pass}\\s*\\| ${difference}\\s*\\|`),
      );
    }
  });
});

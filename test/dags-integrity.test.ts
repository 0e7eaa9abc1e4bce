/** The DAGs this repository ships must import cleanly and meet the team policy: the CI gate, as a test. */
import { expect, it } from 'vitest';
import { loadPolicy } from '../runner/loader/load-policy.ts';
import { validate } from '../runner/loader/validate.ts';

it('every DAG in dags/ imports and passes checks and the team policy', async () => {
  const policy = await loadPolicy('runway.policy.json', { required: true });
  const report = await validate(['dags'], { policy });
  expect(report.problems).toEqual([]);
  expect(report.warnings).toEqual([]);
  expect(report.files.length).toBeGreaterThanOrEqual(2);
  expect(report.files.every((f) => f.dag !== undefined)).toBe(true);
});

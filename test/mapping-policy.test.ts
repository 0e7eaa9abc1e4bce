/** The team policy bounds how long a list a mapped task may take (`maxMapLength`). */
import { describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { summarizeDag } from '../runner/core/dag-summary.ts';
import { checkPolicy, policySchema } from '../runner/core/policy.ts';
import { manualDag } from './helpers/runway.ts';

const d = dag({ ...manualDag, id: 'data_lake__mapped_policy' })
  .task('list', {}, async () => [1, 2])
  .expand('default_length', { over: 'list' }, (n) => async () => n)
  .expand('long_lists', { over: 'list', maxMapLength: 5_000 }, (n) => async () => n);

const mapped = summarizeDag(d as unknown as Parameters<typeof summarizeDag>[0]);

describe('policy rule maxMapLength', () => {
  it("reports a mapped task whose maxMapLength is over the policy's, naming the task", () => {
    const policy = policySchema.parse({ rules: { maxMapLength: { max: 2_000 } } });
    expect(checkPolicy(mapped, policy)).toEqual([
      {
        dagId: 'data_lake__mapped_policy',
        rule: 'max-map-length',
        message: 'maxMapLength is 5000; the policy allows at most 2000',
        taskId: 'long_lists',
      },
    ]);
  });

  it('holds the default 1,024 against a lower team limit, and is off when disabled', () => {
    const strict = policySchema.parse({ rules: { maxMapLength: { max: 100 } } });
    expect(checkPolicy(mapped, strict).map((p) => p.taskId)).toEqual(['default_length', 'long_lists']);
    const off = policySchema.parse({ rules: { maxMapLength: { enabled: false } } });
    expect(checkPolicy(mapped, off)).toEqual([]);
  });
});

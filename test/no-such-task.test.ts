import { describe, expect, it } from 'vitest';
import { noSuchTask } from '../runner/state/operations.ts';

describe('noSuchTask', () => {
  it("lists at most 20 of the DAG's task ids, and says how many there are", () => {
    const ids = Array.from({ length: 25 }, (_, i) => `t${i}`);
    expect(noSuchTask('data_lake__wide', ids, 't99').message).toBe(
      `DAG "data_lake__wide" has no task "t99"; its tasks: ${ids.slice(0, 20).join(', ')}, … (25 in all)`,
    );
  });
});

/** `--map-index` on `tasks clear` and `tasks mark`: a bad value or a missing task exits 2, saying why. */
import { describe, expect, it } from 'vitest';
import { redisUrl } from './helpers/runway.ts';
import { runCli } from './helpers/run-cli.ts';

const DAGS = 'test/fixtures/mapped-dags';

describe('runway tasks --map-index', () => {
  it.each([
    [['tasks', 'clear', 'data_lake__mapped_crash', 'r', '--map-index', '2'], '--map-index needs --task'],
    [
      ['tasks', 'clear', 'data_lake__mapped_crash', 'r', '--task', 'load_part', '--map-index', '-1'],
      '--map-index must be a whole number, 0 or more',
    ],
    [
      ['tasks', 'mark', 'data_lake__mapped_crash', 'r', 'load_part', 'success', '--map-index', 'first'],
      '--map-index must be a whole number, 0 or more',
    ],
  ])('exits 2 with a clear message: %j', async (args, message) => {
    const run = await runCli([...args, '--redis-url', redisUrl(), '--dags', DAGS]);
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(2);
  });
});

/**
 * Every CLI verb with a missing or invalid argument: exit 2 and a message that says what is wrong,
 * before it touches Redis, S3 or a DAG.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.ts';

const CASES: [string[], RegExp][] = [
  [['validate', '--format', 'xml'], /argument 'xml' is invalid\. Allowed choices are human, github, json/],
  [['validate', '--import-timeout', '0'], /--import-timeout must be a positive whole number/],
  [['validate', 'no/such/folder'], /no\/such\/folder: no such file or folder/],
  [['validate', '--policy', 'missing.policy.json'], /missing\.policy\.json/],
  [['dags', 'list', '--memory-limit', 'lots'], /--memory-limit must be a positive whole number/],
  [['dags', 'list-import-errors', '--dags', 'no/such/folder'], /no\/such\/folder: no such file or folder/],
  [['dags', 'report', '--import-timeout', '-1'], /--import-timeout must be a positive whole number/],
  [['dags', 'show'], /missing required argument 'dag_id'/],
  [['dags', 'show', 'data_lake__nope'], /no DAG "data_lake__nope"/],
  [['dags', 'trigger'], /missing required argument 'dag_id'/],
  [['dags', 'trigger', 'x', '--logical-date', 'soon'], /--logical-date must be an ISO date/],
  [['dags', 'trigger', 'x', '--run-id', 'a/b'], /run id "a\/b" must be 1 to 200 of A-Z a-z 0-9 _ \. : \+ -/],
  [['dags', 'trigger', 'x', '--run-id', 'scheduled__x'], /run id "scheduled__x" starts with a prefix the scheduler/],
  [['dags', 'backfill', 'x'], /required option '--from <date>' not specified/],
  [['dags', 'pause'], /missing required argument 'dag_id'/],
  [['dags', 'unpause'], /missing required argument 'dag_id'/],
  [['dags', 'test'], /missing required argument 'dag_id'/],
  [['dags', 'frobnicate'], /unknown command 'frobnicate'/],
  [['runs', 'list'], /missing required argument 'dag_id'/],
  [['tasks', 'states', 'x'], /missing required argument 'run_id'/],
  [['tasks', 'test', 'x'], /missing required argument 'task_id'/],
  [['tasks', 'render', 'x'], /missing required argument 'task_id'/],
  [['tasks', 'logs', 'x', 'r', 't', '--try', 'first'], /--try must be a positive whole number/],
  [['tasks', 'clear'], /missing required argument 'dag_id'/],
  [['tasks', 'mark', 'x', 'r', 't'], /missing required argument 'state'/],
  [['pools', 'set', 'redshift'], /missing required argument 'slots'/],
  [['pools', 'set', 'redshift', 'three'], /slots must be a positive whole number|must be a (positive )?whole number/],
  [['pools', 'list', '--redis-url', 'redis://:secret@[nope'], /REDIS_URL "redis:\/\/:\*\*\*@\[nope" is not a URL/],
  [['scheduler', '--tick', '0'], /--tick must be a positive whole number/],
  [['scheduler', '--retention-runs', '0'], /--retention-runs must be a positive whole number/],
  [['scheduler', '--reload-interval', 'often'], /--reload-interval must be a positive whole number/],
  [['worker', '--lock-duration', 'abc'], /--lock-duration must be a positive whole number/],
  [['standalone', '--redis-port', 'x'], /--redis-port must be a positive whole number/],
  [['s3', 'sync', 'dags'], /missing required argument 'destination'/],
  [['s3', 'sync', 'a', 'b'], /one side must be a local folder and the other an s3:\/\/bucket\/prefix/],
  [
    ['s3', 'sync', 'dags', 's3://bucket/x', '--max-delete-share', '2'],
    /--max-delete-share must be a number from 0 to 1/,
  ],
  [['deploy'], /required option '--to <s3-uri>' not specified/],
  [['deploy', '--to', 'bucket/prefix'], /--to: "bucket\/prefix" is not an s3:\/\/bucket\/prefix URI/],
  [['frobnicate'], /unknown command 'frobnicate'/],
];

describe('every CLI verb with bad arguments', () => {
  it(`exits 2 with a clear message, ${CASES.length} cases`, async () => {
    const results: { args: string[]; code: number | null; stderr: string; expected: RegExp }[] = [];
    for (let i = 0; i < CASES.length; i += 8) {
      const batch = CASES.slice(i, i + 8);
      results.push(
        ...(await Promise.all(
          batch.map(async ([args, expected]) => ({
            args,
            expected,
            ...(await runCli(args, { env: { REDIS_URL: '' } })),
          })),
        )),
      );
    }
    const failing = results.filter((r) => r.code !== 2 || !r.expected.test(r.stderr));
    console.log(
      [
        `CLI arguments: ${results.length} bad invocations across every verb`,
        `  exit 2 with the expected message: ${results.length - failing.length}`,
        ...failing.map(
          (r) => `  WRONG: runway ${r.args.join(' ')} -> exit ${r.code}: ${r.stderr.trim().split('\n')[0]}`,
        ),
      ].join('\n'),
    );
    expect(failing.map((r) => `${r.args.join(' ')} -> ${r.code}: ${r.stderr.trim()}`)).toEqual([]);
  }, 120_000);
});

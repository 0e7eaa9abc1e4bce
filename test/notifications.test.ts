import { createServer, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { dag, type Logger } from 'runway';
import type { CallbackContext } from '../runner/core/dag-options.ts';
import { testRunway, type TestRunway } from './helpers/runway.ts';

let runway: TestRunway;
let closeServer: (() => void) | undefined;
afterEach(async () => {
  await runway?.close();
  closeServer?.();
});

/** A local stand-in for Slack's incoming webhook: records what it is sent. */
async function webhook(): Promise<{ url: string; received: { path: string; body: { text: string } }[] }> {
  const received: { path: string; body: { text: string } }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) as { text: string } });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closeServer = () => server.close();
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/services/T000/B000/s3cr3t-token`, received };
}

describe('callbacks and notifications', () => {
  it('calls DAG and task callbacks, and posts to the Slack webhook without ever logging its URL', async () => {
    const hook = await webhook();
    const calls: CallbackContext[] = [];
    const logged: string[] = [];
    const record: Logger = {
      info: (m) => logged.push(m),
      warn: (m) => logged.push(m),
      error: (m) => logged.push(m),
    };
    const d = dag({
      id: 'data_lake__notified',
      description: 'Notifies Slack when its run fails and calls back on each event.',
      owner: 'data-platform',
      tags: ['data-lake'],
      schedule: null,
      timezone: 'UTC',
      startDate: '2026-01-01',
      notifications: [{ type: 'slack', webhookUrlEnv: 'SLACK_WEBHOOK', on: ['failure'] }],
      onFailure: (c) => void calls.push(c),
    })
      .task('ok', { onSuccess: (c) => void calls.push(c) }, async () => 1)
      .task(
        'flaky',
        {
          retries: 1,
          retryDelay: '10ms',
          onRetry: (c) => void calls.push(c),
          onFailure: (c) => void calls.push(c),
          notifications: [{ type: 'slack', webhookUrlEnv: 'SLACK_WEBHOOK', on: ['retry'] }],
        },
        async () => {
          throw new Error('source unavailable');
        },
      );
    runway = testRunway([d]);
    Object.assign(runway.engine, { log: record });
    (runway.engine.env as Record<string, string>).SLACK_WEBHOOK = hook.url;
    runway.worker({ echo: record });
    const run = await runway.trigger('data_lake__notified');
    expect((await runway.waitForRun('data_lake__notified', run.runId)).state).toBe('failed');
    await new Promise((r) => setTimeout(r, 100));

    expect(calls.map((c) => [c.taskId ?? '(dag)', c.state, c.tryNumber ?? null])).toEqual(
      expect.arrayContaining([
        ['ok', 'success', 1],
        ['flaky', 'up_for_retry', 1],
        ['flaky', 'failed', 2],
        ['(dag)', 'failed', null],
      ]),
    );
    expect(hook.received.map((r) => r.body.text)).toEqual([
      `Runway: data_lake__notified.flaky try 1 failed: source unavailable`,
      `Runway: DAG data_lake__notified run ${run.runId} failed`,
    ]);
    expect(hook.received.every((r) => r.path === '/services/T000/B000/s3cr3t-token')).toBe(true);

    const everything = [
      ...logged,
      ...(await runway.engine.store.logs('data_lake__notified', run.runId, 'flaky', 1)),
      ...(await runway.engine.store.logs('data_lake__notified', run.runId, 'flaky', 2)),
      JSON.stringify(await runway.engine.store.snapshot('data_lake__notified', run.runId)),
    ].join('\n');
    expect(everything).toContain('source unavailable');
    expect(everything).not.toContain('s3cr3t-token');
  });

  it('says which variable is missing instead of failing the run', async () => {
    const logged: string[] = [];
    const d = dag({
      id: 'data_lake__no_webhook',
      description: 'Its Slack webhook variable is not set in this environment.',
      owner: 'data-platform',
      tags: ['data-lake'],
      schedule: null,
      timezone: 'UTC',
      startDate: '2026-01-01',
      notifications: [{ type: 'slack', webhookUrlEnv: 'SLACK_UNSET', on: ['success'] }],
    }).task('ok', {}, async () => 1);
    runway = testRunway([d]);
    Object.assign(runway.engine, { log: { info: () => {}, warn: (m: string) => logged.push(m), error: () => {} } });
    runway.worker();
    const run = await runway.trigger('data_lake__no_webhook');
    expect((await runway.waitForRun('data_lake__no_webhook', run.runId)).state).toBe('success');
    await new Promise((r) => setTimeout(r, 50));
    expect(logged).toContain('Slack notification skipped: environment variable SLACK_UNSET is not set');
  });
});

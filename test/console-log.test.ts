/** The console lines of standalone and the services: time, level, and which DAG, run, task and try. */
import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../runner/core/log-format.ts';
import { withLogContext, type Logger } from '../runner/core/operator.ts';
import { createConsoleLogger, defaultLogFormat } from '../runner/cli/console-log.ts';
import { redisUrl } from './helpers/runway.ts';
import { runCli } from './helpers/run-cli.ts';

const time = new Date('2026-03-01T02:00:00.123Z');
const task = { dagId: 'data_lake__orders', runId: 'scheduled__2026-02-28T00:00:00.000Z', taskId: 'load', tryNumber: 2 };

describe('a console log line', () => {
  it('is, pretty, the time, the level, then the DAG, run, task and try in brackets, then the message', () => {
    expect(
      formatLogLine({ time, level: 'warn', message: 'slow COPY', context: task, fields: { rows: 3 } }, 'pretty'),
    ).toBe(
      '2026-03-01T02:00:00.123Z WARN [data_lake__orders scheduled__2026-02-28T00:00:00.000Z load try 2] slow COPY {"rows":3}',
    );
    // A service's own line has no task to name.
    expect(formatLogLine({ time, level: 'info', message: 'worker started', context: {} }, 'pretty')).toBe(
      '2026-03-01T02:00:00.123Z INFO worker started',
    );
    expect(formatLogLine({ time, level: 'error', message: 'x', context: {} }, 'pretty', true)).toBe(
      '\u001b[2m2026-03-01T02:00:00.123Z\u001b[0m \u001b[31mERROR\u001b[0m x',
    );
  });

  it('is, as JSON, one object with the same facts as fields', () => {
    const line = formatLogLine(
      { time, level: 'info', message: 'COPY finished', context: task, fields: { rows: 3 } },
      'json',
    );
    expect(JSON.parse(line)).toEqual({
      time: '2026-03-01T02:00:00.123Z',
      level: 'info',
      dag: 'data_lake__orders',
      run: 'scheduled__2026-02-28T00:00:00.000Z',
      task: 'load',
      try: 2,
      msg: 'COPY finished',
      rows: 3,
    });
    // A field cannot pass itself off as the level or the message.
    const forged = formatLogLine(
      { time, level: 'info', message: 'm', context: {}, fields: { level: 'error', msg: 'x' } },
      'json',
    );
    expect(JSON.parse(forged)).toMatchObject({ level: 'info', msg: 'm' });
  });

  it('carries the context a child logger binds, and a plain logger is used as it is', () => {
    const lines: string[] = [];
    const log = createConsoleLogger({ format: 'json', write: (line) => lines.push(line) });
    const child = withLogContext(withLogContext(log, { dagId: 'd', runId: 'r' }), { taskId: 't', tryNumber: 1 });
    child.error('boom');
    log.info('plain');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      { time: expect.any(String), level: 'error', dag: 'd', run: 'r', task: 't', try: 1, msg: 'boom' },
      { time: expect.any(String), level: 'info', msg: 'plain' },
    ]);
    const plain: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    expect(withLogContext(plain, { dagId: 'd' })).toBe(plain);
  });

  it('is pretty on a terminal and JSON otherwise, unless --log-format says', async () => {
    expect(defaultLogFormat({ isTTY: true })).toBe('pretty');
    expect(defaultLogFormat({})).toBe('json');
    for (const verb of ['standalone', 'scheduler', 'worker', 'webserver']) {
      const run = await runCli([verb, '--log-format', 'xml', '--redis-url', redisUrl()]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        "option '--log-format <format>' argument 'xml' is invalid. Allowed choices are json, pretty.",
      );
    }
  }, 120_000);
});

/**
 * One console log line, in either format: `pretty` for a person at a terminal (time, level, then
 * DAG, run, task and try in brackets, then the message) and `json` for a log pipeline (one object a
 * line). Pure: the console logger in `cli/` writes what this returns.
 */
import type { LogContext } from './operator.ts';

export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];
export type LogLevel = 'info' | 'warn' | 'error';

export interface LogRecord {
  time: Date;
  level: LogLevel;
  message: string;
  context: LogContext;
  fields?: Record<string, unknown> | undefined;
}

const COLORS: Record<LogLevel, string> = { info: '\u001b[36m', warn: '\u001b[33m', error: '\u001b[31m' };
const DIM = '\u001b[2m';
const RESET = '\u001b[0m';

export function formatLogLine(record: LogRecord, format: LogFormat, color = false): string {
  const { dagId, runId, taskId, tryNumber } = record.context;
  if (format === 'json') {
    return safeJson({
      ...record.fields,
      time: record.time.toISOString(),
      level: record.level,
      ...(dagId === undefined ? {} : { dag: dagId }),
      ...(runId === undefined ? {} : { run: runId }),
      ...(taskId === undefined ? {} : { task: taskId }),
      ...(tryNumber === undefined ? {} : { try: tryNumber }),
      msg: record.message,
    });
  }
  const about = [dagId, runId, taskId, tryNumber === undefined ? undefined : `try ${tryNumber}`]
    .filter((part) => part !== undefined)
    .join(' ');
  const level = record.level.toUpperCase();
  const fields = record.fields && Object.keys(record.fields).length > 0 ? ` ${safeJson(record.fields)}` : '';
  const paint = (code: string, text: string) => (color ? `${code}${text}${RESET}` : text);
  return [
    paint(DIM, record.time.toISOString()),
    paint(COLORS[record.level], level),
    ...(about ? [paint(DIM, `[${about}]`)] : []),
    `${record.message}${fields}`,
  ].join(' ');
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return '"[unserializable]"';
  }
}

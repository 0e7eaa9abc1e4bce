/**
 * The console logger of `runway standalone`, `scheduler`, `worker` and `webserver`: each line has
 * its time, level and, for task lines, the DAG, run, task and try, so interleaved runs can be told
 * apart. `pretty` on a terminal, `json` (one object a line) when the output is piped or collected,
 * or as `--log-format` says. Info goes to stdout, warnings and errors to stderr.
 *
 * A formatter of our own rather than pino: lines come per task event, not per request, so pino's
 * speed buys nothing here, and this keeps the `Logger` operators already use (context is bound with
 * `child`) with no new dependency.
 */
import { Option, type Command } from 'commander';
import { formatLogLine, LOG_FORMATS, type LogFormat, type LogLevel } from '../core/log-format.ts';
import type { LogContext, Logger } from '../core/operator.ts';

export interface ConsoleLoggerOptions {
  /** @defaultValue `pretty` when stdout is a terminal, else `json` */
  format?: LogFormat;
  /** Where a formatted line goes. @defaultValue stdout for info, stderr for the rest */
  write?: (line: string, level: LogLevel) => void;
}

export function defaultLogFormat(stdout: { isTTY?: boolean } = process.stdout): LogFormat {
  return stdout.isTTY ? 'pretty' : 'json';
}

export function createConsoleLogger(options: ConsoleLoggerOptions = {}, context: LogContext = {}): Logger {
  const format = options.format ?? defaultLogFormat();
  const color = format === 'pretty' && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  const write =
    options.write ??
    ((line: string, level: LogLevel) => (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`));
  const log = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) =>
    write(formatLogLine({ time: new Date(), level, message, context, fields }, format, color), level);
  return {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (more) => createConsoleLogger({ ...options, format }, { ...context, ...more }),
  };
}

export interface LogFlags {
  logFormat?: LogFormat;
}

/** Adds `--log-format json|pretty` to a service's command. */
export function withLogFormat(command: Command): Command {
  return command.addOption(
    new Option(
      '--log-format <format>',
      'log lines: pretty (default on a terminal) or json (default otherwise)',
    ).choices(LOG_FORMATS),
  );
}

/** The console logger a service writes its lines with, in the format its flags ask for. */
export function loggerOf(flags: LogFlags): Logger {
  return createConsoleLogger(flags.logFormat ? { format: flags.logFormat } : {});
}

/** The runner's verbs: services (scheduler, worker), runs and task instances, pools, `dags test`. */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { Reprocess } from '../state/operations.ts';
import { clientRunIdProblem } from '../core/run-id.ts';
import { EXIT, UsageError, type CliIo } from './io.ts';
import type { Runtime, RuntimeFlags } from './runtime.ts';
import { DEFAULT_PREFIX } from './runtime-defaults.ts';
import { loggerOf, withLogFormat, type LogFlags } from './console-log.ts';
import type { Logger } from '../core/operator.ts';
import type { Problem } from '../core/problem.ts';
import type { TaskTestFlags } from './dag-test.ts';
import { table } from './table.ts';
import { DEFAULT_KEEP_RUNS } from '../core/retention.ts';

type SchedulerFlags = RuntimeFlags &
  LogFlags & { tick: number; retentionDays: number; retentionRuns: number; healthPort?: number };

// Each verb loads its own modules when it runs: registering the verbs (all of them, for `--help`
// or any `dags` verb) must not load BullMQ, ioredis, the AWS SDK or the local S3 server.
const operations = () => import('../state/operations.ts');
const runtimeModule = () => import('./runtime.ts');
const schedulerModule = () => import('../services/scheduler.ts');
const workerModule = () => import('../services/worker.ts');
const webServer = () => import('../web/server.ts');
const workerPresence = () => import('../state/worker-presence.ts');
const dagTest = () => import('./dag-test.ts');
const standalone = () => import('./standalone.ts');
const renderTaskModule = () => import('./render-task.ts');
const redisConnect = () => import('../redis/connect.ts');

const isoDate = (name: string) => (value: string) => {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError(`${name} must be an ISO date, like 2026-01-31`);
  return date;
};
const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number`);
  return n;
};
const mapIndex = (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError('--map-index must be a whole number, 0 or more');
  }
  return n;
};
const clientRunId = (value: string) => {
  const problem = clientRunIdProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
};
const jsonObject = (value: string) => {
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new InvalidArgumentError('--conf must be a JSON object, like \'{"fullRefresh": true}\'');
  }
};

export function withRuntimeFlags(command: Command): Command {
  return command
    .option('--dags <folder|s3-uri>', 'DAG folder, or a deployment: s3://bucket/prefix', 'dags')
    .option('--s3-endpoint <url>', 'S3-compatible endpoint of an s3:// --dags (a local S3)')
    .option(
      '--reload-interval <seconds>',
      'seconds between checks of an s3:// --dags for a new deployment',
      positiveInt('--reload-interval'),
      30,
    )
    .option('--redis-url <url>', 'Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379)')
    .option(
      '--prefix <prefix>',
      'key prefix of Runway state and queues; keep the braces for Redis Cluster',
      DEFAULT_PREFIX,
    );
}

/**
 * Refuses a DAG this command could not load, naming the files of the folder that failed to import:
 * a DAG whose file is broken now is usually one of them (a running service keeps its last good
 * version, but a one-shot command reads the folder as it is).
 */
function notLoadedHere(registry: Runtime['registry'], dagId: string, problems: readonly Problem[]): void {
  if (registry.get(dagId) || problems.length === 0) return;
  const files = problems.map((p) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`);
  throw new UsageError(
    `no DAG "${dagId}" is loaded here; files that failed to import (a running service keeps the ` +
      `last good version of a file broken since):\n  ${files.join('\n  ')}`,
  );
}

/** Opens a runtime for one command and always closes it. */
export async function withRuntime<T>(
  io: CliIo,
  flags: RuntimeFlags,
  work: (runtime: Runtime) => Promise<T>,
): Promise<T> {
  const { openRuntime } = await runtimeModule();
  const runtime = await openRuntime(flags, { announce: io.err });
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

const portNumber = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError(`${name} must be a port, 0 to 65535`);
  return n;
};

function withHealthPort(command: Command): Command {
  return command.option(
    '--health-port <port>',
    'serve /healthz, /readyz and /metrics on this port (all interfaces, for probes and Prometheus)',
    portNumber('--health-port'),
  );
}

/** Health and metrics only: no UI, no actions, so no token; bound to all interfaces for probes. */
async function startHealth(runtime: Runtime, port: number | undefined, log: Logger) {
  if (port === undefined) return undefined;
  const { startWebServer } = await webServer();
  const server = await startWebServer(runtime.engine, { host: '0.0.0.0', port, ui: false });
  log.info(`health and metrics on port ${new URL(server.url).port}, all interfaces`);
  return server;
}

/**
 * Resolves on SIGTERM or SIGINT. A clean stop needs Redis; when it is unreachable the stop could
 * wait forever, so the process exits anyway `stopWithinMs` after the signal, or at a second one.
 */
/**
 * Resolves once this process has imported more than `max` DAG modules: ES modules cannot be
 * unloaded, so a worker bounds its memory by handing over to a fresh process (as Celery's
 * max-tasks-per-child), which starts in seconds from the verified cache.
 */
async function whenImportedMore(max: number): Promise<string> {
  const { dagModulesImported } = await import('../loader/dag-registry.ts');
  return new Promise((resolve) => {
    const check = setInterval(() => {
      if (dagModulesImported() <= max) return;
      clearInterval(check);
      resolve(`imported ${dagModulesImported()} DAGs, more than --max-dags ${max}; exiting for a fresh worker`);
    }, 1_000);
  });
}

function whenSignalled(stopWithinMs: number, log: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      const force = (why: string) => {
        log.warn(`${why}: exiting now`);
        process.exit(1);
      };
      process.once('SIGTERM', () => force('second signal'));
      process.once('SIGINT', () => force('second signal'));
      setTimeout(
        () => force(`not stopped ${stopWithinMs / 1_000} s after ${signal} (is Redis reachable?)`),
        stopWithinMs,
      ).unref();
      resolve(signal);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}

export function addRunCommands(program: Command, dags: Command, io: CliIo, setExit: (code: number) => void): void {
  withLogFormat(
    withRuntimeFlags(program.command('webserver').description('the web UI, its API and Prometheus metrics')),
  )
    .option('--host <host>', 'address to bind; beyond loopback a token is required', '127.0.0.1')
    .option('--port <port>', 'port (0: a free one)', portNumber('--port'), 8080)
    .option('--token <token>', 'required on every request (default: $RUNWAY_WEB_TOKEN)')
    .option(
      '--allowed-hosts <names>',
      'comma-separated host names the UI answers to besides loopback names and IP addresses, e.g. the name behind a reverse proxy (default: $RUNWAY_WEB_ALLOWED_HOSTS)',
    )
    .action(
      async (
        flags: RuntimeFlags & LogFlags & { host: string; port: number; token?: string; allowedHosts?: string },
      ) => {
        const log = loggerOf(flags);
        const [{ openRuntime }, { startWebServer }] = await Promise.all([runtimeModule(), webServer()]);
        const runtime = await openRuntime(flags, { service: true, log });
        const token = flags.token ?? process.env.RUNWAY_WEB_TOKEN;
        const allowedHosts = (flags.allowedHosts ?? process.env.RUNWAY_WEB_ALLOWED_HOSTS ?? '')
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean);
        const web = await startWebServer(runtime.engine, {
          host: flags.host,
          port: flags.port,
          ...(token ? { token } : {}),
          allowedHosts,
          problems: () => runtime.catalog.problems(),
          held: () => runtime.catalog.held(),
        }).catch(async (error: unknown) => {
          await runtime.close();
          throw error;
        });
        log.info(`webserver on ${web.url}${token ? ' (token required)' : ''}`);
        const signal = await whenSignalled(10_000, log);
        log.info(`${signal}: stopping the webserver`);
        await web.close();
        await runtime.close();
      },
    );

  withLogFormat(
    withHealthPort(withRuntimeFlags(program.command('scheduler').description('create, start and reconcile DAG runs'))),
  )
    .option(
      '--tick <ms>',
      'time between passes (a pass also starts when the next DAG falls due; up to 1.5 ticks to meet it)',
      positiveInt('--tick'),
      2_000,
    )
    .option('--retention-days <days>', 'delete finished runs older than this', positiveInt('--retention-days'), 30)
    .option('--retention-runs <n>', 'finished runs kept per DAG', positiveInt('--retention-runs'), DEFAULT_KEEP_RUNS)
    .action(async (flags: SchedulerFlags) => {
      const log = loggerOf(flags);
      const [{ openRuntime }, { Scheduler }, { redact }] = await Promise.all([
        runtimeModule(),
        schedulerModule(),
        redisConnect(),
      ]);
      const runtime = await openRuntime(flags, { service: true, log });
      for (const p of runtime.problems) log.error(`${p.file}: ${p.message} (not scheduled)`);
      const { tick: tickMs, retentionDays, retentionRuns } = flags;
      const scheduler = new Scheduler(runtime.engine, { tickMs, retentionDays, retentionRuns });
      const health = await startHealth(runtime, flags.healthPort, log);
      scheduler.start();
      log.info(`scheduler started: ${runtime.registry.list().length} DAG(s), Redis ${redact(runtime.redisUrl)}`);
      const signal = await whenSignalled(15_000, log);
      log.info(`${signal}: stopping the scheduler`);
      await health?.close();
      await scheduler.stop();
      await runtime.close();
    });

  withLogFormat(
    withRuntimeFlags(program.command('standalone').description('redis-server, scheduler and a worker in one process')),
  )
    .option('--concurrency <n>', 'tasks run at once', positiveInt('--concurrency'), 8)
    .option(
      '--redis-port <port>',
      'port of the private redis-server (default: a free one)',
      positiveInt('--redis-port'),
    )
    .option('--data-dir <folder>', 'where the private redis-server keeps its data', '.runway')
    .action(async (flags: RuntimeFlags & LogFlags & { concurrency: number; redisPort?: number; dataDir: string }) => {
      const log = loggerOf(flags);
      const { runStandalone } = await standalone();
      await runStandalone(
        {
          dags: flags.dags,
          ...(flags.redisUrl ? { redisUrl: flags.redisUrl } : {}),
          ...(flags.redisPort ? { redisPort: flags.redisPort } : {}),
          dataDir: flags.dataDir,
          concurrency: flags.concurrency,
          prefix: flags.prefix,
          log,
        },
        io,
        whenSignalled(30_000, log),
      );
    });

  withLogFormat(
    withHealthPort(withRuntimeFlags(program.command('worker').description('run task instances from the queues'))),
  )
    .option('--concurrency <n>', 'tasks run at once', positiveInt('--concurrency'), 8)
    .option('--queues <names>', 'comma-separated queues', 'default')
    .option('--grace <seconds>', 'seconds running tasks get to finish on SIGTERM', positiveInt('--grace'), 30)
    .option(
      '--lock-duration <ms>',
      'task lock; every worker of a queue must use the same',
      positiveInt('--lock-duration'),
      4_000,
    )
    .option(
      '--max-stalled <n>',
      'times a task whose worker died is run again before it fails',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0)
          throw new InvalidArgumentError('--max-stalled must be a whole number, 0 or more');
        return n;
      },
      2,
    )
    .option(
      '--max-dags <n>',
      'after importing more DAGs than this, stop taking tasks, give the running ones --grace seconds (then release them to run again elsewhere) and exit 0 for the supervisor to restart it',
      positiveInt('--max-dags'),
    )
    .action(
      async (
        flags: RuntimeFlags &
          LogFlags & {
            maxDags?: number;
            concurrency: number;
            queues: string;
            grace: number;
            lockDuration: number;
            maxStalled: number;
            healthPort?: number;
          },
      ) => {
        const log = loggerOf(flags);
        const [{ openRuntime, openRedis }, { startWorker }] = await Promise.all([runtimeModule(), workerModule()]);
        const runtime = await openRuntime(flags, { service: true, log });
        for (const p of runtime.problems) log.error(`${p.file}: ${p.message} (not loaded here)`);
        const connection = await openRedis(runtime.redisUrl, true, log);
        const worker = startWorker(runtime.engine, connection, {
          concurrency: flags.concurrency,
          queues: flags.queues.split(',').map((q) => q.trim()),
          lockDurationMs: flags.lockDuration,
          maxStalledCount: flags.maxStalled,
          echo: log,
        });
        // Triggers learn at once that this worker has a DAG it just loaded.
        runtime.onDagsChange(() => worker.presence.beat());
        const health = await startHealth(runtime, flags.healthPort, log);
        log.info(`worker started: queues ${flags.queues}, concurrency ${flags.concurrency}`);
        const why = await Promise.race([
          whenSignalled((flags.grace + 15) * 1_000, log),
          ...(flags.maxDags === undefined ? [] : [whenImportedMore(flags.maxDags)]),
        ]);
        log.info(`${why}: no new tasks; waiting up to ${flags.grace} s for running ones`);
        await health?.close();
        const { released } = await worker.close(flags.grace * 1_000);
        // Released tasks must not go on in this process: leave now, and their locks lapse.
        if (released) process.exit(0);
        connection.disconnect();
        await runtime.close();
      },
    );

  withRuntimeFlags(dags.command('trigger').description('start a manual DAG run'))
    .argument('<dag_id>')
    .option('--conf <json>', "the run's params, checked against the DAG's params schema", jsonObject)
    .option('--logical-date <date>', 'logical date of the run (default: now)', isoDate('--logical-date'))
    .option(
      '--run-id <id>',
      'the run id; triggering the same id again finds that run instead of creating a second',
      clientRunId,
    )
    .action(
      async (
        dagId: string,
        flags: RuntimeFlags & { conf?: Record<string, unknown>; logicalDate?: Date; runId?: string },
      ) => {
        const [{ triggerDag }, { workerGap }] = await Promise.all([operations(), workerPresence()]);
        const { run, gap } = await withRuntime(io, flags, async ({ engine, problems }) => {
          notLoadedHere(engine.registry, dagId, problems);
          const run = await triggerDag(engine, dagId, {
            ...(flags.conf ? { conf: flags.conf } : {}),
            ...(flags.logicalDate ? { logicalDate: flags.logicalDate } : {}),
            ...(flags.runId === undefined ? {} : { runId: flags.runId }),
          });
          return { run, gap: await workerGap(engine, dagId).catch(() => undefined) };
        });
        if (!run.created) io.out(`${run.runId} exists already (${run.state}): not created again`);
        else io.out(`created ${run.runId} (${run.state})`);
        if (run.notStarted) io.err(`runway: ${run.runId} is queued, not started here: ${run.notStarted}`);
        if (gap) io.err(`runway: warning: run ${run.runId}: ${gap}`);
      },
    );

  withRuntimeFlags(dags.command('backfill').description('create runs for past intervals, never duplicating one'))
    .argument('<dag_id>')
    .requiredOption('--from <date>', 'first logical date', isoDate('--from'))
    .requiredOption('--to <date>', 'last logical date', isoDate('--to'))
    .addOption(
      new Option('--reprocess <which>', 'existing runs to run again')
        .choices(['none', 'failed', 'all'])
        .default('none'),
    )
    .action(async (dagId: string, flags: RuntimeFlags & { from: Date; to: Date; reprocess: Reprocess }) => {
      const [{ backfillDag }, { workerGap }] = await Promise.all([operations(), workerPresence()]);
      const { result, gap } = await withRuntime(io, flags, async ({ engine, problems }) => {
        notLoadedHere(engine.registry, dagId, problems);
        const result = await backfillDag(engine, dagId, flags.from, flags.to, flags.reprocess);
        return { result, gap: await workerGap(engine, dagId).catch(() => undefined) };
      });
      io.out(
        `created ${result.created.length}, cleared ${result.cleared.length}, kept ${result.kept.length} existing run(s)`,
      );
      for (const runId of result.created) io.out(`  + ${runId}`);
      if (gap && result.created.length + result.cleared.length > 0) io.err(`runway: warning: ${gap}`);
    });

  for (const [name, paused] of [
    ['pause', true],
    ['unpause', false],
  ] as const) {
    withRuntimeFlags(dags.command(name).description(`${name} a DAG's scheduling`))
      .argument('<dag_id>')
      .action(async (dagId: string, flags: RuntimeFlags) => {
        await withRuntime(io, flags, async ({ engine }) => {
          if (!engine.registry.get(dagId))
            throw new UsageError(`no DAG "${dagId}" is loaded (see \`runway dags list\`)`);
          await engine.store.setPaused(dagId, paused);
        });
        io.out(`${dagId} ${paused ? 'paused' : 'unpaused'}`);
      });
  }

  withRuntimeFlags(dags.command('test').description('one DAG run in this process, printing each task state'))
    .argument('<dag_id>')
    .option('--logical-date <date>', 'logical date of the run (default: now)', isoDate('--logical-date'))
    .action(async (dagId: string, flags: RuntimeFlags & { logicalDate?: Date }) => {
      const { runDagTest } = await dagTest();
      const state = await runDagTest(dagId, flags, io);
      setExit(state === 'success' ? EXIT.ok : EXIT.failure);
    });

  const runs = program.command('runs').description('DAG runs');
  withRuntimeFlags(runs.command('list').description("a DAG's runs, newest first"))
    .argument('<dag_id>')
    .option('--limit <n>', 'how many', positiveInt('--limit'), 25)
    .action(async (dagId: string, flags: RuntimeFlags & { limit: number }) => {
      const list = await withRuntime(io, flags, async ({ engine }) => {
        const runs = await engine.store.listRuns(dagId, flags.limit);
        const misses = await Promise.all(runs.map((r) => engine.deadlines.missOf(dagId, r.runId)));
        return runs.map((r, i) => ({ ...r, missedDeadline: misses[i]?.deadline }));
      });
      io.out(
        table(
          ['run_id', 'state', 'type', 'logical_date', 'started', 'ended', 'deadline'],
          list.map((r) => [
            r.runId,
            r.state,
            r.runType,
            r.logicalDate,
            r.startedAt ?? '-',
            r.endedAt ?? '-',
            r.missedDeadline ? `missed ${r.missedDeadline}` : '-',
          ]),
        ),
      );
    });

  const tasks = program.command('tasks').description('task instances');
  withRuntimeFlags(tasks.command('states').description("every task instance's state in a run"))
    .arguments('<dag_id> <run_id>')
    .action(async (dagId: string, runId: string, flags: RuntimeFlags) => {
      const snapshot = await withRuntime(io, flags, async ({ engine }) => {
        if (!(await engine.store.getRun(dagId, runId))) throw new UsageError(`DAG "${dagId}" has no run "${runId}"`);
        return engine.store.snapshot(dagId, runId);
      });
      io.out(
        table(
          ['task_id', 'state', 'try', 'duration', 'host', 'error'],
          Object.entries(snapshot).map(([id, ti]) => [
            id,
            ti.state,
            String(ti.try),
            ti.durationMs === undefined ? '-' : `${ti.durationMs} ms`,
            ti.host ?? '-',
            ti.error ?? '',
          ]),
        ),
      );
    });

  withRuntimeFlags(
    tasks
      .command('test')
      .description(
        'one task in this process, with its upstream outputs from a file, a run, the latest successful run, or its upstream tasks run first',
      ),
  )
    .arguments('<dag_id> <task_id>')
    .option('--logical-date <date>', 'logical date of the run (default: now)', isoDate('--logical-date'))
    .option('--from-run <run_id>', 'upstream outputs from this run (default: the latest successful run)')
    .option('--upstream <file.json>', 'upstream outputs from this file: {"<upstream task>": <its output>, …}')
    .option('--retry', "keep the task's retries (default: one try)")
    .action(async (dagId: string, taskId: string, flags: TaskTestFlags) => {
      if (flags.fromRun !== undefined && flags.upstream !== undefined)
        throw new UsageError('give --from-run or --upstream, not both');
      const { runTaskTest } = await dagTest();
      const state = await runTaskTest(dagId, taskId, flags, io);
      setExit(state === 'success' ? EXIT.ok : EXIT.failure);
    });

  tasks
    .command('render')
    .description('print what a task would send (SQL, API parameters), sending nothing')
    .arguments('<dag_id> <task_id>')
    .option('--dags <folder>', 'DAG folder', 'dags')
    .option('--logical-date <date>', 'logical date of the run (default: now)', isoDate('--logical-date'))
    .option('--conf <json>', "the run's params", jsonObject)
    .action(
      async (
        dagId: string,
        taskId: string,
        flags: { dags: string; logicalDate?: Date; conf?: Record<string, unknown> },
      ) => {
        const { renderTask, formatRendered, TaskRenderError } = await renderTaskModule();
        const rendering = await renderTask(flags.dags, dagId, taskId, flags.logicalDate, flags.conf).catch(
          (error: unknown) => {
            if (!(error instanceof TaskRenderError)) throw error;
            io.err(`runway: ${error.message}`);
            setExit(EXIT.failure);
            return undefined;
          },
        );
        if (!rendering) return;
        const { run, rendered } = rendering;
        io.out(`-- ${dagId}.${taskId} for logical date ${run.logicalDate.toISOString()} (ds ${run.ds})`);
        io.out(formatRendered(rendered));
      },
    );

  withRuntimeFlags(tasks.command('logs').description('the log of one try of a task instance'))
    .arguments('<dag_id> <run_id> <task_id>')
    .option('--try <n>', 'try number (default: the latest)', positiveInt('--try'))
    .action(async (dagId: string, runId: string, taskId: string, flags: RuntimeFlags & { try?: number }) => {
      const lines = await withRuntime(io, flags, async ({ engine }) => {
        const ti = (await engine.store.snapshot(dagId, runId))[taskId];
        if (!ti) throw new UsageError(`DAG "${dagId}" run "${runId}" has no task "${taskId}"`);
        return engine.store.logs(dagId, runId, taskId, flags.try ?? Math.max(ti.try, 1));
      });
      io.out(lines.length === 0 ? '(no log lines)' : lines.join('\n'));
    });

  withRuntimeFlags(tasks.command('clear').description('run finished task instances again'))
    .arguments('<dag_id> <run_id>')
    .option('--task <task_id>', 'only this task, or every task of this task group')
    .option('--downstream', 'with --task: and everything downstream of it')
    .option('--only-failed', 'only failed and upstream_failed instances')
    .option('--map-index <n>', 'with --task of a mapped task: only this index', mapIndex)
    .action(
      async (
        dagId: string,
        runId: string,
        flags: RuntimeFlags & { task?: string; downstream?: boolean; onlyFailed?: boolean; mapIndex?: number },
      ) => {
        if (flags.downstream && !flags.task) throw new UsageError('--downstream needs --task');
        if (flags.mapIndex !== undefined && !flags.task) throw new UsageError('--map-index needs --task');
        const { clearTasks } = await operations();
        const cleared = await withRuntime(io, flags, ({ engine }) =>
          clearTasks(engine, dagId, runId, {
            ...(flags.task ? { task: flags.task } : {}),
            downstream: flags.downstream ?? false,
            onlyFailed: flags.onlyFailed ?? false,
            ...(flags.mapIndex === undefined ? {} : { mapIndex: flags.mapIndex }),
          }),
        );
        io.out(cleared.length === 0 ? 'nothing to clear' : `cleared ${cleared.join(', ')}`);
      },
    );

  withRuntimeFlags(tasks.command('mark').description('set a task instance to success or failed by hand'))
    .arguments('<dag_id> <run_id> <task_id> <state>')
    .option('--map-index <n>', 'of a mapped task: only this index', mapIndex)
    .action(
      async (
        dagId: string,
        runId: string,
        taskId: string,
        state: string,
        flags: RuntimeFlags & { mapIndex?: number },
      ) => {
        if (state !== 'success' && state !== 'failed')
          throw new UsageError(`state must be success or failed, not "${state}"`);
        const { markTask } = await operations();
        const index = flags.mapIndex === undefined ? {} : { mapIndex: flags.mapIndex };
        await withRuntime(io, flags, ({ engine }) => markTask(engine, dagId, runId, taskId, state, index));
        io.out(
          `${dagId} ${runId} ${taskId}${flags.mapIndex === undefined ? '' : `[${flags.mapIndex}]`} marked ${state}`,
        );
      },
    );

  const pools = program.command('pools').description('named slot pools shared across DAGs');
  withRuntimeFlags(pools.command('set').description('create or resize a pool'))
    .arguments('<name> <slots>')
    .action(async (name: string, slots: string, flags: RuntimeFlags) => {
      const n = Number(slots);
      if (!Number.isInteger(n) || n < 0) throw new UsageError('slots must be a whole number, 0 or more');
      await withRuntime(io, flags, ({ engine }) => engine.store.setPool(name, n));
      io.out(`pool ${name}: ${n} slot(s)`);
    });
  withRuntimeFlags(pools.command('list').description('pools, their size and use')).action(
    async (flags: RuntimeFlags) => {
      const rows = await withRuntime(io, flags, async ({ engine }) => {
        const all = await engine.store.pools();
        return Promise.all(
          Object.entries(all).map(async ([name, slots]) => [
            name,
            String(slots),
            String(await engine.store.poolUsage(name)),
          ]),
        );
      });
      io.out(table(['pool', 'slots', 'in use'], rows));
    },
  );
}

/**
 * The `runway` command line. It only parses arguments: every verb calls an exported function that
 * the tests call too, and maps the result to output and an exit code (0 ok, 1 failure, 2 usage).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { DagsOptions } from './dags-commands.ts';
import type { ProblemFormat } from './format-problems.ts';
import { EXIT, processIo, UsageError, type CliIo } from './io.ts';
import { addRunCommands } from './run-commands.ts';
import { describeRedisError } from '../redis/redis-errors.ts';
import { addS3Commands } from './s3-commands.ts';
import { addDeployCommand } from './deploy-command.ts';
import { addInitCommand } from './init-command.ts';
import { addAssetCommands } from './assets-commands.ts';
import { DEFAULT_POLICY_FILE } from '../loader/policy-file.ts';
import { RUNWAY_PACKAGE_JSON } from '../package-file.ts';

const positiveInt = (name: string) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError(`${name} must be a positive whole number`);
  return parsed;
};

interface LoadFlags {
  importTimeout?: number;
  memoryLimit?: number;
}

const loadOptions = (flags: LoadFlags) => ({
  ...(flags.importTimeout === undefined ? {} : { importTimeoutMs: flags.importTimeout * 1000 }),
  ...(flags.memoryLimit === undefined ? {} : { memoryLimitMb: flags.memoryLimit }),
});

function addLoadFlags(command: Command): Command {
  return command
    .option('--import-timeout <seconds>', 'seconds one DAG file may take to import', positiveInt('--import-timeout'))
    .option('--memory-limit <MiB>', 'heap limit of the import processes', positiveInt('--memory-limit'));
}

/** Runway's version, from its package.json (read once; the CLI prints it with --version). */
export function runwayVersion(): string {
  const pkg = JSON.parse(readFileSync(RUNWAY_PACKAGE_JSON, 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Every verb, registered without loading what the verbs use: each action loads its own modules when
 * it runs, so `--help` and `validate` do not pay for BullMQ, ioredis or the AWS SDK.
 */
export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('runway')
    .description('Typed, Airflow-style DAG runner for TypeScript')
    .version(runwayVersion(), '-V, --version', "print Runway's version")
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  addLoadFlags(
    program
      .command('validate')
      .description('import every DAG file in isolation, check each DAG and apply the team policy')
      .argument('[paths...]', 'DAG files or folders', ['dags'])
      .addOption(new Option('--format <format>', 'output format').choices(['human', 'github', 'json']).default('human'))
      .option('--policy <file>', 'policy file', DEFAULT_POLICY_FILE),
  ).action(async (paths: string[], flags: LoadFlags & { format: ProblemFormat; policy: string }) => {
    const [{ loadPolicy }, { validate }, { formatProblems }] = await Promise.all([
      import('../loader/load-policy.ts'),
      import('../loader/validate.ts'),
      import('./format-problems.ts'),
    ]);
    const policy = await loadPolicy(flags.policy, { required: flags.policy !== DEFAULT_POLICY_FILE });
    const report = await validate(paths, { policy, ...loadOptions(flags) });
    // On stderr, so that --format json stays one JSON document.
    for (const link of report.skippedLinks) io.err(`runway: skipped the link ${link.file}: it ${link.reason}`);
    io.out(formatProblems(report.problems, flags.format, report.files.length, report.warnings));
    setExit(report.problems.length === 0 ? EXIT.ok : EXIT.failure);
  });

  const dags = program.command('dags').description('inspect the DAG folder');
  const dagsCommand = (name: string, description: string) =>
    addLoadFlags(dags.command(name).description(description).option('--dags <folder>', 'DAG folder', 'dags'));
  const dagsOptions = (flags: LoadFlags & { dags: string }): DagsOptions => ({
    folder: flags.dags,
    ...loadOptions(flags),
  });

  dagsCommand('list', 'list the DAGs that import cleanly').action(async (flags) => {
    const [{ listDags }, { table }] = await Promise.all([import('./dags-commands.ts'), import('./table.ts')]);
    const rows = (await listDags(dagsOptions(flags))).map(({ file, dag }) => [
      dag.dagId,
      file,
      dag.owner,
      dag.assetSchedule ? 'assets' : (dag.schedule ?? 'manual'),
      dag.tags.join(','),
    ]);
    io.out(table(['dag_id', 'file', 'owner', 'schedule', 'tags'], rows));
  });

  dagsCommand('list-import-errors', 'list the DAG files, or deployed bundles, that fail to import')
    .option('--s3-endpoint <url>', 'S3-compatible endpoint of an s3:// --dags (a local S3)')
    .action(async (flags: LoadFlags & { dags: string; s3Endpoint?: string }) => {
      const [{ listImportErrors }, { table }] = await Promise.all([import('./dags-commands.ts'), import('./table.ts')]);
      // A deployment is read as a scheduler reads it: what fails to fetch, verify or import.
      const errors = flags.dags.startsWith('s3://')
        ? await deployedBundleErrors(flags)
        : await listImportErrors(dagsOptions(flags));
      const rows = errors.map((f) => [
        f.error?.line === undefined ? f.file : `${f.file}:${f.error.line}`,
        f.error!.message,
      ]);
      io.out(errors.length === 0 ? 'No import errors' : table(['file', 'error'], rows));
      setExit(errors.length === 0 ? EXIT.ok : EXIT.failure);
    });

  dagsCommand('report', 'import time of each DAG file, slowest first').action(async (flags) => {
    const [{ reportImportTimes }, { table }] = await Promise.all([import('./dags-commands.ts'), import('./table.ts')]);
    const rows = (await reportImportTimes(dagsOptions(flags))).map((r) => [
      r.file,
      `${r.importMs.toFixed(1)} ms`,
      r.dagId ?? '-',
      String(r.tasks),
      r.error ? 'import error' : 'ok',
    ]);
    io.out(table(['file', 'import time', 'dag_id', 'tasks', 'status'], rows));
  });

  dagsCommand('show', 'show a DAG graph as text and as Mermaid')
    .argument('<dag_id>')
    .action(async (dagId: string, flags) => {
      const { showDag } = await import('./dags-commands.ts');
      const shown = await showDag(dagId, dagsOptions(flags));
      io.out(`${shown.text}\n\n\`\`\`mermaid\n${shown.mermaid}\n\`\`\``);
    });

  addRunCommands(program, dags, io, setExit);
  addS3Commands(program, io, setExit);
  addDeployCommand(program, io, setExit);
  addInitCommand(program, io, setExit);
  addAssetCommands(program, io);
  return program;
}

async function deployedBundleErrors(flags: {
  dags: string;
  s3Endpoint?: string;
}): Promise<{ file: string; error?: { message: string; line?: number } }[]> {
  const { openDags } = await import('./runtime.ts');
  const dags = await openDags(flags, { log: { info: () => {}, warn: () => {}, error: () => {} } });
  await dags.close();
  return dags.problems.map((p) => ({
    file: p.dagId ? `${p.file} (DAG ${p.dagId})` : p.file,
    error: { message: p.message },
  }));
}

/** Errors that mean the command was used wrongly (exit 2), or that a set-up is broken (exit 1). */
const USAGE_ERRORS = new Set([
  'PolicyFileError',
  'DagPathError',
  'OperationError',
  'RedisUrlError',
  'WebServerConfigError',
]);
const FAILURE_ERRORS = new Set(['RedisSetupError', 'DagSourceError', 'TriggerError']);

/** Runs the CLI on `argv` (without `node runway`) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      const shownAlready = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);
      return shownAlready && error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // By name: the classes live in modules this verb may not have loaded.
    const name = error instanceof Error ? error.name : '';
    if (error instanceof UsageError || USAGE_ERRORS.has(name)) {
      io.err(`runway: ${(error as Error).message}`);
      return EXIT.usage;
    }
    if (FAILURE_ERRORS.has(name)) {
      io.err(`runway: ${(error as Error).message}`);
      return EXIT.failure;
    }
    if (name === 'ReplyError') {
      io.err(`runway: Redis answered: ${describeRedisError(error)}`);
      return EXIT.failure;
    }
    io.err(`runway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return EXIT.failure;
  }
}

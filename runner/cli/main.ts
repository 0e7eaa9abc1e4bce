/**
 * The `runway` command line. It only parses arguments: every verb calls an exported function that
 * the tests call too, and maps the result to output and an exit code (0 ok, 1 failure, 2 usage).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { listDags, listImportErrors, reportImportTimes, showDag, table, type DagsOptions } from './dags-commands.ts';
import { formatProblems, type ProblemFormat } from './format-problems.ts';
import { EXIT, processIo, UsageError, type CliIo } from './io.ts';
import { DEFAULT_POLICY_FILE, loadPolicy, PolicyFileError } from '../policy.ts';
import { validate } from '../validate.ts';
import { DagPathError } from '../loader/find-dag-files.ts';
import { OperationError } from '../operations.ts';
import { RedisSetupError } from '../redis/redis-server.ts';
import { RedisUrlError } from '../redis/connect.ts';
import { DagSourceError } from '../deploy/s3-dag-source.ts';
import { addRunCommands } from './run-commands.ts';
import { addS3Commands } from './s3-commands.ts';
import { addDeployCommand } from './deploy-command.ts';
import { openDags } from './runtime.ts';
import { WebServerConfigError } from '../web/server.ts';

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

export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('runway')
    .description('Typed, Airflow-style DAG runner for TypeScript')
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
    const policy = await loadPolicy(flags.policy, { required: flags.policy !== DEFAULT_POLICY_FILE });
    const report = await validate(paths, { policy, ...loadOptions(flags) });
    io.out(formatProblems(report.problems, flags.format, report.files.length));
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
    const rows = (await listDags(dagsOptions(flags))).map(({ file, dag }) => [
      dag.dagId,
      file,
      dag.owner,
      dag.schedule ?? 'manual',
      dag.tags.join(','),
    ]);
    io.out(table(['dag_id', 'file', 'owner', 'schedule', 'tags'], rows));
  });

  dagsCommand('list-import-errors', 'list the DAG files, or deployed bundles, that fail to import')
    .option('--s3-endpoint <url>', 'S3-compatible endpoint of an s3:// --dags (a local S3)')
    .action(async (flags: LoadFlags & { dags: string; s3Endpoint?: string }) => {
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
      const shown = await showDag(dagId, dagsOptions(flags));
      io.out(`${shown.text}\n\n\`\`\`mermaid\n${shown.mermaid}\n\`\`\``);
    });

  addRunCommands(program, dags, io, setExit);
  addS3Commands(program, io, setExit);
  addDeployCommand(program, io, setExit);
  return program;
}

async function deployedBundleErrors(flags: {
  dags: string;
  s3Endpoint?: string;
}): Promise<{ file: string; error?: { message: string; line?: number } }[]> {
  const dags = await openDags(flags, { log: { info: () => {}, warn: () => {}, error: () => {} } });
  await dags.close();
  return dags.problems.map((p) => ({
    file: p.dagId ? `${p.file} (DAG ${p.dagId})` : p.file,
    error: { message: p.message },
  }));
}

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
    if (
      error instanceof UsageError ||
      error instanceof PolicyFileError ||
      error instanceof DagPathError ||
      error instanceof OperationError ||
      error instanceof RedisUrlError ||
      error instanceof WebServerConfigError
    ) {
      io.err(`runway: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof RedisSetupError || error instanceof DagSourceError) {
      io.err(`runway: ${error.message}`);
      return EXIT.failure;
    }
    io.err(`runway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return EXIT.failure;
  }
}

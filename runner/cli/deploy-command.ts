/** `runway deploy --to s3://bucket/prefix`: validate, bundle and publish the DAGs a scheduler reads. */
import type { Command } from 'commander';
import type { DeployResult } from '../deploy/deploy.ts';
import { DEFAULT_POLICY_FILE } from '../loader/policy-file.ts';
import { formatHuman } from './format-problems.ts';
import { EXIT, UsageError, type CliIo } from './io.ts';

interface DeployFlags {
  to: string;
  dags: string;
  delete?: boolean;
  dryRun?: boolean;
  policy: string;
  endpoint?: string;
  region?: string;
}

export function formatDeploy(result: Extract<DeployResult, { deployed: true }>, to: string): string {
  const { diff, manifest } = result;
  const would = result.dryRun ? '(dry run, nothing written) would deploy' : 'deployed';
  const names = (ids: string[]) => (ids.length === 0 ? '-' : ids.join(', '));
  return [
    `${would} ${manifest.dags.length} DAG(s) to ${to}${manifest.commit ? ` at commit ${manifest.commit.slice(0, 12)}` : ''}`,
    `  added:     ${names(diff.added)}`,
    `  changed:   ${names(diff.changed)}`,
    `  removed:   ${names(diff.removed)}`,
    `  unchanged: ${diff.unchanged.length}`,
    `bundles: ${result.dryRun ? 'would upload' : 'uploaded'} ${result.uploaded}, ${result.dryRun ? 'would delete' : 'deleted'} ${result.deleted}`,
  ].join('\n');
}

export function addDeployCommand(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('deploy')
    .description('validate the DAGs, bundle each one and publish them with a manifest to S3')
    .requiredOption('--to <s3-uri>', 'deployment: s3://bucket/prefix')
    .option('--dags <folder>', 'DAG folder', 'dags')
    .option('--delete', 'delete bundles of DAGs no longer deployed')
    .option('--dry-run', 'validate, bundle and say what would change; write nothing')
    .option('--policy <file>', 'policy file', DEFAULT_POLICY_FILE)
    .option('--endpoint <url>', 'an S3-compatible endpoint (a local S3)')
    .option('--region <region>', 'AWS region (default: the standard chain)')
    .action(async (flags: DeployFlags) => {
      // Loaded when a deploy runs, so `runway --help` does not load the AWS SDK and esbuild.
      const [{ makeS3Client }, { BundleError }, { deployDags, DeployError }, { loadPolicy }, { parseS3Uri }] =
        await Promise.all([
          import('../aws/s3-client.ts'),
          import('../deploy/bundle.ts'),
          import('../deploy/deploy.ts'),
          import('../loader/load-policy.ts'),
          import('../s3/sync.ts'),
        ]);
      try {
        parseS3Uri(flags.to);
      } catch (error) {
        throw new UsageError(`--to: ${(error as Error).message}`);
      }
      const policy = await loadPolicy(flags.policy, { required: flags.policy !== DEFAULT_POLICY_FILE });
      const s3 = makeS3Client({
        ...(flags.region ? { region: flags.region } : {}),
        ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
      });
      const tty = process.stdout.isTTY;
      try {
        const result = await deployDags(s3, {
          dags: flags.dags,
          to: flags.to,
          policy,
          delete: flags.delete ?? false,
          dryRun: flags.dryRun ?? false,
          ...(tty
            ? { onProgress: (done: number, total: number) => process.stdout.write(`\r${done}/${total} bundles`) }
            : {}),
        });
        if (tty) process.stdout.write('\n');
        if (!result.deployed) {
          io.err(result.problems.map(formatHuman).join('\n'));
          io.err('runway: nothing deployed: fix the problems above first');
          setExit(EXIT.failure);
          return;
        }
        io.out(formatDeploy(result, flags.to));
      } catch (error) {
        if (!(error instanceof DeployError || error instanceof BundleError)) throw error;
        io.err(`runway: ${error.message}; nothing deployed`);
        setExit(EXIT.failure);
      } finally {
        s3.destroy();
      }
    });
}

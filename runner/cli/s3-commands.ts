/** `runway s3 sync <source> <destination>`: the same sync the s3Sync operator runs, from a shell. */
import { InvalidArgumentError, type Command } from 'commander';
import type { S3SyncResult } from '../s3/sync.ts';
import { EXIT, UsageError, type CliIo } from './io.ts';

interface SyncFlags {
  delete?: boolean;
  force?: boolean;
  dryRun?: boolean;
  include: string[];
  exclude: string[];
  concurrency: number;
  maxDeleteShare: number;
  multipartThreshold: number;
  partSize: number;
  storageClass?: string;
  sse?: string;
  endpoint?: string;
  region?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const number = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
  return n;
};

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${bytes} B`;
}

export function summarize(result: S3SyncResult): string {
  const verb = result.direction === 'upload' ? 'uploaded' : 'downloaded';
  const lines = result.dryRun
    ? [
        ...result.copied.keys.map((k) => `(dry run) ${result.direction === 'upload' ? 'upload' : 'download'} ${k}`),
        ...result.deleted.keys.map((k) => `(dry run) delete ${k}`),
      ]
    : [];
  lines.push(
    `${result.dryRun ? 'would have ' : ''}${verb} ${result.copied.count} (${mib(result.copied.bytes)}), deleted ${result.deleted.count}, unchanged ${result.unchanged.count}`,
  );
  return lines.join('\n');
}

export function addS3Commands(program: Command, io: CliIo, setExit: (code: number) => void): void {
  const s3 = program.command('s3').description('S3 transfers');
  s3.command('sync')
    .description('sync a local folder and an S3 prefix by content (aws s3 sync semantics)')
    .arguments('<source> <destination>')
    .option('--delete', 'delete destination entries the source lacks')
    .option('--force', 'allow deleting from an empty source, or more than --max-delete-share')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--include <glob>', 'only paths matching (repeatable)', collect, [])
    .option('--exclude <glob>', 'leave paths matching alone (repeatable)', collect, [])
    .option('--concurrency <n>', 'transfers at once', number('--concurrency', 1, 256), 16)
    .option(
      '--max-delete-share <share>',
      'largest share of the destination a delete may remove',
      number('--max-delete-share', 0, 1),
      0.5,
    )
    .option(
      '--multipart-threshold <MiB>',
      'upload files this large in parts',
      number('--multipart-threshold', 5, 5_000),
      16,
    )
    .option('--part-size <MiB>', 'multipart part size', number('--part-size', 5, 5_000), 8)
    .option('--storage-class <class>', 'S3 storage class of uploads')
    .option('--sse <mode>', 'server-side encryption of uploads: AES256 or aws:kms')
    .option('--endpoint <url>', 'an S3-compatible endpoint (a local S3)')
    .option('--region <region>', 'AWS region (default: the standard chain)')
    .action(async (source: string, destination: string, flags: SyncFlags) => {
      const up = !source.startsWith('s3://') && destination.startsWith('s3://');
      const down = source.startsWith('s3://') && !destination.startsWith('s3://');
      if (!up && !down) throw new UsageError('one side must be a local folder and the other an s3://bucket/prefix');
      // Loaded when a sync runs, so `runway --help` does not load the AWS SDK.
      const [{ makeS3Client }, { SyncFailedError, syncFolderToS3, syncS3ToFolder }, { SyncRefusedError }] =
        await Promise.all([import('../aws/s3-client.ts'), import('../s3/sync.ts'), import('../s3/sync-plan.ts')]);
      const client = makeS3Client({
        ...(flags.region ? { region: flags.region } : {}),
        ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
      });
      const tty = process.stdout.isTTY;
      const options = {
        delete: flags.delete ?? false,
        force: flags.force ?? false,
        dryRun: flags.dryRun ?? false,
        include: flags.include,
        exclude: flags.exclude,
        concurrency: flags.concurrency,
        maxDeleteShare: flags.maxDeleteShare,
        multipartThresholdBytes: flags.multipartThreshold * 1024 * 1024,
        partSizeBytes: flags.partSize * 1024 * 1024,
        ...(flags.storageClass ? { storageClass: flags.storageClass as never } : {}),
        ...(flags.sse ? { serverSideEncryption: flags.sse as never } : {}),
        ...(tty
          ? { onProgress: (done: number, total: number) => process.stdout.write(`\r${done}/${total} transfers`) }
          : {}),
      };
      try {
        const result = up
          ? await syncFolderToS3(client, source, destination, options)
          : await syncS3ToFolder(client, source, destination, options);
        if (tty) process.stdout.write('\n');
        io.out(summarize(result));
      } catch (error) {
        if (tty) process.stdout.write('\n');
        // What a failed sync did change, in the same words as a successful one.
        if (error instanceof SyncFailedError) io.out(summarize(error.partial));
        else if (!(error instanceof SyncRefusedError)) throw error;
        io.err(`runway: ${error.message}`);
        setExit(EXIT.failure);
      } finally {
        client.destroy();
      }
    });
}

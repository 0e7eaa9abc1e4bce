/**
 * `deployDags()`: validate -> bundle -> upload bundles -> write the manifest -> delete stale
 * bundles. It fails closed: a DAG with any problem, or a bundle that does not build, and nothing
 * is written. The manifest is the switch: bundles are uploaded before it, and stale ones deleted
 * only after it, so a scheduler reading either the old or the new manifest finds every bundle.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { parseS3Uri, syncFolderToS3, type S3Api, type S3Location } from '../s3/sync.ts';
import type { LoadDagsOptions } from '../loader/load-dags.ts';
import type { Policy } from '../core/policy.ts';
import type { Problem } from '../core/problem.ts';
import { validate } from '../loader/validate.ts';
import { bundleDags, runwayVersion, type DagBundle } from './bundle.ts';
import {
  BUNDLES_FOLDER,
  diffManifests,
  MANIFEST_KEY,
  parseManifest,
  type DeployManifest,
  type ManifestDiff,
} from './manifest.ts';

export interface DeployOptions extends LoadDagsOptions {
  /** The DAG folder. */
  dags: string;
  /** `s3://bucket/prefix`. */
  to: string;
  policy: Policy;
  /** Delete bundles the new manifest no longer names. @defaultValue false */
  delete?: boolean;
  dryRun?: boolean;
  /** @defaultValue $GITHUB_SHA, else `git rev-parse HEAD`, else null */
  commit?: string | null;
  onProgress?: (done: number, total: number) => void;
}

export type DeployResult =
  | { deployed: false; problems: Problem[] }
  | {
      deployed: true;
      dryRun: boolean;
      manifest: DeployManifest;
      diff: ManifestDiff;
      uploaded: number;
      deleted: number;
      bundles: DagBundle[];
    };

export class DeployError extends Error {
  override readonly name = 'DeployError';
}

export async function deployDags(s3: S3Api, options: DeployOptions): Promise<DeployResult> {
  const target = parseS3Uri(options.to);
  const cwd = options.cwd ?? process.cwd();
  const report = await validate([options.dags], options);
  if (report.problems.length > 0) return { deployed: false, problems: report.problems };
  const dags = report.files.flatMap((f) =>
    f.dag ? [{ dagId: f.dag.dagId, file: f.file, absolutePath: f.absolutePath }] : [],
  );
  if (dags.length === 0) throw new DeployError(`no DAG files in ${options.dags}`);

  const staging = await mkdtemp(join(tmpdir(), 'runway-deploy-'));
  try {
    const folder = resolve(cwd, options.dags);
    const root = (await stat(folder)).isDirectory() ? folder : dirname(folder);
    const bundles = await bundleDags(dags, staging, root);
    const manifest: DeployManifest = {
      format: 1,
      runwayVersion: await runwayVersion(),
      commit: options.commit === undefined ? await currentCommit(cwd) : options.commit,
      deployedAt: new Date().toISOString(),
      dags: bundles
        .map(({ dagId, source, bundle, sha256 }) => ({ dagId, source, bundle, sha256 }))
        .sort((a, b) => a.dagId.localeCompare(b.dagId)),
    };
    const diff = diffManifests(await readManifest(s3, target), manifest);
    const bundlesUri = `s3://${target.bucket}/${target.prefix}${BUNDLES_FOLDER}`;
    const dryRun = options.dryRun ?? false;
    const upload = await syncFolderToS3(s3, staging, bundlesUri, {
      dryRun,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    if (!dryRun) {
      await s3.send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: `${target.prefix}${MANIFEST_KEY}`,
          Body: `${JSON.stringify(manifest, null, 2)}\n`,
          ContentType: 'application/json',
        }),
      );
    }
    let deleted = 0;
    if (options.delete) {
      // The manifest is the source of truth, so bundles it does not name are garbage however many.
      const cleanup = await syncFolderToS3(s3, staging, bundlesUri, { dryRun, delete: true, force: true });
      deleted = cleanup.deleted.count;
    }
    return { deployed: true, dryRun, manifest, diff, uploaded: upload.copied.count, deleted, bundles };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The manifest of the deployment at `location`, or undefined when there is none yet. */
export async function readManifest(s3: S3Api, location: S3Location): Promise<DeployManifest | undefined> {
  const Key = `${location.prefix}${MANIFEST_KEY}`;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key }));
    return parseManifest(await response.Body!.transformToString(), `s3://${location.bucket}/${Key}`);
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

async function currentCommit(cwd: string): Promise<string | null> {
  if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
  try {
    const { stdout } = await promisify(execFile)('git', ['rev-parse', 'HEAD'], { cwd });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

/**
 * DAGs read from a deployment in S3 (`--dags s3://bucket/prefix`), like MWAA's DAG folder. The
 * manifest is polled by ETag; on a change, new and changed bundles are fetched and checked against
 * their SHA-256, then handed to the reload step a watched local folder uses too
 * (`dag-bundle-loader.ts`): validated in isolation, put in the registry, DAGs gone from the manifest
 * retired. Whatever fails to fetch, verify or load leaves the version already running in place, and
 * is reported.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { parseS3Uri, type S3Api, type S3Location } from '../s3/sync.ts';
import type { DagRegistry } from '../loader/dag-registry.ts';
import type { LoadDagsOptions } from '../loader/load-dags.ts';
import type { Logger } from '../core/operator.ts';
import type { Problem } from '../core/problem.ts';
import {
  DagBundleLoader,
  emptyRefresh,
  logRefresh,
  type ReadyBundle,
  type RefreshResult,
} from './dag-bundle-loader.ts';
import { runwayVersion } from './bundle.ts';
import { DEFAULT_CACHE_DIR } from './verified-bundles.ts';
import { MANIFEST_KEY, ManifestError, parseManifest, type ManifestEntry } from './manifest.ts';

// Defined beside the verified cache, which `runway dags list` reads without loading the AWS SDK.
export { DEFAULT_CACHE_DIR };

/** A deployment could not be read at start-up. */
export class DagSourceError extends Error {
  override readonly name = 'DagSourceError';
}

export interface S3DagSourceOptions extends LoadDagsOptions {
  log: Logger;
  /** Where verified bundles are kept, named by their SHA-256. */
  cacheDir?: string;
}

export { logRefresh, type RefreshResult };

export class S3DagSource {
  readonly location: S3Location;
  private etag: string | undefined;
  private readonly loader: DagBundleLoader;
  private readonly cacheDir: string;
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<unknown> | undefined;
  private versionWarned = false;
  private missingReported = false;

  constructor(
    private readonly s3: S3Api,
    readonly uri: string,
    registry: DagRegistry,
    private readonly options: S3DagSourceOptions,
  ) {
    this.location = parseS3Uri(uri);
    this.cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
    const { log: _log, cacheDir: _cacheDir, ...loadOptions } = options;
    this.loader = new DagBundleLoader(registry, {
      ...loadOptions,
      cacheDir: this.cacheDir,
      label: (entry) => `${entry.source} (${this.uri})`,
    });
  }

  private get manifestUri(): string {
    return `s3://${this.location.bucket}/${this.location.prefix}${MANIFEST_KEY}`;
  }

  /** Reads the manifest and applies what changed. S3 errors are thrown: the DAGs loaded stay. */
  async refresh(): Promise<RefreshResult> {
    const result = emptyRefresh();
    const Bucket = this.location.bucket;
    const Key = `${this.location.prefix}${MANIFEST_KEY}`;
    let text: string;
    let response;
    try {
      // Conditional on the ETag: an unchanged deployment costs one request and no body.
      response = await this.s3.send(
        new GetObjectCommand({ Bucket, Key, ...(this.etag ? { IfNoneMatch: this.etag } : {}) }),
      );
      text = await response.Body!.transformToString();
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 304) return result;
      if ((error as Error).name !== 'NoSuchKey') throw error;
      this.etag = undefined;
      if (!this.missingReported) {
        this.missingReported = true;
        result.problems.push({
          file: this.manifestUri,
          rule: 'deploy',
          message: `no manifest: deploy with \`runway deploy --to ${this.uri}\` (the DAGs loaded stay)`,
        });
      }
      return result;
    }
    this.etag = response.ETag;
    this.missingReported = false;
    result.changed = true;
    let entries: ManifestEntry[];
    try {
      const manifest = parseManifest(text, this.manifestUri);
      entries = manifest.dags;
      await this.warnOnVersion(manifest.runwayVersion);
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      result.problems.push({
        file: this.manifestUri,
        rule: 'deploy',
        message: `${error.message}; the DAGs loaded stay`,
      });
      return result;
    }

    const fetched = await Promise.all(this.loader.changed(entries).map((e) => this.fetchBundle(e, result.problems)));
    await this.loader.load(
      fetched.flatMap((f) => f ?? []),
      result,
    );
    this.loader.retireUnlisted(new Set(entries.map((e) => e.dagId)), result);
    return result;
  }

  /** Downloads and verifies one bundle; undefined (and a problem) when it cannot be used. */
  private async fetchBundle(entry: ManifestEntry, problems: Problem[]): Promise<ReadyBundle | undefined> {
    const path = join(this.cacheDir, `${entry.sha256}.mjs`);
    if (await stat(path).catch(() => undefined)) return { entry, path };
    const uri = `s3://${this.location.bucket}/${this.location.prefix}${entry.bundle}`;
    const keep = this.loader.keeps(entry.dagId);
    let bytes: Uint8Array;
    try {
      const response = await this.s3.send(
        new GetObjectCommand({ Bucket: this.location.bucket, Key: `${this.location.prefix}${entry.bundle}` }),
      );
      bytes = await response.Body!.transformToByteArray();
    } catch (error) {
      problems.push(this.problem(entry, `cannot fetch ${uri}: ${(error as Error).message}${keep}`));
      return undefined;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== entry.sha256) {
      problems.push(this.problem(entry, `${uri} has SHA-256 ${sha256}, the manifest says ${entry.sha256}${keep}`));
      return undefined;
    }
    // Written whole, then renamed: another process never imports half a bundle.
    const partial = `${path}.${randomUUID()}.partial`;
    try {
      await mkdir(this.cacheDir, { recursive: true });
      await writeFile(partial, bytes);
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true }).catch(() => undefined);
      problems.push(
        this.problem(
          entry,
          `cannot write the bundle to ${this.cacheDir} (${(error as Error).message}); Runway keeps fetched bundles there, so it must be writable${keep}`,
        ),
      );
      return undefined;
    }
    return { entry, path };
  }

  private problem(entry: ManifestEntry, message: string): Problem {
    return this.loader.problem(entry, message);
  }

  private async warnOnVersion(deployedWith: string): Promise<void> {
    const own = await runwayVersion();
    if (deployedWith === own || this.versionWarned) return;
    this.versionWarned = true;
    this.options.log.warn(`${this.manifestUri} was deployed with Runway ${deployedWith}; this is Runway ${own}`);
  }

  /** Refreshes every `intervalMs`, logging what changed; a failed poll is logged and retried. */
  start(intervalMs: number): void {
    const poll = () => {
      this.pending = this.refresh()
        .then((result) => logRefresh(this.options.log, this.uri, result))
        .catch((error: Error) =>
          this.options.log.warn(`cannot read ${this.manifestUri}: ${error.message}; the DAGs loaded stay`),
        )
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(poll, intervalMs);
        });
    };
    this.timer = setTimeout(poll, intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.pending;
  }
}

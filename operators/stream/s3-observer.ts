/**
 * Observing an S3 prefix for the quiescence sensor. With time-ordered keys (Firehose writes
 * `prefix/YYYY/MM/DD/HH/stream-…-<timestamp>-<uuid>`), each poll lists only the keys after the last
 * one seen, so its cost grows with new objects, not with the prefix; every `fullListEvery` polls
 * (and every poll when key order says nothing) it lists everything again, which is how
 * overwrites in place and deletions are seen. The cursor it keeps is a few numbers: it fits in a
 * sensor's state.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../aws-sdk.ts';
import { parseS3Uri } from '../../runner/s3/s3-uri.ts';
import { hash32, type Observation } from './quiescence.ts';

export interface S3Cursor {
  lastKey: string;
  count: number;
  bytes: number;
  sum: number;
  xor: number;
  newestAt: number;
  newestKey: string;
  pollsSinceFullList: number;
}

export interface S3ObserveOptions {
  /** Keys sort in write order, so a poll may list only keys after the last one seen. @defaultValue false */
  timeOrderedKeys?: boolean;
  /** With time-ordered keys, list everything again every this many polls. @defaultValue 10 */
  fullListEvery?: number;
}

export interface S3ObserveResult {
  observation: Observation;
  cursor: S3Cursor;
  /** Whether this poll listed only keys after the last one seen. */
  incremental: boolean;
  /** ListObjectsV2 calls this poll made. */
  listCalls: number;
}

export async function observeS3Prefix(
  s3: Pick<S3Client, 'send'>,
  uri: string,
  previous: S3Cursor | undefined,
  options: S3ObserveOptions & { fullList?: boolean } = {},
): Promise<S3ObserveResult> {
  const { bucket, prefix } = parseS3Uri(uri);
  const incremental =
    options.fullList !== true &&
    options.timeOrderedKeys === true &&
    previous !== undefined &&
    previous.pollsSinceFullList + 1 < (options.fullListEvery ?? 10);
  const cursor: S3Cursor = incremental
    ? { ...previous, pollsSinceFullList: previous.pollsSinceFullList + 1 }
    : { lastKey: '', count: 0, bytes: 0, sum: 0, xor: 0, newestAt: 0, newestKey: '', pollsSinceFullList: 0 };
  let token: string | undefined;
  let listCalls = 0;
  do {
    const page = await s3.send(
      new (await s3Sdk()).ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ContinuationToken: token,
        ...(incremental && !token && cursor.lastKey ? { StartAfter: cursor.lastKey } : {}),
      }),
    );
    listCalls++;
    for (const object of page.Contents ?? []) {
      const key = object.Key!;
      const h = hash32(`${key}\u0000${(object.ETag ?? '').replaceAll('"', '')}`);
      cursor.count++;
      cursor.bytes += object.Size ?? 0;
      cursor.sum = (cursor.sum + h) >>> 0;
      cursor.xor = (cursor.xor ^ h) >>> 0;
      // Listings give LastModified to the second: count a write as happening at the end of its second,
      // or the stream could be called quiet up to a second early.
      const at = object.LastModified ? object.LastModified.getTime() + 999 : 0;
      if (at >= cursor.newestAt) {
        cursor.newestAt = at;
        cursor.newestKey = key;
      }
      if (key > cursor.lastKey) cursor.lastKey = key;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return {
    cursor,
    incremental,
    listCalls,
    observation: {
      count: cursor.count,
      bytes: cursor.bytes,
      fingerprint: `${cursor.sum.toString(16)}.${cursor.xor.toString(16)}`,
      ...(cursor.count > 0 ? { newestAt: cursor.newestAt, newestKey: cursor.newestKey } : {}),
    },
  };
}

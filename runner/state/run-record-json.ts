/**
 * A run's record as the run store keeps it in Redis. The run scripts decode and re-encode the
 * record to change its state and dates, and Redis's cjson turns an empty array into `{}` and keeps
 * 14 significant digits of a number: a run's conf (`{"ids": []}`, a timestamp in microseconds)
 * reached its tasks changed. So the conf is kept as JSON text inside the record: a string goes
 * through cjson unchanged. Records written before (`conf` as an object) are still read.
 */
import type { DagRunRecord } from '../core/model.ts';

type StoredRunRecord = Omit<DagRunRecord, 'conf'> & { confJson?: string; conf?: Record<string, unknown> };

export function encodeRunRecord(run: DagRunRecord): string {
  // `conf` stays as well, for a service of the previous version during a rolling update: it reads
  // what it always read (and the scripts may change), where `confJson` is what this version reads.
  return JSON.stringify({ ...run, confJson: JSON.stringify(run.conf) });
}

export function decodeRunRecord(raw: string): DagRunRecord {
  const { confJson, conf, ...rest } = JSON.parse(raw) as StoredRunRecord;
  return { ...rest, conf: confJson === undefined ? (conf ?? {}) : (JSON.parse(confJson) as Record<string, unknown>) };
}

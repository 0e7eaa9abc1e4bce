/**
 * Workers' heartbeats: each worker writes the queues it takes and the DAG ids it has loaded under a
 * key that expires, and refreshes it every few seconds, so triggers and the UI can tell whether a
 * run will be taken (`core/worker-coverage.ts`). A sorted set of worker ids by expiry lists them;
 * every key shares the prefix's hash tag, so this works on Redis Cluster too.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisClient } from '../redis/connect.ts';
import { coverageGap, type WorkerAdvert } from '../core/worker-coverage.ts';
import type { Engine } from './engine.ts';

/** A worker unheard of for this long is taken for gone. */
export const PRESENCE_TTL_MS = 15_000;

const indexKey = (prefix: string) => `${prefix}:workers`;
const workerKey = (prefix: string, id: string) => `${prefix}:worker:${id}`;

export class WorkerPresence {
  readonly id = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<unknown> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly describe: () => { queues: readonly string[]; dagIds: readonly string[] },
    /** Told why a heartbeat could not be written (Redis away, an ACL); the next beat tries again. */
    private readonly onError: (error: Error) => void = () => undefined,
    private readonly everyMs = 5_000,
  ) {}

  /** Writes the heartbeat now (e.g. after a reload) and then every `everyMs`. */
  start(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.everyMs);
    this.timer.unref();
  }

  beat(): void {
    if (this.writing) return;
    const advert: WorkerAdvert = { id: this.id, host: hostname(), pid: process.pid, ...this.describe() };
    const now = Date.now();
    this.writing = this.redis
      .multi()
      .set(workerKey(this.prefix, this.id), JSON.stringify(advert), 'PX', PRESENCE_TTL_MS)
      .zadd(indexKey(this.prefix), now + PRESENCE_TTL_MS, this.id)
      .zremrangebyscore(indexKey(this.prefix), '-inf', now)
      .exec()
      .then((replies) => {
        const failed = replies?.find(([error]) => error)?.[0];
        if (failed) throw failed;
      })
      .catch((error: Error) => this.onError(error))
      .finally(() => (this.writing = undefined));
  }

  /** Removes this worker's heartbeat: a worker that stops is not counted for the TTL. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.writing;
    await this.redis
      .multi()
      .del(workerKey(this.prefix, this.id))
      .zrem(indexKey(this.prefix), this.id)
      .exec()
      .catch(() => undefined);
  }
}

/** The workers that reported within the TTL. */
export async function liveWorkers(redis: RedisClient, prefix: string): Promise<WorkerAdvert[]> {
  const ids = await redis.zrangebyscore(indexKey(prefix), Date.now(), '+inf');
  if (ids.length === 0) return [];
  const values = await redis.mget(...ids.map((id) => workerKey(prefix, id)));
  return values.flatMap((v) => (v ? [JSON.parse(v) as WorkerAdvert] : []));
}

/** Why the DAG's runs would wait for a worker now, or undefined when live workers can take them. */
export async function workerGap(engine: Engine, dagId: string): Promise<string | undefined> {
  const loaded = engine.registry.get(dagId);
  const queues = loaded ? loaded.summary.tasks.map((t) => t.queue ?? 'default') : ['default'];
  return coverageGap(await liveWorkers(engine.redis, engine.prefix), dagId, queues);
}

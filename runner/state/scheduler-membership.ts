/**
 * The live schedulers: each writes a heartbeat in a sorted set (`schedulers`, member id scored by
 * expiry) every `beatMs`, and the same script drops the members whose heartbeat lapsed and returns
 * the rest. Scores are Redis's own clock (`TIME`), so hosts whose clocks disagree or jump (NTP, a
 * VM resumed) agree on who is live. A scheduler that stops leaves at once; one that dies leaves
 * when its heartbeat lapses, `ttlMs` later. The key shares the prefix's hash tag (Redis Cluster).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisClient } from '../redis/connect.ts';

// KEYS: the schedulers set. ARGV: this scheduler's id, ttl (ms). Returns the live ids.
const BEAT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

export interface SchedulerMembershipOptions {
  /** A scheduler unheard of this long is taken for gone and its DAGs move. @defaultValue 10_000 */
  ttlMs?: number;
  /** Time between heartbeats. @defaultValue ttlMs / 4 */
  beatMs?: number;
  /** Told when a heartbeat fails (Redis away); the next beat tries again and the last view stays. */
  onError?: (error: unknown) => void;
  /** Told when the live set changes, with the new one. */
  onChange?: (members: readonly string[]) => void;
}

type Scripted = RedisClient & Record<'runwaySchedulerBeat', (...args: (string | number)[]) => Promise<unknown>>;

export class SchedulerMembership {
  /** Host and pid first, so that a person reading `schedulers` or a log can tell who it is. */
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly ttlMs: number;
  private readonly beatMs: number;
  private readonly redis: Scripted;
  private live: readonly string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private stopped = false;

  constructor(
    redis: RedisClient,
    private readonly key: string,
    private readonly options: SchedulerMembershipOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.beatMs = options.beatMs ?? Math.max(100, Math.floor(this.ttlMs / 4));
    const scripted = redis as Scripted;
    if (typeof scripted.runwaySchedulerBeat !== 'function') {
      redis.defineCommand('runwaySchedulerBeat', { numberOfKeys: 1, lua: BEAT });
    }
    this.redis = scripted;
  }

  /**
   * The live schedulers, sorted, as of the last heartbeat; this one always among them (before its
   * first heartbeat, or when Redis refuses it, it works as if alone: overlapping work is safe, runs
   * are created only if absent).
   */
  members(): readonly string[] {
    return this.live.includes(this.id) ? this.live : [...this.live, this.id].sort();
  }

  /** Writes a heartbeat and reads the live set; one at a time. */
  beat(): Promise<void> {
    this.beating ??= this.redis
      .runwaySchedulerBeat(this.key, this.id, this.ttlMs)
      .then((ids) => {
        const live = [...(ids as string[])].sort();
        const changed = live.length !== this.live.length || live.some((id, i) => id !== this.live[i]);
        this.live = live;
        if (changed) this.options.onChange?.(this.members());
      })
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => (this.beating = undefined));
    return this.beating;
  }

  /** The first heartbeat, awaited, then one every `beatMs`. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.beat();
    if (this.stopped) return;
    this.timer = setInterval(() => void this.beat(), this.beatMs);
    this.timer.unref();
  }

  /** Leaves the live set at once, so the others take this scheduler's DAGs on their next pass. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.redis.zrem(this.key, this.id).catch((error: unknown) => this.options.onError?.(error));
  }
}

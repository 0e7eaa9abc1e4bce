/**
 * Deadline due times in Redis, so they outlive any one scheduler: a sorted set `deadlines` of
 * `[dagId, runId]` scored by when the run must have finished, and each miss on the run's own hash
 * (field `deadline-miss`, deleted with the run by retention).
 *
 * Several schedulers read the set each pass. A due entry is taken by one of them with a lease: the
 * claim script moves its score to now + lease in the same step it reads it, so the others skip it
 * until the lease runs out (the claimer died), and the claimer removes it once the alert is sent.
 * The miss is written before the alert is sent and marked sent after: a claimer that finds it
 * already sent only removes the entry, so a restart or a second scheduler never tells twice. Keys
 * share the run store's hash tag (Redis Cluster).
 */
import type { RedisClient } from '../redis/connect.ts';
import type { RunStore } from './run-store.ts';

// KEYS: deadlines. ARGV: now, lease end, most to take. Due entries, each leased to the caller.
const CLAIM = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], member) end
return due`;

// KEYS: run hash, changes counter. ARGV: the miss as JSON. Written once, only on a run that exists
// (retention may have deleted it): returns the miss now recorded, the caller's or an earlier one.
const RECORD_MISS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HSETNX', KEYS[1], 'deadline-miss', ARGV[1]) == 1 then redis.call('INCR', KEYS[2]) end
return redis.call('HGET', KEYS[1], 'deadline-miss')`;

// KEYS: run hash, changes counter. ARGV: the miss as JSON. Updates a recorded miss only.
const UPDATE_MISS = `
if redis.call('HEXISTS', KEYS[1], 'deadline-miss') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'deadline-miss', ARGV[1])
redis.call('INCR', KEYS[2])
return 1`;

type Scripted = RedisClient &
  Record<'runwayClaimDeadlines', (...args: (string | number)[]) => Promise<string[]>> &
  Record<'runwayRecordDeadlineMiss', (...args: string[]) => Promise<string | null>> &
  Record<'runwayUpdateDeadlineMiss', (...args: string[]) => Promise<number>>;

/** A run's missed deadline, as the run page and the CLI show it. */
export interface DeadlineMiss {
  /** ISO time the run should have finished by. */
  deadline: string;
  /** ISO time a scheduler found the miss. */
  detectedAt: string;
  /** The run's state then. */
  state: string;
  /** ISO time the notifiers were told; absent while they are being told. */
  notifiedAt?: string;
}

export interface DeadlineEntry {
  dagId: string;
  runId: string;
}

export class DeadlineStore {
  private readonly redis: Scripted;

  constructor(
    redis: RedisClient,
    private readonly store: RunStore,
  ) {
    const scripted = redis as Scripted;
    if (typeof scripted.runwayClaimDeadlines !== 'function') {
      redis.defineCommand('runwayClaimDeadlines', { numberOfKeys: 1, lua: CLAIM });
      redis.defineCommand('runwayRecordDeadlineMiss', { numberOfKeys: 2, lua: RECORD_MISS });
      redis.defineCommand('runwayUpdateDeadlineMiss', { numberOfKeys: 2, lua: UPDATE_MISS });
    }
    this.redis = scripted;
  }

  get key(): string {
    return this.store.key('deadlines');
  }

  private get changesKey(): string {
    return this.store.key('changes');
  }

  /** Watches a run's deadline; an entry already there keeps its score (a claim's lease). */
  async watch(dagId: string, runId: string, dueAt: number): Promise<void> {
    await this.redis.zadd(this.key, 'NX', dueAt, member(dagId, runId));
  }

  /** Puts an entry back with a new due time (the DAG's deadline moved later). */
  async reschedule(entry: DeadlineEntry, dueAt: number): Promise<void> {
    await this.redis.zadd(this.key, dueAt, member(entry.dagId, entry.runId));
  }

  /** Due entries, at most `limit`, leased to the caller until `now + leaseMs`. */
  async claimDue(now: number, leaseMs: number, limit = 100): Promise<DeadlineEntry[]> {
    const members = await this.redis.runwayClaimDeadlines(this.key, now, now + leaseMs, limit);
    return members.map((m) => {
      const [dagId, runId] = JSON.parse(m) as [string, string];
      return { dagId, runId };
    });
  }

  async done(entry: DeadlineEntry): Promise<void> {
    await this.redis.zrem(this.key, member(entry.dagId, entry.runId));
  }

  /** Records the miss unless one is recorded; returns the recorded one, or undefined if the run is gone. */
  async recordMiss(entry: DeadlineEntry, miss: DeadlineMiss): Promise<DeadlineMiss | undefined> {
    const runKey = this.store.runKey(entry.dagId, entry.runId);
    const raw = await this.redis.runwayRecordDeadlineMiss(runKey, this.changesKey, JSON.stringify(miss));
    return raw ? (JSON.parse(raw) as DeadlineMiss) : undefined;
  }

  async markNotified(entry: DeadlineEntry, miss: DeadlineMiss, at: Date): Promise<void> {
    const runKey = this.store.runKey(entry.dagId, entry.runId);
    await this.redis.runwayUpdateDeadlineMiss(
      runKey,
      this.changesKey,
      JSON.stringify({ ...miss, notifiedAt: at.toISOString() }),
    );
  }

  async missOf(dagId: string, runId: string): Promise<DeadlineMiss | undefined> {
    const raw = await this.redis.hget(this.store.runKey(dagId, runId), 'deadline-miss');
    return raw ? (JSON.parse(raw) as DeadlineMiss) : undefined;
  }
}

// JSON: DAG and run ids may not hold a quote, but the encoding must not depend on that.
const member = (dagId: string, runId: string) => JSON.stringify([dagId, runId]);

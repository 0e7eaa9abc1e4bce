/**
 * Asset-triggered runs. A producing task's success records its events and, in the same job, looks
 * at the DAGs that consume those assets, so a consumer's run is created and started within
 * milliseconds of the event; schedulers look at every consumer each pass too, for the events whose
 * worker died before it looked, and for consumers the producing worker does not load. Any number of
 * workers and schedulers may look at once: the run is created by a compare-and-set on the
 * consumer's cursors (`AssetEventStore.consume`), so each satisfied condition makes one run.
 */
import { conditionUris, isSatisfied, type AssetConditionJson, type AssetEvent } from '../core/asset.ts';
import type { DagRunRecord } from '../core/model.ts';
import { withLogContext } from '../core/operator.ts';
import type { LoadedDag } from '../loader/dag-registry.ts';
import { AssetEventStore, type AssetEventInput } from '../state/asset-events.ts';
import type { Engine } from '../state/engine.ts';
import { describeRedisError } from '../redis/redis-errors.ts';

/** Events of one asset handed to one run: more are consumed, only the newest are listed. */
export const EVENTS_PER_RUN = 100;
/** Tries of one look when other processes keep moving the cursors under it. */
const ATTEMPTS = 5;

export class AssetTrigger {
  readonly events: AssetEventStore;
  private consumersVersion = -1;
  private consumers = new Map<string, LoadedDag[]>();

  constructor(private readonly engine: Engine) {
    this.events = new AssetEventStore(engine.redis, engine.store);
  }

  /** The loaded, scheduled DAGs whose asset condition names `uri`. */
  consumersOf(uri: string): readonly LoadedDag[] {
    const { registry } = this.engine;
    if (registry.version !== this.consumersVersion) {
      this.consumers = new Map();
      for (const loaded of registry.list()) {
        const condition = loaded.summary.assetSchedule;
        if (!condition) continue;
        for (const consumed of conditionUris(condition)) {
          this.consumers.set(consumed, [...(this.consumers.get(consumed) ?? []), loaded]);
        }
      }
      this.consumersVersion = registry.version;
    }
    return this.consumers.get(uri) ?? [];
  }

  /**
   * Records the events of a successful try and triggers the DAGs that consume them. Idempotent per
   * try: a job run again after its worker died records nothing twice.
   */
  async produced(
    attempt: { dagId: string; runId: string; taskId: string; generation: number; tryNumber: number },
    outlets: readonly string[],
    extras: ReadonlyMap<string, string> = new Map(),
  ): Promise<number> {
    if (outlets.length === 0) return 0;
    const inputs: AssetEventInput[] = outlets.map((uri) => ({
      uri,
      sourceDagId: attempt.dagId,
      sourceRunId: attempt.runId,
      sourceTaskId: attempt.taskId,
      ...(extras.has(uri) ? { extraJson: extras.get(uri)! } : {}),
    }));
    await this.events.record(attempt, inputs);
    // The events are recorded: a consumer this fails to trigger is triggered by the next scheduler pass.
    return this.checkEach(new Set(outlets.flatMap((uri) => this.consumersOf(uri))));
  }

  /** Looks at every asset-scheduled DAG: what a scheduler pass does. Returns the runs created. */
  async checkAll(): Promise<number> {
    return this.checkEach(this.engine.registry.list().filter((loaded) => loaded.summary.assetSchedule));
  }

  private async checkEach(consumers: Iterable<LoadedDag>): Promise<number> {
    let created = 0;
    for (const loaded of consumers) {
      try {
        created += await this.check(loaded);
      } catch (error) {
        withLogContext(this.engine.log, { dagId: loaded.summary.dagId }).error(
          `assets: looking at ${loaded.summary.dagId}: ${describeRedisError(error)}`,
        );
      }
    }
    return created;
  }

  /**
   * Creates the consumer's run if its condition holds on events it has not consumed, then starts
   * its queued runs. Returns 1 if this call created the run, 0 if the condition does not hold, the
   * DAG is paused, or another process created it first.
   */
  async check(loaded: LoadedDag): Promise<number> {
    const condition = loaded.summary.assetSchedule;
    if (!condition || this.engine.registry.isRetired(loaded.summary.dagId)) return 0;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const outcome = await this.tryConsume(loaded, condition);
      if (outcome === 'not-due') return 0;
      if (outcome === 'created') {
        await this.engine.startQueuedRuns(loaded);
        return 1;
      }
    }
    return 0;
  }

  private async tryConsume(loaded: LoadedDag, condition: AssetConditionJson): Promise<'created' | 'not-due' | 'raced'> {
    const dagId = loaded.summary.dagId;
    const uris = conditionUris(condition);
    const state = await this.events.consumerState(dagId, uris);
    const paused = state.paused === null ? loaded.summary.pausedOnCreation : state.paused === '1';
    if (paused) return 'not-due';
    const updated = new Set(uris.filter((uri) => state.assets.get(uri)!.latest > state.assets.get(uri)!.consumed));
    if (!isSatisfied(condition, updated)) return 'not-due';
    const events: AssetEvent[] = [];
    for (const uri of updated) {
      const { consumed, latest } = state.assets.get(uri)!;
      events.push(...(await this.events.eventsBetween(uri, consumed, latest, EVENTS_PER_RUN)));
    }
    // Every event was trimmed away (a consumer paused through more than EVENTS_KEPT events of each
    // asset, say): the run still comes, with its dates from now.
    events.sort((a, b) => a.id - b.id);
    const now = new Date().toISOString();
    const newest = events.at(-1);
    const logicalDate = newest?.at ?? now;
    const newestId = Math.max(...uris.map((uri) => state.assets.get(uri)!.latest));
    const run: DagRunRecord = {
      dagId,
      runId: `asset_triggered__${logicalDate}_${newestId}`,
      state: 'queued',
      runType: 'asset_triggered',
      logicalDate,
      dataIntervalStart: events[0]?.at ?? logicalDate,
      dataIntervalEnd: logicalDate,
      conf: {},
      createdAt: now,
    };
    const moves = uris.map((uri) => {
      const { consumed, latest } = state.assets.get(uri)!;
      return { uri, from: consumed, to: updated.has(uri) ? latest : consumed };
    });
    const created = await this.events.consume({ run, taskIds: loaded.graph.map((t) => t.id), events, moves });
    if (created) {
      withLogContext(this.engine.log, { dagId, runId: run.runId }).info(
        `assets: created ${dagId} ${run.runId} on ${events.length} event(s) of ${[...updated].join(', ')}`,
      );
    }
    return created ? 'created' : 'raced';
  }
}

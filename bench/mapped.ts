/**
 * bench/runner's mapped case: one task mapped over 1,000 elements against a DAG of 1,000
 * independent tasks, in alternating rounds on the same Redis, and the time from the upstream
 * task's end to its first mapped instance running, beside the same hop to a plain task.
 *
 * Bytes are counted twice: the sizes of all keys (MEMORY USAGE) before and after a run, without
 * BullMQ's event stream, and Redis's whole used_memory delta. The stream is shared by both DAGs'
 * jobs and bounded (the last ~1,000 events, trimmed a node at a time), so it swings by tens of KB
 * from run to run whatever the run holds; used_memory also moves with buffers and allocator state.
 */
import { dag } from '../runner/index.ts';
import type { AnyDag } from '../runner/loader/dag-registry.ts';
import type { Engine } from '../runner/state/engine.ts';
import type { RedisClient } from '../runner/redis/connect.ts';

export interface MappedCaseDeps {
  base: Omit<Parameters<typeof dag>[0], 'id'>;
  startRunway(dags: AnyDag[]): { engine: Engine; close(): Promise<void> };
  trigger(engine: Engine, dagId: string): Promise<string>;
  waitRun(engine: Engine, dagId: string, runId: string): Promise<void>;
  probe: RedisClient;
}

export interface MappedCaseResult {
  mappedMs: number[];
  independentMs: number[];
  /** Median bytes per instance the run's keys hold in Redis (BullMQ's bounded event stream left out). */
  mappedBytesEach: number;
  independentBytesEach: number;
  /** The same with the event stream's swing in: Redis's used_memory delta alone. */
  mappedUsedMemoryEach: number;
  independentUsedMemoryEach: number;
  /** Upstream end -> first mapped instance running, one per round (ms). */
  firstIndexMs: number[];
  /** Upstream end -> its one plain downstream task running, one per round (ms): a hop's floor. */
  plainHopMs: number[];
}

function usedMemory(info: string): number {
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

export async function mappedCase(n: number, rounds: number, deps: MappedCaseDeps): Promise<MappedCaseResult> {
  let listEnded = 0;
  let firstStart = Infinity;
  const mapped = dag({ ...deps.base, id: 'data_lake__bench_mapped', maxActiveTasks: n })
    .task('list', {}, async () => {
      const items = Array.from({ length: n }, (_, i) => i);
      listEnded = performance.now();
      return items;
    })
    .expand('each', { over: 'list', maxMapLength: n }, () => async () => {
      firstStart = Math.min(firstStart, performance.now());
      return null;
    });
  let wide = dag({ ...deps.base, id: 'data_lake__bench_wide_peer', maxActiveTasks: n }) as ReturnType<typeof dag>;
  for (let i = 0; i < n; i++) wide = wide.task(`t${i}`, {}, async () => null) as never;
  let hopEnded = 0;
  let hopStart = 0;
  const hop = dag({ ...deps.base, id: 'data_lake__bench_hop_peer' })
    .task('list', {}, async () => {
      hopEnded = performance.now();
      return [0];
    })
    .task('after', { upstream: ['list'] }, async () => {
      hopStart = performance.now();
      return null;
    });

  const { engine, close } = deps.startRunway([mapped, wide as AnyDag, hop]);
  const events = engine.queue('default').keys.events!;
  const result: MappedCaseResult = {
    mappedMs: [],
    independentMs: [],
    mappedBytesEach: 0,
    independentBytesEach: 0,
    mappedUsedMemoryEach: 0,
    independentUsedMemoryEach: 0,
    firstIndexMs: [],
    plainHopMs: [],
  };
  // Every key's exact size (MEMORY USAGE with all elements sampled), the event stream left out.
  const keyBytes = async () => {
    let total = 0;
    for (const key of await deps.probe.keys('*')) {
      if (key !== events) total += Number((await deps.probe.memory('USAGE', key, 'SAMPLES', '0')) ?? 0);
    }
    return total;
  };
  const memory = async () => ({ used: usedMemory(await deps.probe.info('memory')), keys: await keyBytes() });
  const measure = async (dagId: string) => {
    const before = await memory();
    const started = performance.now();
    const runId = await deps.trigger(engine, dagId);
    await deps.waitRun(engine, dagId, runId);
    const ms = performance.now() - started;
    const after = await memory();
    return { ms, used: after.used - before.used, bytes: after.keys - before.keys };
  };
  try {
    const bytes = { mapped: [] as number[], independent: [] as number[] };
    const used = { mapped: [] as number[], independent: [] as number[] };
    for (let round = 0; round < rounds + 2; round++) {
      firstStart = Infinity;
      const m = await measure('data_lake__bench_mapped');
      const w = await measure('data_lake__bench_wide_peer');
      await measure('data_lake__bench_hop_peer');
      if (round < 2) continue; // warm-up
      result.mappedMs.push(m.ms);
      result.independentMs.push(w.ms);
      result.firstIndexMs.push(firstStart - listEnded);
      result.plainHopMs.push(hopStart - hopEnded);
      bytes.mapped.push(m.bytes / n);
      bytes.independent.push(w.bytes / n);
      used.mapped.push(m.used / n);
      used.independent.push(w.used / n);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    result.mappedBytesEach = median(bytes.mapped);
    result.independentBytesEach = median(bytes.independent);
    result.mappedUsedMemoryEach = median(used.mapped);
    result.independentUsedMemoryEach = median(used.independent);
  } finally {
    await close();
  }
  return result;
}

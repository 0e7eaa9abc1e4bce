/**
 * bench/runner's mapped case: one task mapped over 1,000 elements against a DAG of 1,000
 * independent tasks, in alternating rounds on the same Redis, and the time from the upstream
 * task's end to its first mapped instance running.
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
  mappedBytesEach: number;
  independentBytesEach: number;
  /** Upstream end -> first mapped instance running, one per round (ms). */
  firstIndexMs: number[];
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

  const { engine, close } = deps.startRunway([mapped, wide as AnyDag]);
  const result: MappedCaseResult = {
    mappedMs: [],
    independentMs: [],
    mappedBytesEach: 0,
    independentBytesEach: 0,
    firstIndexMs: [],
  };
  const measure = async (dagId: string) => {
    const before = usedMemory(await deps.probe.info('memory'));
    const started = performance.now();
    const runId = await deps.trigger(engine, dagId);
    await deps.waitRun(engine, dagId, runId);
    const ms = performance.now() - started;
    return { ms, bytes: usedMemory(await deps.probe.info('memory')) - before };
  };
  try {
    const bytes = { mapped: [] as number[], independent: [] as number[] };
    for (let round = 0; round < rounds + 2; round++) {
      firstStart = Infinity;
      const m = await measure('data_lake__bench_mapped');
      const w = await measure('data_lake__bench_wide_peer');
      if (round < 2) continue; // warm-up
      result.mappedMs.push(m.ms);
      result.independentMs.push(w.ms);
      result.firstIndexMs.push(firstStart - listEnded);
      bytes.mapped.push(m.bytes / n);
      bytes.independent.push(w.bytes / n);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    result.mappedBytesEach = median(bytes.mapped);
    result.independentBytesEach = median(bytes.independent);
  } finally {
    await close();
  }
  return result;
}

/**
 * bench/scale's start-up columns. A scheduler or worker on a local folder loads it through a
 * `LocalDagSource` (validate in isolation, bundle, import); a restart on an unchanged folder takes
 * the bundles it verified before. Each is measured in a fresh process: the cold start first (which
 * fills the cache), then the restart, whose process goes on to the rest of the benchmark.
 */
import { join } from 'node:path';
import { DagRegistry } from '../runner/loader/dag-registry.ts';
import { LocalDagSource } from '../runner/deploy/local-dag-source.ts';
import type { Logger } from '../runner/core/operator.ts';

export interface StartFigures {
  /** Seconds to load the folder, and the RSS after, in MiB. */
  startS: number;
  rssMiB: number;
}

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: (m) => process.stderr.write(`${m}\n`) };

/** The folder's DAGs as a service loads them, with the bundle cache under `cacheRoot`. */
export async function loadLikeAService(folder: string, cacheRoot: string) {
  const registry = new DagRegistry();
  const source = new LocalDagSource(folder, registry, { log: quiet, cacheDir: join(cacheRoot, 'bundles') });
  const started = performance.now();
  await source.refresh();
  const startS = (performance.now() - started) / 1_000;
  return { registry, startS, stop: () => source.stop() };
}

/** The cold start, in this (fresh) process: nothing verified yet. */
export async function coldStart(folder: string, cacheRoot: string): Promise<StartFigures> {
  const { startS, stop } = await loadLikeAService(folder, cacheRoot);
  const rssMiB = process.memoryUsage().rss / 1024 / 1024;
  await stop();
  return { startS, rssMiB };
}

/** The rows bench/scale prints for start-up. */
export function startRows(
  results: readonly { dags: number; cold: StartFigures; loadS: number; rssMiB: number }[],
  row: (label: string, values: string[], target?: string) => void,
): void {
  row(
    'first start of a service',
    results.map((r) => `${r.cold.startS.toFixed(2)} s`),
  );
  row(
    '  its RSS',
    results.map((r) => `${r.cold.rssMiB.toFixed(0)} MiB`),
  );
  row(
    'restart, folder unchanged',
    results.map((r) => `${r.loadS.toFixed(2)} s`),
    '<= 5 s',
  );
}

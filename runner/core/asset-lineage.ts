/**
 * Lineage across DAGs: which DAGs (and tasks) update each asset, which DAGs run on it, and the two
 * problems only the whole folder shows: a DAG waiting on an asset nothing updates (it never runs),
 * and a cycle of DAGs through assets (each run triggers the next, for ever). Pure.
 */
import { conditionUris } from './asset.ts';
import { findCycle } from './dag-checks.ts';
import type { DagSummary } from './dag-summary.ts';
import type { DagProblem } from './problem.ts';

export interface AssetLineage {
  uri: string;
  producers: { dagId: string; taskId: string }[];
  consumers: string[];
}

/** Every asset the DAGs name, by URI, sorted, with its producers and consumers. */
export function assetLineage(dags: readonly DagSummary[]): AssetLineage[] {
  const byUri = new Map<string, AssetLineage>();
  const entry = (uri: string) => {
    let found = byUri.get(uri);
    if (!found) byUri.set(uri, (found = { uri, producers: [], consumers: [] }));
    return found;
  };
  for (const dag of dags) {
    for (const task of dag.tasks) {
      for (const uri of task.outlets ?? []) entry(uri).producers.push({ dagId: dag.dagId, taskId: task.id });
    }
    if (dag.assetSchedule) for (const uri of conditionUris(dag.assetSchedule)) entry(uri).consumers.push(dag.dagId);
  }
  return [...byUri.values()].sort((a, b) => a.uri.localeCompare(b.uri));
}

/** Consumers of assets no DAG updates: warnings (an event can come from a DAG not deployed yet). */
export function unproducedAssets(dags: readonly DagSummary[]): DagProblem[] {
  return assetLineage(dags)
    .filter((asset) => asset.producers.length === 0)
    .flatMap((asset) =>
      asset.consumers.map((dagId) => ({
        dagId,
        rule: 'asset-without-producer',
        message: `runs on asset ${asset.uri}, which no task of these DAGs lists in its outlets: it will wait for ever unless another deployment updates it`,
      })),
    );
}

/** A cycle of DAGs through assets, as an error on each DAG in it, naming them in order. */
export function assetCycles(dags: readonly DagSummary[]): DagProblem[] {
  const lineage = assetLineage(dags);
  // A consumer's "upstream" DAGs are the producers of the assets it runs on.
  const upstream = new Map<string, Set<string>>(dags.map((d) => [d.dagId, new Set()]));
  for (const asset of lineage) {
    for (const consumer of asset.consumers) {
      for (const producer of asset.producers) upstream.get(consumer)?.add(producer.dagId);
    }
  }
  const problems: DagProblem[] = [];
  for (const [dagId, producers] of upstream) {
    if (producers.has(dagId)) {
      problems.push({
        dagId,
        rule: 'asset-cycle',
        message: `runs on an asset it updates itself (${viaAssets(lineage, dagId, dagId).join(', ')}): each run would trigger the next`,
      });
    }
  }
  const cycle = findCycle([...upstream].map(([id, ups]) => ({ id, upstream: [...ups] })));
  if (cycle && cycle.length > 2) {
    const hops = cycle
      .slice(1)
      .map((to, i) => `${cycle[i]} -> ${to} (via ${viaAssets(lineage, cycle[i]!, to).join(', ')})`);
    for (const dagId of new Set(cycle)) {
      problems.push({
        dagId,
        rule: 'asset-cycle',
        message: `is in a cycle of DAGs through assets: ${hops.join(', ')}; each run would trigger the next for ever`,
      });
    }
  }
  return problems;
}

function viaAssets(lineage: readonly AssetLineage[], producer: string, consumer: string): string[] {
  return lineage
    .filter((a) => a.consumers.includes(consumer) && a.producers.some((p) => p.dagId === producer))
    .map((a) => a.uri);
}

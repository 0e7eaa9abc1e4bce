/**
 * What `runway assets` and the web UI show of assets: each asset the loaded DAGs name or that has
 * had an event, which DAGs update it and which run on it, and its recent events.
 */
import { assetLineage, type AssetLineage } from '../core/asset-lineage.ts';
import type { AssetEvent } from '../core/asset.ts';
import { AssetEventStore } from './asset-events.ts';
import type { Engine } from './engine.ts';

export interface AssetListItem extends AssetLineage {
  /** The newest event, or null when it has had none (since Redis was last emptied). */
  lastEvent: AssetEvent | null;
}

export async function listAssets(engine: Engine): Promise<AssetListItem[]> {
  const store = new AssetEventStore(engine.redis, engine.store);
  const lineage = new Map(assetLineage(engine.registry.list().map((d) => d.summary)).map((a) => [a.uri, a]));
  for (const uri of (await store.knownAssets()).keys()) {
    if (!lineage.has(uri)) lineage.set(uri, { uri, producers: [], consumers: [] });
  }
  const items = await Promise.all(
    [...lineage.values()].map(async (asset) => ({
      ...asset,
      lastEvent: (await store.recentEvents(asset.uri, 1))[0] ?? null,
    })),
  );
  return items.sort((a, b) => a.uri.localeCompare(b.uri));
}

/** One asset: its lineage and its newest events, newest first; undefined when nothing knows it. */
export async function assetDetail(
  engine: Engine,
  uri: string,
  limit = 25,
): Promise<(AssetLineage & { events: AssetEvent[] }) | undefined> {
  const store = new AssetEventStore(engine.redis, engine.store);
  const lineage = assetLineage(engine.registry.list().map((d) => d.summary)).find((a) => a.uri === uri);
  const events = await store.recentEvents(uri, limit);
  if (!lineage && events.length === 0) return undefined;
  return { ...(lineage ?? { uri, producers: [], consumers: [] }), events };
}

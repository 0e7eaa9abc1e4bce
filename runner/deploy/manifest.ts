/**
 * The deployment manifest: the one object a scheduler reads to know which DAG bundles make up the
 * deployed set. Bundles are content-addressed, so a manifest names an immutable set, and writing it
 * is the single step that switches every scheduler from one set to the next.
 */
import { z } from 'zod';

export const MANIFEST_KEY = 'manifest.json';
export const BUNDLES_FOLDER = 'bundles/';

const manifestEntry = z.object({
  dagId: z.string().min(1),
  /** The DAG file it was built from, as the repository names it. */
  source: z.string().min(1),
  /** Key of the bundle, relative to the deployment prefix. */
  bundle: z.string().regex(/^bundles\/[A-Za-z0-9._-]+\.mjs$/, 'must be bundles/<name>.mjs'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
});

export const deployManifestSchema = z.object({
  format: z.literal(1),
  runwayVersion: z.string(),
  commit: z.string().nullable(),
  deployedAt: z.string(),
  dags: z.array(manifestEntry),
});

export type DeployManifest = z.infer<typeof deployManifestSchema>;
export type ManifestEntry = z.infer<typeof manifestEntry>;

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

/** Parses a manifest read from `where`; throws a ManifestError naming the place and the field. */
export function parseManifest(text: string, where: string): DeployManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`${where}: not JSON (${(error as Error).message})`);
  }
  const parsed = deployManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ManifestError(`${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const seen = new Set<string>();
  for (const entry of parsed.data.dags) {
    if (seen.has(entry.dagId)) throw new ManifestError(`${where}: DAG "${entry.dagId}" is listed twice`);
    seen.add(entry.dagId);
  }
  return parsed.data;
}

export interface ManifestDiff {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
}

/** What deploying `next` over `previous` changes, by DAG id. */
export function diffManifests(previous: DeployManifest | undefined, next: DeployManifest): ManifestDiff {
  const before = new Map((previous?.dags ?? []).map((d) => [d.dagId, d.sha256]));
  const after = new Map(next.dags.map((d) => [d.dagId, d.sha256]));
  const diff: ManifestDiff = { added: [], changed: [], removed: [], unchanged: [] };
  for (const [dagId, sha] of after) {
    const old = before.get(dagId);
    if (old === undefined) diff.added.push(dagId);
    else if (old === sha) diff.unchanged.push(dagId);
    else diff.changed.push(dagId);
  }
  for (const dagId of before.keys()) if (!after.has(dagId)) diff.removed.push(dagId);
  for (const list of Object.values(diff)) list.sort();
  return diff;
}

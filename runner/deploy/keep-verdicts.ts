/**
 * Good verdicts reached outside a service (`runway dags list`) kept in the verified cache, with
 * their bundles, exactly as a service keeps its own: the next `dags list`, and a service starting on
 * the unchanged folder, take them instead of importing each file again in isolation.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ValidateReport } from '../loader/validate.ts';
import { bundleDags } from './bundle.ts';
import type { FolderScan } from './folder-scan.ts';
import type { VerifiedBundles } from './verified-bundles.ts';

/**
 * Keeps each file of `report` that imported with no problem. `report` must come from `validate` with
 * the services' structural policy (what keeps a DAG from running), `scan` from the folder `root`.
 */
export async function keepVerdicts(
  report: ValidateReport,
  scan: FolderScan,
  root: string,
  cache: VerifiedBundles,
): Promise<void> {
  const clean = report.files.filter(
    (f) => f.dag && scan.dags.has(f.absolutePath) && !report.problems.some((p) => p.file === f.file),
  );
  if (clean.length === 0) return;
  const dir = await mkdtemp(join(tmpdir(), 'runway-verdicts-'));
  try {
    const bundles = await bundleDags(
      clean.map((f) => ({ dagId: f.dag!.dagId, file: f.file, absolutePath: f.absolutePath })),
      dir,
      root,
    );
    await Promise.all(
      bundles.map(async ({ dagId, bundle, sha256, inputs }, i) => {
        const file = clean[i]!;
        const key = await cache.key(scan.dags.get(file.absolutePath)!, scan.helpers);
        await cache.put(key, { dagId, bundle, sha256, inputs, summary: file.dag! }, dir, scan);
      }),
    );
  } catch {
    // A file that cannot be bundled is reported by the service that loads it; listing goes on.
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

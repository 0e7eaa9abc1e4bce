/**
 * 38 hostile DAG files and 2 good ones in one folder: `runway validate` names each hostile file and
 * why, exits 1, leaves the good DAGs alone, and its whole process tree stays within a memory bound.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Problem } from '../../runner/core/problem.ts';
import { samplePeakRss } from '../helpers/process-tree.ts';
import { REPO_ROOT } from '../helpers/run-cli.ts';

const FOLDER = 'test/fixtures/hostile-dags';
/** The validator and its import children (4 at most, 512 MiB heap each) together. */
const MEMORY_BOUND_MIB = 2_560;

describe('hostile DAG files', () => {
  it('are each reported with file and reason, exit 1, good DAGs unaffected, memory bounded', async () => {
    const entries = (await readdir(join(REPO_ROOT, FOLDER))).filter((f) => f.endsWith('.ts'));
    const good = entries.filter((f) => f.startsWith('good_'));
    const hostile = entries.filter((f) => !f.startsWith('good_'));
    expect(hostile.length).toBeGreaterThanOrEqual(30);

    const started = Date.now();
    const child = spawn(
      process.execPath,
      ['bin/runway.js', 'validate', FOLDER, '--format', 'json', '--import-timeout', '5'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const peak = samplePeakRss(child.pid!);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const peakMib = peak.stop() / 1024 / 1024;
    const report = JSON.parse(stdout) as { ok: boolean; files: number; problems: Problem[] };

    const byFile = new Map<string, Problem[]>();
    for (const p of report.problems) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
    const rows = hostile.map((f) => {
      const found = byFile.get(`${FOLDER}/${f}`) ?? [];
      return `  ${f.padEnd(34)} ${found.length === 0 ? 'NOT REPORTED' : `${found[0]!.rule}: ${found[0]!.message.split('\n')[0]!.slice(0, 90)}`}`;
    });
    console.log(
      [
        `hostile DAG files: ${hostile.length} hostile + ${good.length} good, validated in ${((Date.now() - started) / 1_000).toFixed(1)} s`,
        `  exit code ${code}; peak memory of the validator's process tree ${peakMib.toFixed(0)} MiB (bound ${MEMORY_BOUND_MIB} MiB)`,
        ...rows,
      ].join('\n'),
    );

    expect(code).toBe(1);
    expect(report.files).toBe(entries.length);
    for (const f of hostile) {
      const found = byFile.get(`${FOLDER}/${f}`);
      expect(found, `${f} must be reported`).toBeDefined();
      for (const p of found!) expect(p.message.trim().length, `${f} must say why`).toBeGreaterThan(10);
    }
    for (const f of good) expect(byFile.get(`${FOLDER}/${f}`), `${f} must pass`).toBeUndefined();
    expect(peakMib).toBeLessThan(MEMORY_BOUND_MIB);
  }, 180_000);
});

/** Runway's setup and teardown against the cases of Airflow's own tests (`setup-teardown-rows.ts`). */
import { describe, expect, it } from 'vitest';
import { allDownstreamOf, runOutcome, type GraphTask } from '../../runner/core/run-advance.ts';
import { runStateTaskIds, withSetupsAndTeardowns } from '../../runner/core/setup-teardown.ts';
import { SETUP_TEARDOWN_ROWS, type SetupTeardownRow } from './setup-teardown-rows.ts';

/** The graph Airflow's notation describes: `s…` setups, `t…` teardowns (`t…_` failing the run). */
function graphOf(lines: readonly string[]): GraphTask[] {
  const upstream = new Map<string, Set<string>>();
  for (const line of lines) {
    const chain = line.split(' >> ');
    chain.forEach((id, i) => {
      if (!upstream.has(id)) upstream.set(id, new Set());
      if (i > 0) upstream.get(id)!.add(chain[i - 1]!);
    });
  }
  return [...upstream].map(([id, ups]) => ({
    id,
    upstream: [...ups],
    triggerRule: id.startsWith('t') ? 'all_done_setup_success' : 'all_success',
    ...(id.startsWith('s') ? { role: 'setup' as const } : id.startsWith('t') ? { role: 'teardown' as const } : {}),
    ...(id.startsWith('t') && id.endsWith('_') ? { failsRun: true } : {}),
  }));
}

function check(row: SetupTeardownRow): void {
  const graph = graphOf(row.graph);
  switch (row.kind) {
    case 'state-tasks':
      expect(runStateTaskIds(graph).sort()).toEqual([...row.expected].sort());
      return;
    case 'run-state':
      expect(runOutcome(graph, row.states)).toBe(row.expected);
      return;
    case 'clear': {
      // As `runway tasks clear --task X --downstream` chooses them, before clearing.
      const ids = withSetupsAndTeardowns(graph, [row.task, ...allDownstreamOf(graph, row.task)]);
      expect(ids.sort()).toEqual([...row.expected].sort());
      return;
    }
  }
}

describe('setup and teardown, against Airflow', () => {
  it.each(SETUP_TEARDOWN_ROWS.map((row) => [`${row.kind} ${row.graph.join('; ')} — ${row.source}`, row] as const))(
    '%s',
    (_name, row) => check(row),
  );
});

import { describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { summarizeDag } from '../runner/core/dag-summary.ts';
import { renderGraphMermaid, renderGraphText } from '../runner/core/graph-render.ts';
import { manualDag } from './helpers/runway.ts';

describe('renderGraphMermaid', () => {
  it('keeps tasks whose ids differ only by "-" and "_" apart, each declared once', () => {
    const d = dag({ ...manualDag, id: 'data_lake__graph' })
      .task('load-a', {}, async () => null)
      .task('load_a', {}, async () => null)
      .task('join.all', { upstream: ['load-a', 'load_a'], triggerRule: 'one_success' }, async () => null);
    expect(renderGraphMermaid(summarizeDag(d as never)).split('\n')).toEqual([
      'flowchart LR',
      '  t0["load-a"]',
      '  t1["load_a"]',
      '  t2["join.all"]',
      '  t0 -->|one_success| t2',
      '  t1 -->|one_success| t2',
    ]);
  });
});

describe('rendering task groups and setup/teardown', () => {
  const d = dag({ ...manualDag, id: 'data_lake__graph_groups' })
    .setup('create', {}, async () => 's')
    .group('load', { upstream: ['create'], doc: 'loads the day' }, (g) =>
      g
        .task('stage', {}, async () => 1)
        .group('tables', { upstream: ['load.stage'] }, (h) => h.task('orders', {}, async () => 1))
        .task('check', { upstream: ['load.tables'] }, async () => 1),
    )
    .teardown('drop', { setups: ['create'], upstream: ['load'], onFailureFailRun: true }, async () => null);

  it('lists a group, then its tasks indented under it, and marks setups and teardowns (dags show)', () => {
    expect(renderGraphText(summarizeDag(d as never)).split('\n')).toEqual([
      'data_lake__graph_groups  schedule=manual  timezone=UTC',
      '  create  (function)  (root)  [setup]',
      '  load/  (group, 3 tasks)  loads the day',
      '    load.stage  (function)  <- create',
      '    load.tables/  (group, 1 task)',
      '      load.tables.orders  (function)  <- load.stage',
      '    load.check  (function)  <- load.tables.orders',
      '  drop  (function)  <- load.check, create  [teardown of create, fails the run]',
    ]);
  });

  it('draws each group as a subgraph around its tasks, nested as declared (Mermaid)', () => {
    expect(renderGraphMermaid(summarizeDag(d as never)).split('\n')).toEqual([
      'flowchart LR',
      '  t0["create"]',
      '  subgraph g0["load"]',
      '    t1["load.stage"]',
      '    subgraph g1["load.tables"]',
      '      t2["load.tables.orders"]',
      '    end',
      '    t3["load.check"]',
      '  end',
      '  t4["drop"]',
      '  t0 --> t1',
      '  t1 --> t2',
      '  t2 --> t3',
      '  t3 -->|all_done_setup_success| t4',
      '  t0 -->|all_done_setup_success| t4',
    ]);
  });
});

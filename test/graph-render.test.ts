import { describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { summarizeDag } from '../runner/core/dag-summary.ts';
import { renderGraphMermaid } from '../runner/core/graph-render.ts';
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

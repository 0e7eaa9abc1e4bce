/** The graph view's layout (dagre, server-side): boxes that do not overlap, edges that join them. */
import { describe, expect, it } from 'vitest';
import { layoutGraph, type GraphNode, type PlacedNode, type Point } from '../runner/core/graph-layout.ts';

const task = (id: string, parent?: string): GraphNode => ({
  id: `task:${id}`,
  kind: 'task',
  label: id,
  ...(parent ? { parent } : {}),
});
const inside = (p: Point, n: PlacedNode, slack = 1) =>
  p.x >= n.x - slack && p.x <= n.x + n.width + slack && p.y >= n.y - slack && p.y <= n.y + n.height + slack;
const overlap = (a: PlacedNode, b: PlacedNode) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('layoutGraph', () => {
  it('places a diamond left to right, no two boxes overlapping, each edge from its box to the next', () => {
    const nodes = ['extract', 'clean', 'enrich', 'load'].map((id) => task(id));
    const edges = [
      { from: 'task:extract', to: 'task:clean' },
      { from: 'task:extract', to: 'task:enrich' },
      { from: 'task:clean', to: 'task:load' },
      { from: 'task:enrich', to: 'task:load' },
    ];
    const layout = layoutGraph(nodes, edges);
    const at = new Map(layout.nodes.map((n) => [n.id, n]));
    expect([...at.keys()].sort()).toEqual(nodes.map((n) => n.id).sort());
    expect(at.get('task:extract')!.x).toBeLessThan(at.get('task:clean')!.x);
    expect(at.get('task:clean')!.x).toBeLessThan(at.get('task:load')!.x);
    for (const a of layout.nodes) {
      expect(a.x + a.width).toBeLessThanOrEqual(layout.width);
      expect(a.y + a.height).toBeLessThanOrEqual(layout.height);
      for (const b of layout.nodes) if (a !== b) expect(overlap(a, b), `${a.id} over ${b.id}`).toBe(false);
    }
    expect(layout.edges).toHaveLength(4);
    for (const edge of layout.edges) {
      expect(inside(edge.points[0]!, at.get(edge.from)!), `${edge.from} -> ${edge.to} starts at its box`).toBe(true);
      expect(inside(edge.points.at(-1)!, at.get(edge.to)!), `${edge.from} -> ${edge.to} ends at its box`).toBe(true);
    }
  });

  it('sizes a box to its label, up to a cap', () => {
    const layout = layoutGraph([task('a'), task('a_much_longer_task_id'), task('x'.repeat(200))], []);
    const [short, long, huge] = layout.nodes;
    expect(long!.width).toBeGreaterThan(short!.width);
    expect(huge!.width).toBeLessThanOrEqual(320);
  });

  it('draws a group as a box around the nodes that name it as parent', () => {
    const group: GraphNode = { id: 'group:load', kind: 'group', label: 'load' };
    const layout = layoutGraph(
      [task('extract'), group, task('copy', 'group:load'), task('vacuum', 'group:load')],
      [
        { from: 'task:extract', to: 'task:copy' },
        { from: 'task:copy', to: 'task:vacuum' },
      ],
    );
    const box = layout.nodes.find((n) => n.id === 'group:load')!;
    for (const id of ['task:copy', 'task:vacuum']) {
      const child = layout.nodes.find((n) => n.id === id)!;
      expect(
        inside({ x: child.x, y: child.y }, box) && inside({ x: child.x + child.width, y: child.y + child.height }, box),
      ).toBe(true);
    }
    expect(
      overlap(
        box,
        layout.nodes.find((n) => n.id === 'task:extract')!,
      ),
    ).toBe(false);
  });

  it('refuses an edge or a parent that names no node', () => {
    expect(() => layoutGraph([task('a')], [{ from: 'task:a', to: 'task:b' }])).toThrow(
      'graph edge task:a -> task:b names no node "task:b"',
    );
    expect(() => layoutGraph([task('a', 'group:g')], [])).toThrow('graph node task:a names no parent "group:g"');
  });
});

/**
 * Where each node and edge of a DAG's graph goes on the page, computed by dagre (a maintained
 * layered-graph layout: ranks, crossing reduction, edge routing) so the UI draws boxes and lines and
 * places nothing by hand. Pure: the same graph in, the same picture out.
 *
 * The graph is data, so other kinds of node join without changing the layout: today the web UI
 * sends `task` nodes; a task group is a `group` node that others name as `parent` (dagre lays it
 * out as a box around them), a mapped task a `mapped` node with its `mapCount`, and an asset an
 * `asset` node joined to its producers and consumers by ordinary edges.
 */
import dagre from '@dagrejs/dagre';

export type GraphNodeKind = 'task' | 'group' | 'mapped' | 'asset';

export interface GraphNode {
  /** Unique in the graph across kinds: `task:<id>`, `group:<id>`, `asset:<uri>`. */
  id: string;
  kind: GraphNodeKind;
  /** What the box says; drawn as text, never as markup. */
  label: string;
  /** The `id` of the `group` node this node sits in. */
  parent?: string;
}

export interface GraphEdge {
  /** Node ids: `from` must finish (or produce) before `to`. */
  from: string;
  to: string;
}

export interface Point {
  x: number;
  y: number;
}

/** A node with its box: `x` and `y` are the top-left corner. */
export interface PlacedNode extends GraphNode {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge extends GraphEdge {
  /** The line from `from` to `to`, arrow at the last point. */
  points: Point[];
}

export interface GraphLayout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
}

const NODE_HEIGHT = 36;
const CHAR_WIDTH = 7.5;
const PADDING = 24;
// A task id may be long; beyond this its box stops growing and the label is cut where it is drawn.
const MAX_NODE_WIDTH = 320;
export const MAX_LABEL_CHARS = Math.floor((MAX_NODE_WIDTH - PADDING) / CHAR_WIDTH);

/** Left to right, as Airflow's graph view; an edge naming an unknown node is an error, not a guess. */
export function layoutGraph(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): GraphLayout {
  const ids = new Set(nodes.map((n) => n.id));
  for (const edge of edges) {
    for (const end of [edge.from, edge.to]) {
      if (!ids.has(end)) throw new Error(`graph edge ${edge.from} -> ${edge.to} names no node "${end}"`);
    }
  }
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 56, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) {
    const chars = Math.min(node.label.length, MAX_LABEL_CHARS);
    g.setNode(node.id, { width: Math.ceil(chars * CHAR_WIDTH + PADDING), height: NODE_HEIGHT });
  }
  for (const node of nodes) {
    if (node.parent !== undefined) {
      if (!ids.has(node.parent)) throw new Error(`graph node ${node.id} names no parent "${node.parent}"`);
      g.setParent(node.id, node.parent);
    }
  }
  for (const edge of edges) g.setEdge(edge.from, edge.to);
  dagre.layout(g);

  const placed = nodes.map((node): PlacedNode => {
    const box = g.node(node.id);
    return { ...node, x: box.x - box.width / 2, y: box.y - box.height / 2, width: box.width, height: box.height };
  });
  const routed = edges.map((edge): PlacedEdge => ({
    ...edge,
    points: (g.edge(edge.from, edge.to).points ?? []).map((p: Point) => ({ x: p.x, y: p.y })),
  }));
  const size = g.graph();
  return { width: Math.ceil(size.width ?? 0), height: Math.ceil(size.height ?? 0), nodes: placed, edges: routed };
}

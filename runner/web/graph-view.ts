/**
 * A DAG, or one of its runs, as a laid-out graph for the web UI: the layout comes from the DAG's
 * structure (`core/graph-layout.ts`), the colours from the run's task instances.
 *
 * The answer's shape, which the page (`ui-graph.js`) draws as it comes:
 * - `nodes`: `{ id, kind, label, x, y, width, height, parent?, taskId?, state }`. `kind` is
 *   `task` today; `group`, `mapped` and `asset` nodes are drawn by the same code (a group as a box
 *   behind its children, an asset with its own shape). `taskId` is set on nodes that open a task
 *   instance when clicked; `state` is its state in the run shown (`none` before it is scheduled),
 *   or null for nodes without one.
 * - `edges`: `{ from, to, points }`, node ids and the line to draw.
 */
import type { TaskInstanceState } from '../core/trigger-rule.ts';
import {
  layoutGraph,
  type GraphEdge,
  type GraphLayout,
  type GraphNode,
  type PlacedNode,
} from '../core/graph-layout.ts';
import type { LoadedDag } from '../loader/dag-registry.ts';
import type { Engine } from '../state/engine.ts';
import { OperationError } from '../state/operations.ts';

export interface GraphViewNode extends PlacedNode {
  taskId?: string;
  state: TaskInstanceState | 'none' | null;
}

export interface GraphView {
  dagId: string;
  /** The run whose states colour the nodes: the one asked for, else the latest, else none. */
  runId: string | null;
  runState: string | null;
  width: number;
  height: number;
  nodes: GraphViewNode[];
  edges: GraphLayout['edges'];
}

const TASK_PREFIX = 'task:';

/** The nodes and edges of a DAG's structure: one `task` node per task, an edge per upstream. */
export function dagGraph(loaded: LoadedDag): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = loaded.graph.map((t): GraphNode => ({ id: TASK_PREFIX + t.id, kind: 'task', label: t.id }));
  const edges = loaded.graph.flatMap((t) =>
    t.upstream.map((up) => ({ from: TASK_PREFIX + up, to: TASK_PREFIX + t.id })),
  );
  return { nodes, edges };
}

// The layout depends on the DAG's structure only: once per loaded version, not once per refresh.
const layouts = new WeakMap<LoadedDag, GraphLayout>();
function layoutOf(loaded: LoadedDag): GraphLayout {
  let layout = layouts.get(loaded);
  if (!layout) {
    const { nodes, edges } = dagGraph(loaded);
    layout = layoutGraph(nodes, edges);
    layouts.set(loaded, layout);
  }
  return layout;
}

export async function graphView(
  engine: Engine,
  dagId: string,
  runId: string | undefined,
  loaded: LoadedDag = engine.loaded(dagId),
): Promise<GraphView> {
  const run =
    runId === undefined ? (await engine.store.listRuns(dagId, 1))[0] : await engine.store.getRun(dagId, runId);
  if (runId !== undefined && !run) throw new OperationError(`DAG "${dagId}" has no run "${runId}"`);
  const snapshot = run ? await engine.store.snapshot(dagId, run.runId) : {};
  const layout = layoutOf(loaded);
  return {
    dagId,
    runId: run?.runId ?? null,
    runState: run?.state ?? null,
    width: layout.width,
    height: layout.height,
    nodes: layout.nodes.map((node) => {
      if (node.kind !== 'task') return { ...node, state: null };
      const taskId = node.id.slice(TASK_PREFIX.length);
      return { ...node, taskId, state: run ? (snapshot[taskId]?.state ?? 'none') : null };
    }),
    edges: layout.edges,
  };
}

/**
 * A DAG, or one of its runs, as a laid-out graph for the web UI: the layout comes from the DAG's
 * structure (`core/graph-layout.ts`), the colours from the run's task instances.
 *
 * The answer's shape, which the page (`ui-graph.js`) draws as it comes:
 * - `nodes`: `{ id, kind, label, x, y, width, height, parent?, taskId?, state }`. `kind` is
 *   `task`, `mapped` (a task mapped over a list), `group` (a box behind its children) or `asset`
 *   (its own shape). `taskId` is set on nodes that open a task
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
import { conditionUris } from '../core/asset.ts';
import { mappedProgress } from '../core/task-mapping.ts';
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

const GROUP_PREFIX = 'group:';
const ASSET_PREFIX = 'asset:';

/**
 * The nodes and edges of a DAG's structure: a `task` node per task (`mapped` for a task mapped over
 * a list: one box stands for its indexes), a `group` box around each task group's members, and an
 * `asset` node per asset the DAG runs on (an edge to each root task) or a task updates (an edge from
 * that task), so the picture shows where the DAG's data comes from and goes.
 */
export function dagGraph(loaded: LoadedDag): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const { summary } = loaded;
  const groupOf = new Map(summary.tasks.map((t) => [t.id, t.group]));
  const maxMapLengthOf = new Map(summary.tasks.map((t) => [t.id, t.maxMapLength]));
  const inGroup = (group: string | undefined) => (group === undefined ? {} : { parent: GROUP_PREFIX + group });
  const nodes: GraphNode[] = (summary.groups ?? []).map((g) => {
    const outer = g.id.includes('.') ? g.id.slice(0, g.id.lastIndexOf('.')) : undefined;
    return { id: GROUP_PREFIX + g.id, kind: 'group', label: g.id, ...inGroup(outer) };
  });
  for (const t of loaded.graph) {
    // From the summary: drawing the graph imports no DAG module into the scheduler's process.
    const mapped = maxMapLengthOf.get(t.id) !== undefined;
    nodes.push({
      id: TASK_PREFIX + t.id,
      kind: mapped ? 'mapped' : 'task',
      // Laid out with room for the most indexes it may have: the drawn label says how many are done.
      label: mapped ? `${t.id} [${maxMapLengthOf.get(t.id)}/${maxMapLengthOf.get(t.id)}]` : t.id,
      ...inGroup(groupOf.get(t.id)),
    });
  }
  const edges: GraphEdge[] = loaded.graph.flatMap((t) =>
    t.upstream.map((up) => ({ from: TASK_PREFIX + up, to: TASK_PREFIX + t.id })),
  );
  const assets = new Set<string>();
  const assetNode = (uri: string) => {
    if (!assets.has(uri)) nodes.push({ id: ASSET_PREFIX + uri, kind: 'asset', label: uri });
    assets.add(uri);
    return ASSET_PREFIX + uri;
  };
  if (summary.assetSchedule) {
    const roots = loaded.graph.filter((t) => t.upstream.length === 0);
    for (const uri of new Set(conditionUris(summary.assetSchedule)))
      for (const root of roots) edges.push({ from: assetNode(uri), to: TASK_PREFIX + root.id });
  }
  for (const t of summary.tasks)
    for (const uri of t.outlets ?? []) edges.push({ from: TASK_PREFIX + t.id, to: assetNode(uri) });
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
  const progress = mappedProgress(snapshot);
  return {
    dagId,
    runId: run?.runId ?? null,
    runState: run?.state ?? null,
    width: layout.width,
    height: layout.height,
    nodes: layout.nodes.map((node) => {
      if (node.kind !== 'task' && node.kind !== 'mapped') return { ...node, state: null };
      const taskId = node.id.slice(TASK_PREFIX.length);
      const mapped = progress[taskId];
      // A mapped task's box says how many of its indexes are done, as its grid cell does.
      const label =
        node.kind === 'mapped' ? `${taskId} [${mapped ? `${mapped.done}/${mapped.total}` : ' '}]` : node.label;
      return { ...node, label, taskId, state: run ? (snapshot[taskId]?.state ?? 'none') : null };
    }),
    edges: layout.edges,
  };
}

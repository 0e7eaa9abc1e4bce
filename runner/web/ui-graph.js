// The graph of a DAG or a run as SVG, from what GET /api/dags/:dagId/graph answers (its shape is
// documented in runner/web/graph-view.ts). The server has laid it out; this only draws. Labels are
// escaped text: a task id is the author's, and may hold markup.

// Its own escaping, not the caller's: whatever page draws a graph, its labels stay text.
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const CHAR_WIDTH = 7.5;
const PADDING = 24;

const points = (line) => line.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');

function cut(label, width) {
  const room = Math.max(1, Math.floor((width - PADDING) / CHAR_WIDTH));
  return label.length > room ? `${label.slice(0, room - 1)}…` : label;
}

/**
 * @param graph the API's answer
 * @param taskHref the link a node with a `taskId` opens, or undefined for none
 */
export function graphSvg(graph, taskHref) {
  // Group boxes first, then the edges, then the other nodes: a group's box must not hide the edges
  // between its members, nor an edge a box.
  const draw = (n) => {
    const state = n.state ?? 'none';
    const title = `${n.label}${n.state ? `: ${n.state}` : ''}`;
    const box = `<rect x="${n.x}" y="${n.y}" width="${n.width}" height="${n.height}" rx="${n.kind === 'asset' ? 14 : 4}"/>`;
    const text = `<text x="${n.x + n.width / 2}" y="${n.kind === 'group' ? n.y + 14 : n.y + n.height / 2}">${esc(cut(n.label, n.width))}</text>`;
    const attrs = `class="node" data-kind="${esc(n.kind)}" data-node="${esc(n.id)}" data-state="${esc(state)}"${
      n.taskId === undefined ? '' : ` data-testid="graph-node-${esc(n.taskId)}"`
    }`;
    const href = n.taskId === undefined ? undefined : taskHref(n.taskId);
    const inner = `<title>${esc(title)}</title>${box}${text}`;
    return href ? `<a ${attrs} href="${esc(href)}">${inner}</a>` : `<g ${attrs}>${inner}</g>`;
  };
  const groups = graph.nodes.filter((n) => n.kind === 'group').map(draw);
  const nodes = graph.nodes.filter((n) => n.kind !== 'group').map(draw);
  const edges = graph.edges.map(
    (e) =>
      `<path class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}" d="${points(e.points)}" marker-end="url(#graph-arrow)"/>`,
  );
  return `<svg class="graph" id="graph" data-run="${esc(graph.runId ?? '')}" width="${graph.width}" height="${graph.height}" viewBox="0 0 ${graph.width} ${graph.height}" role="img" aria-label="graph of ${esc(graph.dagId)}">
    <defs><marker id="graph-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>
    ${groups.join('')}${edges.join('')}${nodes.join('')}</svg>`;
}

/** A DAG's graph as text for a terminal and as Mermaid for a pull request. Pure. */
import type { DagSummary } from './dag-summary.ts';

/** Tasks in dependency order, each with what it waits for and its trigger rule. */
export function renderGraphText(dag: DagSummary): string {
  const lines = [`${dag.dagId}  schedule=${dag.schedule ?? 'manual'}  timezone=${dag.timezone}`];
  for (const task of dag.tasks) {
    const kind = task.sensor ? `${task.operator} sensor` : task.operator;
    const waits = task.upstream.length === 0 ? '(root)' : `<- ${task.upstream.join(', ')}`;
    const rule = task.triggerRule === 'all_success' ? '' : `  [${task.triggerRule}]`;
    lines.push(`  ${task.id}  (${kind})  ${waits}${rule}`);
  }
  return lines.join('\n');
}

/**
 * Each task declared once, labelled with its id, then the edges, labelled with non-default trigger
 * rules. Nodes are named by position: Mermaid names allow neither "-" nor ".", and replacing them
 * would make `load-a` and `load_a` one node.
 */
export function renderGraphMermaid(dag: DagSummary): string {
  const ref = new Map(dag.tasks.map((task, i) => [task.id, `t${i}`]));
  const lines = ['flowchart LR'];
  for (const task of dag.tasks) lines.push(`  ${ref.get(task.id)}["${task.id}"]`);
  for (const task of dag.tasks) {
    const label = task.triggerRule === 'all_success' ? '' : `|${task.triggerRule}|`;
    for (const up of task.upstream) lines.push(`  ${ref.get(up)} -->${label} ${ref.get(task.id)}`);
  }
  return lines.join('\n');
}

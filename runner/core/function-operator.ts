import type { Operator, TaskContext } from './operator.ts';

/**
 * The built-in operator: a typed TypeScript function. `.task(id, spec, async (ctx) => …)` wraps
 * the function with this, so DAGs can be written and run with no AWS operator at all.
 */
export type TaskFunction<Upstream, Output> = (ctx: TaskContext<Upstream>) => Output | Promise<Output>;

export function functionOperator<Upstream, Output>(fn: TaskFunction<Upstream, Output>): Operator<Output, Upstream> {
  return {
    kind: 'function',
    config: { function: fn.name || '(anonymous)' },
    run: async (ctx) => await fn(ctx),
  };
}

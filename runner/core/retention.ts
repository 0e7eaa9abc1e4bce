/**
 * How much run history Redis keeps by default. Both bounds apply: a run goes when it ended over
 * `DEFAULT_RETENTION_DAYS` ago or when its DAG has `DEFAULT_KEEP_RUNS` later runs. The count is what
 * bounds a busy DAG: a five-minute DAG makes 8,640 runs in 30 days, and at ~1.3 KB per finished
 * 3-task run 1,000 runs of 2,000 such DAGs fit in under 4 GB of Redis (README, "Retention").
 */
export const DEFAULT_RETENTION_DAYS = 30;
export const DEFAULT_KEEP_RUNS = 1_000;

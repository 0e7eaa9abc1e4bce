/**
 * Prometheus metrics (prom-client), one registry per process: what workers observe as tasks end
 * and sensors poke, what schedulers observe as they create runs, and gauges read from Redis when
 * scraped (runs by state, from counts the run scripts keep; queue depth).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Engine } from '../state/engine.ts';

export const metricsRegistry = new Registry();

export const taskDuration = new Histogram({
  name: 'runway_task_duration_seconds',
  help: 'Duration of task tries, by DAG, task and the state the try ended in',
  labelNames: ['dag_id', 'task_id', 'state'] as const,
  buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
  registers: [metricsRegistry],
});

export const sensorPokes = new Counter({
  name: 'runway_sensor_pokes_total',
  help: 'Sensor pokes, by DAG and task',
  labelNames: ['dag_id', 'task_id'] as const,
  registers: [metricsRegistry],
});

export const schedulerLag = new Histogram({
  name: 'runway_scheduler_lag_seconds',
  help: 'How long after its data interval ended a scheduled run was created',
  labelNames: ['dag_id'] as const,
  buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
  registers: [metricsRegistry],
});

export const schedulerDagsHandled = new Counter({
  name: 'runway_scheduler_dags_handled_total',
  help: "Times this scheduler's passes handled a DAG (due, or with queued or running runs), by DAG: its share",
  labelNames: ['dag_id'] as const,
  registers: [metricsRegistry],
});

export const schedulersLive = new Gauge({
  name: 'runway_schedulers_live',
  help: 'Live schedulers sharing the DAGs, as this one last heard (itself included)',
  registers: [metricsRegistry],
});
const RUN_STATES = ['queued', 'running', 'success', 'failed'] as const;

/** The engine the state gauges read: the process's one engine (the latest, in tests). */
let stateSource: Engine | undefined;

/** Adds the gauges read from Redis at scrape time: they describe the whole Runway, not this process. */
export function registerStateGauges(engine: Engine): void {
  stateSource = engine;
  if (metricsRegistry.getSingleMetric('runway_dag_runs')) return;
  new Gauge({
    name: 'runway_dag_runs',
    help: 'DAG runs kept in Redis, by DAG and state (counted as runs change; retention counts deleted runs out)',
    labelNames: ['dag_id', 'state'] as const,
    registers: [metricsRegistry],
    async collect() {
      this.reset();
      const engine = stateSource!;
      // One read of the counts the run scripts keep: re-reading each DAG's runs made a scrape at
      // 2,000 DAGs take seconds and a 2 MB body.
      const counts = await engine.store.runCounts();
      for (const dag of engine.registry.list()) {
        const found = counts.get(dag.summary.dagId) ?? {};
        for (const state of RUN_STATES) this.set({ dag_id: dag.summary.dagId, state }, Math.max(0, found[state] ?? 0));
      }
    },
  });
  new Gauge({
    name: 'runway_queue_jobs',
    help: 'Jobs in each task queue, by state (waiting, active, delayed, prioritized)',
    labelNames: ['queue', 'state'] as const,
    registers: [metricsRegistry],
    async collect() {
      this.reset();
      const engine = stateSource!;
      const queues = new Set(engine.registry.list().flatMap((d) => d.summary.tasks.map((t) => t.queue ?? 'default')));
      for (const name of queues.size > 0 ? queues : new Set(['default'])) {
        const counts = await engine.queue(name).getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        for (const [state, count] of Object.entries(counts)) this.set({ queue: name, state }, count);
      }
    },
  });
}

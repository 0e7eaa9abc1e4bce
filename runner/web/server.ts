/**
 * `runway webserver` (and the health port of schedulers and workers): one node:http server.
 * Always: /healthz (the process answers), /readyz (Redis answers), /metrics (Prometheus). With the
 * UI: the page, its JSON API and a server-sent event stream that tells open pages to refresh.
 * Bound to 127.0.0.1 by default; with the UI, bound anywhere else it refuses to start without a
 * token, and then every request but /healthz and /readyz must carry it.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Engine } from '../state/engine.ts';
import { metricsRegistry, registerStateGauges } from '../services/metrics.ts';
import { clearTasks, markTask, OperationError, triggerDag } from '../state/operations.ts';
import type { Problem } from '../core/problem.ts';
import type { HeldDag } from '../loader/dag-registry.ts';
import { workerGap } from '../state/worker-presence.ts';
import { dagGrid, dagList, notRunHere, runDetail, taskDetail } from './views.ts';

export interface WebServerOptions {
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @defaultValue 8080 */
  port?: number;
  /** Required unless bound to loopback. */
  token?: string;
  /** Serve the UI and its API, not only health and metrics. @defaultValue true */
  ui?: boolean;
  /** Import errors to show in the DAG list. */
  problems?: () => readonly Problem[];
  /** DAGs defined but held back (standalone without AWS credentials): listed, not run. */
  held?: () => readonly HeldDag[];
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

export class WebServerConfigError extends Error {
  override readonly name = 'WebServerConfigError';
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const PAGE = new URL('./ui.html', import.meta.url);

const triggerBody = z.strictObject({ conf: z.record(z.string(), z.unknown()).prefault({}) });
const pauseBody = z.strictObject({ paused: z.boolean() });
const clearBody = z.strictObject({
  task: z.string().optional(),
  downstream: z.boolean().optional(),
  onlyFailed: z.boolean().optional(),
});
const markBody = z.strictObject({ state: z.enum(['success', 'failed']) });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startWebServer(engine: Engine, options: WebServerOptions = {}): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  const ui = options.ui ?? true;
  // Health and metrics alone show no logs and take no action: probes may reach them from anywhere.
  if (ui && !LOOPBACK.has(host) && !options.token) {
    throw new WebServerConfigError(
      `the web server is bound to ${host}, beyond this machine: set a token (--token or RUNWAY_WEB_TOKEN)`,
    );
  }
  registerStateGauges(engine);
  const page = ui ? await readFile(PAGE, 'utf8') : '';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://runway');
    const path = url.pathname;
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const ready = await engine.redis.ping().then(
        () => true,
        () => false,
      );
      return send(res, ready ? 200 : 503, { status: ready ? 'ready' : 'Redis does not answer' });
    }
    if (options.token && !authorized(req, url, options.token)) throw new HttpError(401, 'a valid token is required');
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': metricsRegistry.contentType });
      return void res.end(await metricsRegistry.metrics());
    }
    if (!ui) throw new HttpError(404, `no ${path} here`);
    if (path === '/' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(page);
    }
    if (path === '/api/events') return events(req, res);
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'api' || parts[1] !== 'dags') throw new HttpError(404, `no ${path} here`);
    const [, , dagId, section, runId, sub, taskId, action] = parts;
    const problems = options.problems?.() ?? [];
    const held = options.held?.() ?? [];
    if (dagId === undefined) return send(res, 200, await dagList(engine, problems, held));
    if (!engine.registry.get(dagId)) {
      const heldDag = held.find((h) => h.loaded.summary.dagId === dagId);
      if (heldDag && req.method === 'GET' && section === 'grid' && runId === undefined)
        return send(res, 200, await dagGrid(engine, dagId, Number(url.searchParams.get('limit') ?? 25), heldDag));
      const why = notRunHere(dagId, problems, held);
      throw new HttpError(why ? 409 : 404, why ?? `no DAG "${dagId}" is loaded`);
    }
    if (req.method === 'POST') {
      const body = await readJson(req);
      if (section === 'trigger' && runId === undefined) {
        const { conf } = parse(triggerBody, body);
        const run = await triggerDag(engine, dagId, { conf });
        // Created either way; when no worker would take it, the answer says so.
        return send(res, 201, { ...run, warning: (await workerGap(engine, dagId)) ?? null });
      }
      if (section === 'pause' && runId === undefined) {
        const { paused } = parse(pauseBody, body);
        await engine.store.setPaused(dagId, paused);
        return send(res, 200, { dagId, paused });
      }
      if (section === 'runs' && runId && sub === 'clear' && taskId === undefined) {
        return send(res, 200, { cleared: await clearTasks(engine, dagId, runId, parse(clearBody, body)) });
      }
      if (section === 'runs' && runId && sub === 'tasks' && taskId && action === 'mark') {
        const { state } = parse(markBody, body);
        await markTask(engine, dagId, runId, taskId, state);
        return send(res, 200, { dagId, runId, taskId, state });
      }
      throw new HttpError(404, `no action ${path}`);
    }
    if (section === 'grid')
      return send(res, 200, await dagGrid(engine, dagId, Number(url.searchParams.get('limit') ?? 25)));
    if (section === 'runs' && runId && sub === undefined) return send(res, 200, await runDetail(engine, dagId, runId));
    if (section === 'runs' && runId && sub === 'tasks' && taskId && action === undefined) {
      const tryParam = url.searchParams.get('try');
      return send(res, 200, await taskDetail(engine, dagId, runId, taskId, tryParam ? Number(tryParam) : undefined));
    }
    throw new HttpError(404, `no ${path} here`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      const status = error instanceof HttpError ? error.status : error instanceof OperationError ? 400 : 500;
      if (status === 500) engine.log.error(`web: ${req.method} ${req.url}: ${error.message}`);
      if (!res.headersSent) send(res, status, { error: error.message });
      else res.end();
    });
  });
  // One read a second for all open pages, and a refresh only when something changed: a page left
  // open on a quiet night costs Redis nothing.
  const streams = new Set<ServerResponse>();
  let seen = ui ? await engine.store.changeCount().catch(() => undefined) : undefined;
  let polling = false;
  const ticker = setInterval(() => {
    if (streams.size === 0 || polling) return;
    polling = true;
    engine.store
      .changeCount()
      .then((count) => {
        if (count === seen) return;
        seen = count;
        for (const stream of streams) stream.write('event: refresh\ndata: {}\n\n');
      })
      .catch(() => undefined) // Redis away: /readyz says so; pages keep what they show
      .finally(() => (polling = false));
  }, 1_000);

  function events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    streams.add(res);
    req.on('close', () => streams.delete(res));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(ticker);
        for (const stream of streams) stream.end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function authorized(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization?.replace(/^Bearer /, '');
  const given = header ?? url.searchParams.get('token') ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += (chunk as Buffer).toString();
    if (text.length > 100_000) throw new HttpError(413, 'the request body is over 100 kB');
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the request body is not JSON');
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HttpError(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}

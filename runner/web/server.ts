/**
 * `runway webserver` (and the health port of schedulers and workers): one node:http server.
 * Always: /healthz (the process answers), /readyz (Redis answers and takes a write), /metrics
 * (Prometheus). With the UI: the page, its JSON API and a server-sent event stream that tells open
 * pages to refresh. Bound to 127.0.0.1 by default; with the UI, bound anywhere else it refuses to
 * start without a token, and then every request but /healthz and /readyz must carry it. With the
 * UI, requests are checked against DNS rebinding and cross-site requests (`request-guards.ts`).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Engine } from '../state/engine.ts';
import { metricsRegistry, registerStateGauges } from '../services/metrics.ts';
import { clearTasks, markTask, OperationError, triggerDag, TriggerError } from '../state/operations.ts';
import type { Problem } from '../core/problem.ts';
import { describeRedisError, isRedisReplyError } from '../redis/redis-errors.ts';
import { DAG_PAGE_SIZE, dagGrid, dagList, MAX_DAG_PAGE_SIZE, notRunHere, runDetail, taskDetail } from './views.ts';
import { decodeIdSegment } from './route-ids.ts';
import { graphView } from './graph-view.ts';
import {
  allowedHostNames,
  checkHost,
  checkStateChange,
  HttpError,
  sameSecret,
  setSecurityHeaders,
} from './request-guards.ts';
import type { HeldDag } from '../loader/dag-registry.ts';
import { workerGap } from '../state/worker-presence.ts';
import { assetDetail, listAssets } from '../state/asset-catalog.ts';

export interface WebServerOptions {
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @defaultValue 8080 */
  port?: number;
  /** Required unless bound to loopback. */
  token?: string;
  /**
   * Host names the UI answers to besides loopback names, IP addresses and `host` (a DNS rebinding
   * guard): the name a reverse proxy passes on, or the machine's name. @defaultValue []
   */
  allowedHosts?: readonly string[];
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
/** The page and the files it loads; no inline script, so the CSP can forbid it. */
const ASSETS = {
  '/': { file: 'ui.html', type: 'text/html; charset=utf-8' },
  '/ui.js': { file: 'ui.js', type: 'text/javascript; charset=utf-8' },
  '/ui.css': { file: 'ui.css', type: 'text/css; charset=utf-8' },
  '/ui-graph.js': { file: 'ui-graph.js', type: 'text/javascript; charset=utf-8' },
} as const;
const READY_PROBE_TTL_MS = 60_000;
const READY_PROBE_TIMEOUT_MS = 2_000;
const MAX_GRID_LIMIT = 1_000;

const triggerBody = z.strictObject({
  conf: z.record(z.string(), z.unknown()).prefault({}),
  runId: z.string().optional(),
});
const pauseBody = z.strictObject({ paused: z.boolean() });
const clearBody = z.strictObject({
  task: z.string().optional(),
  downstream: z.boolean().optional(),
  onlyFailed: z.boolean().optional(),
});
const markBody = z.strictObject({ state: z.enum(['success', 'failed']) });

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
  const assets = ui ? await readAssets() : new Map<string, { body: string; type: string }>();
  const hosts = allowedHostNames(host, options.allowedHosts);
  // With a bearer token, a cross-site page cannot act (it does not know the token); without one,
  // the page proves it is ours with this token, which only a same-origin read of /api/csrf gets.
  const csrfToken = options.token ? undefined : randomBytes(32).toString('base64url');
  const ready = readinessProbe(engine);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    setSecurityHeaders(res);
    const { path, query } = splitTarget(req.url ?? '/');
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const problem = await ready();
      return send(res, problem ? 503 : 200, { status: problem ?? 'ready' });
    }
    if (ui) checkHost(req, hosts);
    const method = req.method ?? 'GET';
    const asset = assets.get(path);
    // The page's script and style hold no data: they load without the token the page's URL carries.
    if (asset && (method === 'GET' || method === 'HEAD') && path !== '/') return sendAsset(res, asset, method);
    if (options.token && !authorized(req, query, options.token)) throw new HttpError(401, 'a valid token is required');
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': metricsRegistry.contentType });
      return void res.end(await metricsRegistry.metrics());
    }
    if (!ui) throw new HttpError(404, `no ${path} here`);
    if (asset && (method === 'GET' || method === 'HEAD')) return sendAsset(res, asset, method);
    if (path === '/api/events') return events(req, res);
    if (path === '/api/csrf' && method === 'GET') return send(res, 200, { csrfToken: csrfToken ?? null });
    if (path === '/api/assets' && (method === 'GET' || method === 'HEAD')) {
      const uri = query.get('uri');
      if (uri === null) return send(res, 200, { assets: await listAssets(engine) });
      const limit = wholeNumberParam(query, 'limit', { min: 1, max: MAX_GRID_LIMIT }) ?? 25;
      const detail = await assetDetail(engine, uri, limit);
      if (!detail) throw new HttpError(404, `no asset "${uri.slice(0, 200)}": no DAG names it and it has had no event`);
      return send(res, 200, detail);
    }
    const parts = path.split('/').filter(Boolean).map(decodeSegment);
    if (parts[0] !== 'api' || parts[1] !== 'dags') throw new HttpError(404, `no ${path} here`);
    const [, , dagId, section, runId, sub, taskId, action] = parts;
    if (method !== 'GET' && method !== 'HEAD') checkStateChange(req, csrfToken);
    const problems = options.problems?.() ?? [];
    const held = options.held?.() ?? [];
    if (dagId === undefined) {
      const limit = wholeNumberParam(query, 'limit', { min: 1, max: MAX_DAG_PAGE_SIZE }) ?? DAG_PAGE_SIZE;
      const after = query.get('after') ?? undefined;
      return send(res, 200, await dagList(engine, problems, held, { limit, ...(after ? { after } : {}) }));
    }
    // A held DAG may still be in the registry as the retired last version: it is held all the same.
    const heldDag = held.find((h) => h.loaded.summary.dagId === dagId);
    if (!engine.registry.get(dagId) || heldDag) {
      if (heldDag && method === 'GET' && section === 'grid' && runId === undefined) {
        const limit = wholeNumberParam(query, 'limit', { min: 1, max: MAX_GRID_LIMIT }) ?? 25;
        return send(res, 200, await dagGrid(engine, dagId, limit, heldDag));
      }
      if (heldDag && method === 'GET' && section === 'graph' && runId === undefined) {
        return send(res, 200, await graphView(engine, dagId, query.get('run') ?? undefined, heldDag.loaded));
      }
      const why = notRunHere(dagId, problems, held);
      throw new HttpError(why ? 409 : 404, why ?? `no DAG "${dagId}" is loaded`);
    }
    if (method === 'POST') {
      // A DAG removed from the folder or deployment: its running runs finish, nothing new starts.
      if (engine.registry.isRetired(dagId)) {
        throw new HttpError(409, `DAG "${dagId}" was removed from the DAG folder: its runs finish, no new ones start`);
      }
      const body = await readJson(req);
      if (section === 'trigger' && runId === undefined) {
        const { conf, runId: wanted } = parse(triggerBody, body);
        const run = await triggerDag(engine, dagId, { conf, ...(wanted === undefined ? {} : { runId: wanted }) });
        // Created or found either way; when no worker would take it, the answer says so.
        // The run exists whatever happens now: a failed check must not turn it into an error a
        // client would answer with a second trigger.
        const warning = await workerGap(engine, dagId).catch(() => undefined);
        return send(res, run.created ? 201 : 200, { ...run, warning: warning ?? null });
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
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} is not allowed here`);
    if (section === 'grid' && runId === undefined) {
      const limit = wholeNumberParam(query, 'limit', { min: 1, max: MAX_GRID_LIMIT }) ?? 25;
      return send(res, 200, await dagGrid(engine, dagId, limit));
    }
    if (section === 'graph' && runId === undefined) {
      return send(res, 200, await graphView(engine, dagId, query.get('run') ?? undefined));
    }
    if (section === 'runs' && runId && sub === undefined) return send(res, 200, await runDetail(engine, dagId, runId));
    if (section === 'runs' && runId && sub === 'tasks' && taskId && action === undefined) {
      const tryNumber = wholeNumberParam(query, 'try', { min: 1 });
      return send(res, 200, await taskDetail(engine, dagId, runId, taskId, tryNumber));
    }
    throw new HttpError(404, `no ${path} here`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      // Redis refusing a command (out of memory, a script error) is the store's trouble, not a
      // bug here: 503 with the cause, as /readyz says.
      const redis = isRedisReplyError(error);
      const store = redis || error instanceof TriggerError;
      const status =
        error instanceof HttpError ? error.status : error instanceof OperationError ? 400 : store ? 503 : 500;
      const message = redis ? describeRedisError(error) : error.message;
      if (status >= 500) engine.log[store ? 'warn' : 'error'](`web: ${req.method} ${req.url}: ${message}`);
      if (!res.headersSent) send(res, status, { error: message });
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

function sendAsset(res: ServerResponse, asset: { body: string; type: string }, method: string): void {
  res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' });
  res.end(method === 'HEAD' ? undefined : asset.body);
}

function authorized(req: IncomingMessage, query: URLSearchParams, token: string): boolean {
  const header = req.headers.authorization?.replace(/^Bearer /, '');
  return sameSecret(header ?? query.get('token') ?? '', token);
}

async function readAssets(): Promise<Map<string, { body: string; type: string }>> {
  const entries = await Promise.all(
    Object.entries(ASSETS).map(
      async ([path, { file, type }]) =>
        [path, { body: await readFile(new URL(`./${file}`, import.meta.url), 'utf8'), type }] as const,
    ),
  );
  return new Map(entries);
}

/**
 * The raw path and the query of a request target. Not `new URL()`: it would drop dot segments
 * (a task id `..` is one) and read `//x` as a host.
 */
function splitTarget(target: string): { path: string; query: URLSearchParams } {
  const at = target.indexOf('?');
  return at === -1
    ? { path: target, query: new URLSearchParams() }
    : { path: target.slice(0, at), query: new URLSearchParams(target.slice(at + 1)) };
}

function decodeSegment(segment: string): string {
  try {
    return decodeIdSegment(segment);
  } catch {
    throw new HttpError(400, `the path segment "${segment}" is not valid percent-encoding`);
  }
}

/** A whole-number query parameter within bounds, or undefined when absent; anything else is a 400. */
function wholeNumberParam(
  query: URLSearchParams,
  name: string,
  bounds: { min: number; max?: number },
): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= bounds.min && n <= (bounds.max ?? Number.MAX_SAFE_INTEGER))) {
    const range = bounds.max === undefined ? `${bounds.min} or more` : `from ${bounds.min} to ${bounds.max}`;
    throw new HttpError(400, `${name} must be a whole number ${range}, not "${raw}"`);
  }
  return n;
}

/**
 * Ready means Redis answers and takes a write: at maxmemory with noeviction, Redis still answers
 * PING and reads while it refuses every write, and nothing can run. One probe at a time; its key
 * sits under the prefix (the only keys an ACL may allow) and expires.
 */
function readinessProbe(engine: Engine): () => Promise<string | undefined> {
  let inFlight: Promise<string | undefined> | undefined;
  const probe = async () => {
    let timer: NodeJS.Timeout | undefined;
    // While Redis is away a command waits for the reconnection: a probe must answer before that.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${READY_PROBE_TIMEOUT_MS} ms`)),
        READY_PROBE_TIMEOUT_MS,
      );
    });
    try {
      const write = engine.redis.set(engine.store.key('ready-probe'), String(Date.now()), 'PX', READY_PROBE_TTL_MS);
      await Promise.race([write, late]);
      return undefined;
    } catch (error) {
      return isRedisReplyError(error)
        ? `Redis refuses writes: ${describeRedisError(error)}`
        : `Redis does not answer: ${(error as Error).message}`;
    } finally {
      clearTimeout(timer);
    }
  };
  return () => (inFlight ??= probe().finally(() => (inFlight = undefined)));
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

/**
 * The web server's guards, over plain HTTP against a real engine on Redis: the Host allowlist (DNS
 * rebinding), what a state-changing request must show (same origin, JSON, CSRF token or bearer
 * token), the security headers, ids that URL parsers would drop (`.`, `..`), bad query parameters,
 * and a client-chosen run id that makes a retried trigger safe. Chromium's view of the same guards
 * is in web-ui.test.ts.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dag } from 'runway';
import { startWebServer, type WebServer } from '../runner/web/server.ts';
import { encodeIdSegment } from '../runner/web/route-ids.ts';
import { DagRegistry, prepareDag } from '../runner/loader/dag-registry.ts';
import { connectRedis } from '../runner/redis/connect.ts';
import { freePort } from '../runner/redis/redis-server.ts';
import { Engine } from '../runner/state/engine.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';

let runway: TestRunway;
let web: WebServer | undefined;
afterEach(async () => {
  await web?.close();
  web = undefined;
  await runway?.close();
});

const guarded = dag({
  ...manualDag,
  id: 'data_lake__guarded',
  params: z.object({ region: z.enum(['eu', 'us']).default('eu') }),
})
  // `.` and `..` are in the id alphabet, and are dot segments to every URL parser.
  .task('.', {}, async () => ({ dot: 1 }))
  .task('..', { upstream: ['.'] }, async () => ({ dots: 2 }));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request: fetch may not set Host, and normalizes paths. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  setHost = true,
): Promise<Answer> {
  const { hostname, port } = new URL(web!.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers, setHost }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (answer: Answer) => JSON.parse(answer.body) as Record<string, unknown>;

async function csrfToken(): Promise<string> {
  return json(await raw('GET', '/api/csrf')).csrfToken as string;
}

async function sameOriginPost(path: string, body: unknown, extra: Record<string, string> = {}) {
  return raw(
    'POST',
    path,
    { origin: web!.url, 'content-type': 'application/json', 'x-runway-csrf': await csrfToken(), ...extra },
    JSON.stringify(body),
  );
}

async function isPaused(): Promise<boolean> {
  return runway.engine.store.isPaused('data_lake__guarded', false);
}

describe('the Host allowlist (DNS rebinding)', () => {
  it('serves loopback names, IP addresses and allowed names, and refuses any other name', async () => {
    runway = testRunway([guarded]);
    web = await startWebServer(runway.engine, { port: 0, allowedHosts: ['runway.example.com'] });
    const port = new URL(web.url).port;
    const rebound = await raw('GET', '/api/dags', { host: `attacker.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(json(rebound).error).toBe(
      'Host "attacker.example" is not a name this server answers to (a DNS rebinding guard); allow it with --allowed-hosts',
    );
    expect((await raw('GET', '/', { host: `attacker.example:${port}` })).status).toBe(403);
    // Nor may a rebinding page change anything, whatever else it sends.
    const token = await csrfToken();
    const pause = await raw(
      'POST',
      '/api/dags/data_lake__guarded/pause',
      {
        host: `attacker.example:${port}`,
        origin: `http://attacker.example:${port}`,
        'content-type': 'application/json',
        'x-runway-csrf': token,
      },
      JSON.stringify({ paused: true }),
    );
    expect(pause.status).toBe(403);
    expect(await isPaused()).toBe(false);

    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `ui.localhost:${port}`]) {
      expect((await raw('GET', '/api/dags', { host })).status, host).toBe(200);
    }
    expect((await raw('GET', '/api/dags', { host: `10.1.2.3:${port}` })).status).toBe(200);
    expect((await raw('GET', '/api/dags', { host: 'RUNWAY.example.com' })).status).toBe(200);
    // Without a Host header (Node's HTTP parser refuses HTTP/1.1 without one before the guard does).
    expect((await raw('GET', '/api/dags', {}, undefined, false)).status).toBe(400);
    // Probes reach health by any name.
    expect((await raw('GET', '/healthz', { host: 'runway-web.svc.cluster.local' })).status).toBe(200);
    expect((await raw('GET', '/readyz', { host: 'runway-web.svc.cluster.local' })).status).toBe(200);
  });
});

describe('state-changing requests', () => {
  it('need a same-origin Origin, JSON and the CSRF token when there is no bearer token', async () => {
    runway = testRunway([guarded]);
    web = await startWebServer(runway.engine, { port: 0 });
    const pause = '/api/dags/data_lake__guarded/pause';
    const body = JSON.stringify({ paused: true });
    const token = await csrfToken();
    expect(token).toMatch(/^[\w-]{43}$/);

    // What `fetch(..., {mode: 'no-cors'})` from a page on another port sends.
    const crossSite = await raw('POST', pause, { origin: 'http://127.0.0.1:1', 'content-type': 'text/plain' }, body);
    expect(crossSite.status).toBe(403);
    // The same, had the browser said so with Sec-Fetch-Site.
    const fetchSite = { origin: web.url, 'sec-fetch-site': 'same-site', 'content-type': 'application/json' };
    expect((await raw('POST', pause, { ...fetchSite, 'x-runway-csrf': token }, body)).status).toBe(403);
    // An opaque origin (a sandboxed frame, a data: URL).
    expect(
      (await raw('POST', pause, { origin: 'null', 'content-type': 'application/json', 'x-runway-csrf': token }, body))
        .status,
    ).toBe(403);
    // No Origin at all.
    expect(
      (await raw('POST', pause, { 'content-type': 'application/json', 'x-runway-csrf': token }, body)).status,
    ).toBe(403);
    // Same origin, not JSON: a form or a no-cors fetch.
    const plain = await raw(
      'POST',
      pause,
      { origin: web.url, 'content-type': 'text/plain', 'x-runway-csrf': token },
      body,
    );
    expect(plain.status).toBe(415);
    expect(json(plain).error).toBe('a request that changes state must have "Content-Type: application/json"');
    // Same origin and JSON, without or with a wrong CSRF token.
    const sameOrigin = { origin: web.url, 'content-type': 'application/json; charset=utf-8' };
    expect((await raw('POST', pause, sameOrigin, body)).status).toBe(403);
    const wrong = await raw('POST', pause, { ...sameOrigin, 'x-runway-csrf': `${token.slice(1)}x` }, body);
    expect(json(wrong).error).toBe(
      'a request that changes state needs the "x-runway-csrf" header (GET /api/csrf), or a bearer token',
    );
    expect(await isPaused()).toBe(false);
    // Nothing was triggered by any of it either.
    const trigger = '/api/dags/data_lake__guarded/trigger';
    expect(
      (await raw('POST', trigger, { origin: 'http://127.0.0.1:1', 'content-type': 'text/plain' }, '{}')).status,
    ).toBe(403);
    expect(await runway.engine.store.listRuns('data_lake__guarded')).toEqual([]);

    // The page's own requests: by Origin, or by Sec-Fetch-Site alone.
    expect((await raw('POST', pause, { ...sameOrigin, 'x-runway-csrf': token }, body)).status).toBe(200);
    expect(await isPaused()).toBe(true);
    // Other methods change nothing either.
    const put = await raw('PUT', pause, { ...sameOrigin, 'x-runway-csrf': token }, body);
    expect({ status: put.status, body: json(put) }).toEqual({
      status: 405,
      body: { error: 'PUT is not allowed here' },
    });
    const bySite = { 'sec-fetch-site': 'same-origin', 'content-type': 'application/json', 'x-runway-csrf': token };
    expect((await raw('POST', pause, bySite, JSON.stringify({ paused: false }))).status).toBe(200);
    expect(await isPaused()).toBe(false);
  });

  it('with a bearer token, need the same origin and JSON but no CSRF token', async () => {
    runway = testRunway([guarded]);
    web = await startWebServer(runway.engine, { port: 0, token: 'a-long-bearer-token' });
    const auth = { authorization: 'Bearer a-long-bearer-token' };
    expect(json(await raw('GET', '/api/csrf', auth))).toEqual({ csrfToken: null });
    const pause = '/api/dags/data_lake__guarded/pause';
    const body = JSON.stringify({ paused: true });
    expect((await raw('POST', pause, { ...auth, 'content-type': 'text/plain', origin: web.url }, body)).status).toBe(
      415,
    );
    expect((await raw('POST', pause, { ...auth, 'content-type': 'application/json' }, body)).status).toBe(403);
    expect((await raw('POST', pause, { 'content-type': 'application/json', origin: web.url }, body)).status).toBe(401);
    expect(
      (await raw('POST', pause, { ...auth, 'content-type': 'application/json', origin: web.url }, body)).status,
    ).toBe(200);
    expect(await isPaused()).toBe(true);
  });
});

describe('security headers', () => {
  it('forbid inline script, framing, sniffing and referrers, and the page has no inline script', async () => {
    runway = testRunway([guarded]);
    web = await startWebServer(runway.engine, { port: 0 });
    for (const path of ['/', '/ui.js', '/api/dags', '/api/dags/nope/grid']) {
      const answer = await raw('GET', path);
      const csp = answer.headers['content-security-policy'] as string;
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(answer.headers['x-frame-options'], path).toBe('DENY');
      expect(answer.headers['x-content-type-options'], path).toBe('nosniff');
      expect(answer.headers['referrer-policy'], path).toBe('no-referrer');
    }
    const page = await raw('GET', '/');
    const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map((m) => m[1]!.trim())).toEqual(['type="module" src="ui.js"']);
    expect(scripts.every((m) => m[2]!.trim() === '')).toBe(true);
    expect(page.body).not.toMatch(/<style|\son[a-z]+=/i);
    const script = await raw('GET', '/ui.js');
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain("'x-runway-csrf'");
  });
});

describe('ids and query parameters', () => {
  it('opens the tasks "." and "..", and answers bad parameters with 400 and a reason', async () => {
    runway = testRunway([guarded]);
    runway.worker();
    web = await startWebServer(runway.engine, { port: 0 });
    const run = await runway.trigger('data_lake__guarded');
    await runway.waitForRun('data_lake__guarded', run.runId);
    const base = `${web.url}/api/dags/data_lake__guarded/runs/${encodeIdSegment(run.runId)}`;
    // fetch, like the browser, resolves dot segments: the ids must be written so they are not.
    for (const [taskId, output] of [
      ['..', { dots: 2 }],
      ['.', { dot: 1 }],
    ] as const) {
      const response = await fetch(`${base}/tasks/${encodeIdSegment(taskId)}`);
      expect(response.status, taskId).toBe(200);
      expect(await response.json(), taskId).toMatchObject({ taskId, output, taskInstance: { state: 'success' } });
    }
    expect(encodeIdSegment('..')).toBe('~..');
    expect(encodeIdSegment('a~b')).toBe('a%7Eb');

    const grid = '/api/dags/data_lake__guarded/grid';
    const bad = {
      [`${grid}?limit=abc`]: 'limit must be a whole number from 1 to 1000, not "abc"',
      [`${grid}?limit=-1`]: 'limit must be a whole number from 1 to 1000, not "-1"',
      [`${grid}?limit=0`]: 'limit must be a whole number from 1 to 1000, not "0"',
      [`${grid}?limit=1e3`]: 'limit must be a whole number from 1 to 1000, not "1e3"',
      [`${grid}?limit=1001`]: 'limit must be a whole number from 1 to 1000, not "1001"',
      [`/api/dags/data_lake__guarded/runs/${encodeIdSegment(run.runId)}/tasks/load?try=x`]:
        'try must be a whole number 1 or more, not "x"',
      '/api/dags/data_lake__%E0%A4%A/grid': 'the path segment "data_lake__%E0%A4%A" is not valid percent-encoding',
    };
    for (const [path, error] of Object.entries(bad)) {
      const answer = await raw('GET', path);
      expect({ path, status: answer.status, body: json(answer) }).toEqual({ path, status: 400, body: { error } });
    }
    const limited = json(await raw('GET', `${grid}?limit=1`)) as { runs: unknown[] };
    expect(limited.runs).toHaveLength(1);
  });
});

describe('triggering with a run id', () => {
  it('creates the run once: the same id again says it exists, another conf or a bad id is refused', async () => {
    runway = testRunway([guarded]);
    web = await startWebServer(runway.engine, { port: 0 });
    const trigger = '/api/dags/data_lake__guarded/trigger';
    const first = await sameOriginPost(trigger, { conf: { region: 'us' }, runId: 'nightly-retry-1' });
    expect(first.status).toBe(201);
    expect(json(first)).toMatchObject({ runId: 'nightly-retry-1', created: true, conf: { region: 'us' } });
    const again = await sameOriginPost(trigger, { conf: { region: 'us' }, runId: 'nightly-retry-1' });
    expect(again.status).toBe(200);
    expect(json(again)).toMatchObject({ runId: 'nightly-retry-1', created: false });
    const other = await sameOriginPost(trigger, { conf: { region: 'eu' }, runId: 'nightly-retry-1' });
    expect({ status: other.status, body: json(other) }).toEqual({
      status: 400,
      body: {
        error: 'DAG "data_lake__guarded" already has a run "nightly-retry-1" with another conf; no run was created',
      },
    });
    for (const [runId, error] of [
      ['a/b', 'run id "a/b" must be 1 to 200 of A-Z a-z 0-9 _ . : + - (and not "." or "..")'],
      ['..', 'run id ".." must be 1 to 200 of A-Z a-z 0-9 _ . : + - (and not "." or "..")'],
      [
        'scheduled__2026-01-01T00:00:00.000Z',
        'run id "scheduled__2026-01-01T00:00:00.000Z" starts with a prefix the scheduler and backfill use; choose another',
      ],
    ] as const) {
      const refused = await sameOriginPost(trigger, { runId });
      expect({ status: refused.status, body: json(refused) }).toEqual({ status: 400, body: { error } });
    }
    expect((await runway.engine.store.listRuns('data_lake__guarded')).map((r) => r.runId)).toEqual(['nightly-retry-1']);
  });
});

describe('/readyz', () => {
  it('answers 503 within its bound when Redis does not answer', async () => {
    runway = testRunway([guarded]);
    // Nobody listens there: the client keeps reconnecting, and its commands wait.
    const away = connectRedis(`redis://127.0.0.1:${await freePort()}`);
    away.on('error', () => undefined);
    const engine = new Engine({ redis: away, registry: new DagRegistry([prepareDag(guarded)]), env: {} });
    web = await startWebServer(engine, { port: 0, ui: false });
    try {
      const readyz = await raw('GET', '/readyz');
      expect({ status: readyz.status, body: json(readyz) }).toEqual({
        status: 503,
        body: { status: 'Redis does not answer: no answer within 2000 ms' },
      });
    } finally {
      await web.close();
      web = undefined;
      away.disconnect();
    }
  });
});

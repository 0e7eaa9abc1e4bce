/**
 * What a request must show before the web server acts on it, against the attacks a browser makes
 * possible on a server bound to this machine without a token:
 * - DNS rebinding: a page on `attacker.example` whose name then resolves to 127.0.0.1 reads and
 *   acts as same-origin. Its requests carry `Host: attacker.example`; only names this server is
 *   known by are answered.
 * - Cross-site requests (CSRF): any page can send a POST here (`fetch(..., {mode: 'no-cors'})`,
 *   a form), without reading the answer. State changes need a same-origin `Origin` (or
 *   `Sec-Fetch-Site: same-origin`), a JSON content type (which a cross-site page cannot send
 *   without a CORS preflight, which this server never approves) and, with no bearer token, the
 *   page's CSRF token.
 * Every response carries headers that forbid framing, sniffing, inline script and referrers.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const CSRF_HEADER = 'x-runway-csrf';

/**
 * No inline script or style, nothing from elsewhere, never in a frame. The page's script and
 * style are served as files (`/ui.js`, `/ui.css`).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('x-content-type-options', 'nosniff');
  // The page's URL may carry `?token=`: it must not travel to other sites in a Referer.
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  // Another site may not embed the API's JSON as a script or image (a no-cors read).
  res.setHeader('cross-origin-resource-policy', 'same-origin');
}

/** The host names the server answers to: loopback names, the bound host and the allowed ones. */
export function allowedHostNames(bound: string, extra: readonly string[] = []): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '::1', ...extra].map((n) => n.toLowerCase()));
  if (bound !== '0.0.0.0' && bound !== '::') names.add(bound.toLowerCase());
  return names;
}

/** `Host: name:port` or `[v6]:port`, lower-cased, without the port. */
export function hostNameOf(host: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return host.replace(/:\d*$/, '').toLowerCase();
}

/**
 * Refuses a Host the server is not known by. An IP address is always accepted: a rebinding attack
 * needs a name the attacker's DNS answers for, and a page at an address is that address's origin.
 * Names under `.localhost` resolve to loopback in browsers, never through DNS.
 */
export function checkHost(req: IncomingMessage, allowed: ReadonlySet<string>): void {
  const host = req.headers.host;
  if (!host) throw new HttpError(400, 'the request has no Host header');
  const name = hostNameOf(host);
  if (isIP(name) !== 0 || allowed.has(name) || name.endsWith('.localhost')) return;
  throw new HttpError(
    403,
    `Host "${name}" is not a name this server answers to (a DNS rebinding guard); allow it with --allowed-hosts`,
  );
}

/** Checks a request that changes state: same origin, JSON, and the CSRF token when one is given. */
export function checkStateChange(req: IncomingMessage, csrfToken: string | undefined): void {
  if (!isSameOrigin(req)) {
    throw new HttpError(
      403,
      'a request that changes state must come from this server\'s own pages: send "Origin" with this server\'s URL',
    );
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'a request that changes state must have "Content-Type: application/json"');
  }
  if (csrfToken !== undefined && !sameSecret(headerValue(req, CSRF_HEADER), csrfToken)) {
    throw new HttpError(
      403,
      `a request that changes state needs the "${CSRF_HEADER}" header (GET /api/csrf), or a bearer token`,
    );
  }
}

/**
 * `Sec-Fetch-Site` is set by the browser and cannot be forged by a page; where it is absent, the
 * `Origin` must name this server (scheme aside: behind a TLS proxy the page is https).
 */
function isSameOrigin(req: IncomingMessage): boolean {
  const site = headerValue(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'none') return site === 'same-origin';
  const origin = headerValue(req, 'origin');
  const host = req.headers.host;
  if (!origin || !host || origin === 'null') return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

export function sameSecret(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

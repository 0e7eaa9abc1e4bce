/**
 * A same-origin client of Runway's web API, as its own page is: a POST carries the server's Origin,
 * JSON, and the CSRF token the server hands out (README, "Security").
 */
export async function callWeb(
  baseUrl: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: never }> {
  const csrf: Record<string, string> =
    body === undefined
      ? {}
      : {
          origin: baseUrl,
          'x-runway-csrf': ((await (await fetch(`${baseUrl}/api/csrf`, { headers })).json()) as { csrfToken: string })
            .csrfToken,
        };
  const response = await fetch(`${baseUrl}${path}`, {
    ...(body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) }),
    headers: { 'content-type': 'application/json', ...csrf, ...headers },
  });
  const text = await response.text();
  return {
    status: response.status,
    json: (response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as never,
  };
}

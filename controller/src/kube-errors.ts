/** What @kubernetes/client-node's ApiException carries: the HTTP code and the API server's Status body. */
interface ApiFailure {
  code?: unknown;
  body?: unknown;
  message?: unknown;
}

export function httpCode(error: unknown): number | undefined {
  const code = (error as ApiFailure).code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * `HTTP 404: deployments.apps "web" not found`: the Status message, not the exception's text, which
 * quotes the response headers (a request id, the date) and so differs on every attempt.
 */
export function describeApiFailure(error: unknown): string {
  const { body, message } = error as ApiFailure;
  let reason = typeof message === 'string' ? message : String(error);
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | undefined;
    if (typeof status?.message === 'string') reason = status.message;
  } catch {
    // Not a Status object (a proxy's HTML page, a cut connection): keep the exception's text.
  }
  return `HTTP ${httpCode(error) ?? '?'}: ${reason}`;
}

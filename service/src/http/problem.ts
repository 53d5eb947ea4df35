/**
 * RFC 9457 problem details. Throw a ProblemError anywhere in a request and the error
 * middleware answers with `application/problem+json`.
 */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
    /** Response headers the problem needs (Allow, Retry-After, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }

  toBody(instance?: string): ProblemBody {
    return {
      type: `/problems/${this.slug}`,
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

export const badRequest = (detail: string, extensions?: Record<string, unknown>) =>
  new ProblemError(400, 'bad-request', 'Bad Request', detail, extensions);
export const notFound = (detail: string) => new ProblemError(404, 'not-found', 'Not Found', detail);
export const conflict = (slug: string, detail: string) => new ProblemError(409, slug, 'Conflict', detail);
export const unauthorized = (slug: string, detail: string) =>
  new ProblemError(401, slug, 'Unauthorized', detail);
export const forbidden = (slug: string, detail: string) => new ProblemError(403, slug, 'Forbidden', detail);
/** A rate limit or cap: 429 with the seconds to wait in Retry-After. */
export const tooManyRequests = (slug: string, detail: string, retryAfterSeconds: number) =>
  new ProblemError(
    429,
    slug,
    'Too Many Requests',
    detail,
    { retryAfterSeconds },
    {
      'Retry-After': String(retryAfterSeconds),
    },
  );

import http from 'node:http';

/** One answered request, as a scenario sees it. */
export interface Answer {
  status: number;
  body: unknown;
}

export interface RequestSpec {
  method?: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Statuses that count as success (default 200). Others are recorded as `http <status>` errors. */
  expect?: readonly number[];
}

/** Where the client reports each request's outcome (the engine swaps it per stage). */
export interface Sink {
  answered(latencyMs: number): void;
  failed(kind: string): void;
}

/**
 * HTTP/1.1 with keep-alive over node:http: one socket per concurrent request, like a k6 VU's
 * connection. A request that gets no answer within `timeoutMs` is a `timeout`; a refused or reset
 * connection is `connection`.
 */
export class LoadClient {
  private readonly agent: http.Agent;
  private readonly base: URL;
  sink: Sink = { answered() {}, failed() {} };

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    this.base = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 4096 });
  }

  /** Sends one request; resolves with the answer for expected statuses, undefined otherwise. */
  request(spec: RequestSpec): Promise<Answer | undefined> {
    const started = performance.now();
    const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    return new Promise((resolve) => {
      let settled = false;
      const fail = (kind: string) => {
        if (settled) return;
        settled = true;
        this.sink.failed(kind);
        resolve(undefined);
      };
      const req = http.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          path: spec.path,
          method: spec.method ?? 'GET',
          agent: this.agent,
          headers: {
            accept: 'application/json',
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
            ...spec.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', () => fail('connection'));
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            const status = res.statusCode ?? 0;
            this.sink.answered(performance.now() - started);
            if (!(spec.expect ?? [200]).includes(status)) {
              this.sink.failed(`http ${status}`);
              resolve(undefined);
              return;
            }
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status,
              body: text && /json/.test(res.headers['content-type'] ?? '') ? JSON.parse(text) : text,
            });
          });
        },
      );
      const timer = setTimeout(() => {
        fail('timeout');
        req.destroy();
      }, this.timeoutMs);
      req.on('error', () => {
        clearTimeout(timer);
        fail('connection');
      });
      req.end(payload);
    });
  }

  /** Records a failed check on an answered request (wrong body shape). */
  checkFailed(): void {
    this.sink.failed('check');
  }

  close(): void {
    this.agent.destroy();
  }
}

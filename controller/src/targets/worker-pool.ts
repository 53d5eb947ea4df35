import { ConflictError, TargetError, type ScaleState, type ScaleTarget } from './scale-target.js';

/**
 * The booking service's local cluster mode (service/src/cluster/admin-server.ts): `GET /workers` ->
 * `{desired, running}`, `PUT /workers {"count": N}` with a bearer token. The admin server has no versions,
 * so the desired count read is the version: set() re-reads it first and refuses when it moved. (A change
 * between that check and the PUT can still be lost; on one machine nothing else resizes that fast.)
 */
export class WorkerPoolTarget implements ScaleTarget {
  readonly description: string;

  constructor(
    private readonly adminUrl: string,
    private readonly token: string,
  ) {
    this.description = `worker pool ${adminUrl}`;
  }

  async get(): Promise<ScaleState> {
    const response = await this.request('get', 'GET');
    const body = (await response.json()) as { desired?: unknown };
    if (typeof body.desired !== 'number')
      throw new TargetError('get', this.description, 'no "desired" in the answer');
    return { replicas: body.desired, resourceVersion: String(body.desired) };
  }

  async set(replicas: number, resourceVersion: string): Promise<void> {
    if ((await this.get()).resourceVersion !== resourceVersion) throw new ConflictError(this.description);
    await this.request('set', 'PUT', JSON.stringify({ count: replicas }));
  }

  private async request(operation: 'get' | 'set', method: string, body?: string): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.adminUrl}/workers`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(5000),
      });
    } catch (error) {
      throw new TargetError(operation, this.description, (error as Error).message);
    }
    if (!response.ok)
      throw new TargetError(operation, this.description, `HTTP ${response.status}: ${await response.text()}`);
    return response;
  }
}

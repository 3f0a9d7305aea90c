import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, createServer as createTcpServer } from 'node:net';

/** What the mock returns on one path. */
export interface MockRoute {
  readonly status?: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** Delay before the response, to simulate a slow upstream. */
  readonly delayMs?: number;
}

/** A request the mock received. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: string;
}

/**
 * An HTTP server on 127.0.0.1 with per-path responses that tests change
 * while it runs, standing in for morphogen-server, the adapter or nginx.
 */
export class MockServer {
  readonly requests: RecordedRequest[] = [];
  routes: Record<string, MockRoute> = {};
  private server?: Server;
  private readonly timers = new Set<NodeJS.Timeout>();

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async start(routes: Record<string, MockRoute> = {}): Promise<this> {
    this.routes = routes;
    this.server = createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = (request.url ?? '/').split('?')[0];
      this.requests.push({ method: request.method ?? 'GET', path, body: Buffer.concat(chunks).toString() });
      const route = this.routes[path] ?? { status: 404, body: 'not found' };
      const send = () => {
        const body = route.body ?? '';
        response.writeHead(route.status ?? 200, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          ...route.headers,
        });
        response.end(request.method === 'HEAD' ? undefined : body);
      };
      if (route.delayMs) {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          send();
        }, route.delayMs);
        this.timers.add(timer);
      } else {
        send();
      }
    });
  }
}

/** Returns a loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Response shapes of morphogen-server, as its /health and /epoch return them. */
export const HEALTH_OK = '{"status":"ok","epoch_id":42,"block_number":21000000}';
export const EPOCH_OK = JSON.stringify({
  epoch_id: 42,
  num_rows: 1048576,
  seeds: [11, 22, 33],
  block_number: 21000000,
  state_root: '0x' + 'ab'.repeat(32),
});

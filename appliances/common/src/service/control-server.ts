import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ZodType } from 'zod';
import type { Logger } from '../log/logger';
import { guardMtlsServer, isAuthorizedPeer, mtlsServerContext, TlsIdentity } from '../mtls/mtls';

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly details?: Record<string, unknown>) {
    super(message);
  }
}

export interface Reply {
  status: number;
  body?: unknown;
}

export type Handler = (params: Record<string, string>, body: unknown, query: URLSearchParams) => Reply | Promise<Reply>;

/**
 * A route that answers by itself (a byte stream, not JSON). It may throw HttpError before it
 * writes the head; the error is then answered as JSON like any other.
 */
export type StreamHandler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler?: Handler;
  stream?: StreamHandler;
}

export interface ControlServerOptions {
  /** What this listener is, for log lines (default "control"). */
  name?: string;
  /** node's requestTimeout (ms; 0 = none): a streaming route's body may take longer than the default 300 s. */
  requestTimeoutMs?: number;
}

const MAX_BODY = 1 << 20;

/**
 * The control API of an appliance service: JSON over HTTPS with mutual TLS. Only clients whose
 * certificate comes from the HDM CA and carries an allowed role (the plugin server) get in.
 */
export class ControlServer {
  readonly server: https.Server;
  private readonly routes: Route[] = [];

  constructor(identity: TlsIdentity, private readonly allowedRoles: string[], private readonly log: Logger, opts: ControlServerOptions = {}) {
    this.server = https.createServer({ ...mtlsServerContext(identity) }, (req, res) => void this.dispatch(req, res));
    guardMtlsServer(this.server, { allowedRoles, log, name: opts.name ?? 'control' });
    this.server.keepAliveTimeout = 5000;
    if (opts.requestTimeoutMs !== undefined) this.server.requestTimeout = opts.requestTimeoutMs;
  }

  /** Adds a route; `path` segments starting with ':' are parameters. */
  route(method: string, path: string, handler: Handler): this {
    return this.add(method, path, { handler });
  }

  /** Adds a route that streams its own answer (see StreamHandler). */
  streamRoute(method: string, path: string, stream: StreamHandler): this {
    return this.add(method, path, { stream });
  }

  private add(method: string, path: string, how: Pick<Route, 'handler' | 'stream'>): this {
    const names: string[] = [];
    const re = path.replace(/:([A-Za-z]+)/g, (_, n: string) => {
      names.push(n);
      return '([^/]+)';
    });
    this.routes.push({ method, pattern: new RegExp(`^${re}$`), names, ...how });
    return this;
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', reject);
        const a = this.server.address() as { address: string; port: number };
        resolve({ host, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      const text = body === undefined ? '' : JSON.stringify(body);
      // A body left unread (a refused upload) is not drained: the connection ends with the answer.
      const unread = !req.complete && (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined);
      const close = unread ? { Connection: 'close' } : {};
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...close });
      res.end(text);
    };
    try {
      if (!isAuthorizedPeer(req.socket as TLSSocket, this.allowedRoles)) throw new HttpError(403, 'client certificate not allowed');
      const url = new URL(req.url ?? '/', 'https://control');
      const candidates = this.routes.filter((r) => r.pattern.test(url.pathname));
      if (candidates.length === 0) throw new HttpError(404, `no such resource ${url.pathname}`);
      const route = candidates.find((r) => r.method === req.method);
      if (!route) throw new HttpError(405, `method ${req.method} not allowed on ${url.pathname}`);
      const m = route.pattern.exec(url.pathname)!;
      const params: Record<string, string> = {};
      route.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
      if (route.stream) return await route.stream(req, res, url.searchParams);
      const body = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' ? await readJson(req) : undefined;
      const reply = await route.handler!(params, body, url.searchParams);
      send(reply.status, reply.body);
    } catch (err) {
      if (res.headersSent) {
        // A stream route failed half-way: the peer sees a cut connection, never a short success.
        this.log.warn({ err, url: req.url, method: req.method }, 'stream request failed');
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        send(err.status, { error: err.message, ...err.details });
        return;
      }
      this.log.error({ err, url: req.url, method: req.method }, 'control request failed');
      send(500, { error: `internal error: ${(err as Error).message}` });
    }
  }
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      req.resume();
      reject(new HttpError(415, 'Content-Type must be application/json'));
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, `body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      parts.push(d);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
      } catch (err) {
        reject(new HttpError(400, `body is not valid JSON: ${(err as Error).message}`));
      }
    });
    req.on('error', reject);
  });
}

/** Validates a body with a zod schema; a failure is a 400 listing every bad field. */
export function validateBody<T>(schema: ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ field: i.path.length ? i.path.join('.') : '(body)', message: i.message }));
  const fields = [...new Set(issues.map((i) => i.field))];
  throw new HttpError(400, `invalid request body: ${fields.join(', ')}`, { fields, issues });
}

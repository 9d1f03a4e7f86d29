import { Readable } from 'stream';
import { readBody, SoapTransport, TransportOptions, VimConnectionError } from '../soap/transport';
import { REST_ROOT, SESSION, SESSION_HEADER } from './paths';

/** A vAPI error answer: HTTP status, the error type (`com.vmware.vapi.std.errors.not_found`, ...) and its messages. */
export class VapiError extends Error {
  constructor(readonly status: number, readonly errorType: string | undefined, message: string) {
    super(message);
    this.name = 'VapiError';
  }
}

export interface VapiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below /rest (see paths.ts). */
  path: string;
  query?: Record<string, string | undefined>;
  /** JSON body. */
  body?: unknown;
}

/**
 * VapiClient: the vCenter's vAPI REST endpoint (`https://<vc>/rest`), on the same pinned HTTPS
 * transport as vim25. Lifecycle: `login(user, password)` (POST cis/session with Basic auth →
 * `vmware-api-session-id`, sent as a header on every later call) → `call()` → `logout()`.
 */
export class VapiClient {
  readonly transport: SoapTransport;
  /** The vAPI session id after login. */
  sessionId: string | undefined;

  constructor(opts: TransportOptions) {
    // The transport is keyed on the /sdk URL; /rest lives on the same host and pin.
    this.transport = new SoapTransport(opts);
  }

  static async login(opts: TransportOptions, username: string, password: string): Promise<VapiClient> {
    const c = new VapiClient(opts);
    try {
      await c.login(username, password);
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  async login(username: string, password: string): Promise<void> {
    const auth = Buffer.from(`${username}:${password}`).toString('base64');
    this.sessionId = undefined;
    this.sessionId = await this.send<string>({ method: 'POST', path: SESSION }, { Authorization: `Basic ${auth}` });
  }

  /** DELETE cis/session (ignores an already ended session) and closes the sockets. */
  async logout(): Promise<void> {
    try {
      if (this.sessionId) await this.call({ method: 'DELETE', path: SESSION });
    } catch (e) {
      if (!(e instanceof VapiError && e.status === 401)) throw e;
    } finally {
      this.sessionId = undefined;
      this.close();
    }
  }

  /** One vAPI call; resolves with the answer's `value` (undefined when there is none). */
  call<T = unknown>(req: VapiRequest): Promise<T> {
    if (!this.sessionId) return Promise.reject(new VapiError(401, 'com.vmware.vapi.std.errors.unauthenticated', 'not logged in to the vAPI endpoint'));
    return this.send<T>(req, { [SESSION_HEADER]: this.sessionId });
  }

  /** PUT of file bytes to an upload URL handed out by vCenter (update-session file endpoints). */
  async upload(uri: string, data: Buffer | Readable, size: number): Promise<void> {
    const target = new URL(uri.replace('://*/', `://${this.transport.host}/`), this.transport.url);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Content-Length': size };
    if (this.sessionId) headers[SESSION_HEADER] = this.sessionId;
    const res = await this.transport.request(target, { method: 'PUT', headers, body: data, withSession: false });
    const text = (await readBody(res, 64 * 1024)).toString('utf8');
    if ((res.statusCode ?? 0) >= 300) throw new VapiError(res.statusCode ?? 0, undefined, `upload to ${target.pathname}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
  }

  close(): void {
    this.transport.close();
  }

  private async send<T>(req: VapiRequest, headers: Record<string, string>): Promise<T> {
    const url = new URL(REST_ROOT + req.path, this.transport.url);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const res = await this.transport.request(url, {
      method: req.method,
      headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body,
      withSession: false,
    });
    const text = (await readBody(res, 64 << 20)).toString('utf8');
    const status = res.statusCode ?? 0;
    let parsed: { value?: unknown; type?: string; messages?: Array<{ default_message?: string }> } | undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      if (status < 300) throw new VimConnectionError(`${req.method} ${url.pathname}: not JSON: ${text.slice(0, 200)}`, url.toString());
    }
    if (status >= 300) {
      const value = parsed?.value as { messages?: Array<{ default_message?: string }> } | undefined;
      const msg = value?.messages?.map((m) => m.default_message).filter(Boolean).join('; ') || text.slice(0, 200) || `HTTP ${status}`;
      throw new VapiError(status, parsed?.type, `${req.method} ${url.pathname}: ${msg}`);
    }
    return parsed?.value as T;
  }
}

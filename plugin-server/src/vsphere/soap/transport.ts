import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as tls from 'tls';
import { Duplex, Readable } from 'stream';

export interface TransportOptions {
  /** The /sdk endpoint, e.g. `https://vc.example.com/sdk`. */
  url: string;
  /** SHA-1 fingerprint of the server certificate (`AA:BB:...`): pins the certificate instead of CA checks. */
  thumbprint?: string;
  /** CA verification when no thumbprint is given (default true). */
  rejectUnauthorized?: boolean;
  /** Per-request timeout in milliseconds (default 60 000). */
  timeoutMs?: number;
}

/** The host could not be reached, the TLS pin did not match, or the HTTP exchange failed. */
export class VimConnectionError extends Error {
  constructor(message: string, readonly url: string, readonly code?: string) {
    super(message);
    this.name = 'VimConnectionError';
  }
}

export function normalizeThumbprint(t: string): string {
  const hex = t.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  return hex.match(/.{2}/g)?.join(':') ?? '';
}

/**
 * https.Agent whose sockets are handed to HTTP only after the peer certificate's SHA-1 fingerprint
 * matched the pin, so no request byte (credentials!) reaches an unpinned server. `mismatch` builds
 * the error a caller wants to see (default: VimConnectionError code THUMBPRINT_MISMATCH).
 */
export class PinnedAgent extends https.Agent {
  readonly pin: string;

  constructor(
    pin: string,
    private readonly url: string,
    private readonly mismatch: (expected: string, actual: string) => Error = (expected, actual) =>
      new VimConnectionError(`TLS thumbprint mismatch for ${url}: expected ${expected}, server presented ${actual}`, url, 'THUMBPRINT_MISMATCH'),
  ) {
    super({ keepAlive: true, rejectUnauthorized: false });
    this.pin = normalizeThumbprint(pin);
  }

  override createConnection(options: tls.ConnectionOptions, cb: (err: Error | null, s?: Duplex) => void): Duplex | undefined {
    const servername = options.host && !net.isIP(options.host) ? options.host : undefined;
    const socket = tls.connect({ ...options, servername, rejectUnauthorized: false });
    const onError = (err: Error): void => cb(err);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.removeListener('error', onError);
      const actual = normalizeThumbprint(socket.getPeerCertificate().fingerprint ?? '');
      if (actual !== this.pin) {
        socket.destroy();
        cb(this.mismatch(this.pin, actual));
        return;
      }
      cb(null, socket);
    });
    return undefined;
  }
}

/** One plain HTTP exchange beside SOAP (datastore /folder, NFC lease URLs): see SoapTransport.request. */
export interface HttpRequestOptions {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  headers?: Record<string, string | number>;
  /** Request body: a Buffer/string, or a stream (then give Content-Length in `headers` or it is chunked). */
  body?: Buffer | string | Readable;
  /**
   * Pin for a host other than the /sdk host (an NFC URL on an ESXi host carries its own
   * sslThumbprint). Requests to the /sdk host always use the transport's own pin or CA check.
   */
  thumbprint?: string;
  /** Send the session cookie (default true for the /sdk host, false elsewhere: never leak it to another host). */
  withSession?: boolean;
  /** Idle timeout in milliseconds (default: the transport's timeoutMs); streams may take longer in total. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * HTTPS transport for one vCenter: SOAP POSTs to /sdk and the plain HTTP exchanges beside it
 * (datastore /folder, NFC), over the same agents: keep-alive, the session cookie
 * (`vmware_soap_session`) kept from responses and sent back, TLS by thumbprint pin or CA.
 */
export class SoapTransport {
  readonly url: URL;
  private readonly agent: https.Agent;
  private readonly timeoutMs: number;
  private readonly cookies = new Map<string, string>();
  /** Agents for other hosts (NFC on ESXi), keyed by pin ('' = CA verification). */
  private readonly otherAgents = new Map<string, https.Agent>();

  constructor(private readonly opts: TransportOptions) {
    this.url = new URL(opts.url);
    if (this.url.protocol !== 'https:') throw new VimConnectionError(`only https URLs are supported: ${opts.url}`, opts.url);
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.agent = opts.thumbprint
      ? new PinnedAgent(normalizeThumbprint(opts.thumbprint), opts.url)
      : new https.Agent({ keepAlive: true, rejectUnauthorized: opts.rejectUnauthorized ?? true });
  }

  /** The `vmware_soap_session` cookie value (also needed as PBM's vcSessionCookie header). */
  get sessionCookie(): string | undefined {
    return this.cookies.get('vmware_soap_session');
  }

  set sessionCookie(value: string | undefined) {
    if (value === undefined) this.cookies.delete('vmware_soap_session');
    else this.cookies.set('vmware_soap_session', value);
  }

  /** POSTs `body` with `soapAction`; resolves with status and text (a SOAP fault comes with 500). */
  post(body: string, soapAction: string): Promise<{ status: number; body: string }> {
    const headers: Record<string, string | number> = {
      'Content-Type': 'text/xml; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      SOAPAction: soapAction,
    };
    if (this.cookies.size) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const where = this.opts.url;
    return new Promise((resolve, reject) => {
      const req = https.request(this.url, { method: 'POST', headers, agent: this.agent }, (res) => {
        for (const c of res.headers['set-cookie'] ?? []) {
          const m = /^\s*([^=;\s]+)=([^;]*)/.exec(c);
          if (m) this.cookies.set(m[1], m[2]);
        }
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => reject(wrapError(e, where)));
      });
      req.setTimeout(this.timeoutMs, () => {
        req.destroy(new VimConnectionError(`timed out after ${this.timeoutMs} ms waiting for ${where}`, where, 'ETIMEDOUT'));
      });
      req.on('error', (e) => reject(wrapError(e, where)));
      req.end(body);
    });
  }

  /**
   * A plain HTTP exchange on `url` (absolute, or a path on the /sdk host). Resolves with the
   * response once its headers arrived; the caller consumes (or `resume()`s) the body. Status
   * codes are not judged here: callers map 404/401/... to their own errors.
   */
  request(url: string | URL, opts: HttpRequestOptions): Promise<http.IncomingMessage> {
    const target = new URL(url.toString(), this.url);
    if (target.protocol !== 'https:') {
      return Promise.reject(new VimConnectionError(`only https URLs are supported: ${target}`, target.toString()));
    }
    const sameHost = target.host === this.url.host;
    const agent = sameHost ? this.agent : this.agentFor(opts.thumbprint);
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if ((opts.withSession ?? sameHost) && this.cookies.size) {
      headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    const body = opts.body;
    if ((typeof body === 'string' || Buffer.isBuffer(body)) && headers['Content-Length'] === undefined) {
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const where = target.toString();
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const req = https.request(target, { method: opts.method, headers, agent, signal: opts.signal }, (res) => {
        // The idle timer stays armed while the body streams and is disarmed when it ends, so a
        // keep-alive socket handed back to the agent carries no stale timer.
        const socket = res.socket;
        const onIdle = (): void => {
          res.destroy(new VimConnectionError(`timed out after ${timeoutMs} ms reading ${where}`, where, 'ETIMEDOUT'));
        };
        req.setTimeout(0);
        socket.setTimeout(timeoutMs);
        socket.on('timeout', onIdle);
        res.once('close', () => {
          socket.removeListener('timeout', onIdle);
          socket.setTimeout(0);
        });
        resolve(res);
      });
      req.setTimeout(timeoutMs, () => {
        req.destroy(new VimConnectionError(`timed out after ${timeoutMs} ms waiting for ${where}`, where, 'ETIMEDOUT'));
      });
      req.on('error', (e) => reject(wrapError(e, where)));
      if (body instanceof Readable) {
        body.on('error', (e) => req.destroy(e));
        body.pipe(req);
      } else {
        req.end(body);
      }
    });
  }

  /** The host[:port] of the /sdk endpoint (replaces the `*` host of NFC device URLs). */
  get host(): string {
    return this.url.host;
  }

  private agentFor(pin: string | undefined): https.Agent {
    const key = pin ? normalizeThumbprint(pin) : '';
    let agent = this.otherAgents.get(key);
    if (!agent) {
      agent = key ? new PinnedAgent(key, 'the pinned host') : new https.Agent({ keepAlive: true, rejectUnauthorized: this.opts.rejectUnauthorized ?? true });
      this.otherAgents.set(key, agent);
    }
    return agent;
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
    for (const a of this.otherAgents.values()) a.destroy();
    this.otherAgents.clear();
  }
}

/** Reads a whole response body (for error messages and small payloads). */
export async function readBody(res: http.IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    const b = c as Buffer;
    if (n < limit) chunks.push(b.subarray(0, limit - n));
    n += b.length;
  }
  return Buffer.concat(chunks);
}

function wrapError(e: Error & { code?: string }, url: string): Error {
  if (e instanceof VimConnectionError) return e;
  const code = e.code;
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return new VimConnectionError(`TLS certificate of ${url} is not trusted: ${e.message} (${code}); pin it with a thumbprint`, url, code);
  }
  const what = code === 'ECONNREFUSED' ? 'connection refused'
    : code === 'EHOSTUNREACH' ? 'host unreachable'
      : code === 'ENOTFOUND' ? 'host name not found'
        : code === 'ETIMEDOUT' ? 'connection timed out'
          : code === 'ECONNRESET' ? 'connection reset'
            : e.message;
  return new VimConnectionError(`cannot reach ${url}: ${what}${code && what !== e.message ? ` (${code})` : ''}`, url, code);
}

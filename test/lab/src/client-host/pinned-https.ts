import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Duplex } from 'node:stream';

/** `AA:BB:…` upper-case colon hex, whatever separators or case `t` came with. */
export function normalizeThumbprint(t: string): string {
  const hex = t.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  return hex.match(/.{2}/g)?.join(':') ?? '';
}

/**
 * The plugin server presented a certificate other than the one its vCenter registration names.
 * The vSphere Client refuses to load such a plugin; so does the client host.
 */
export class ThumbprintMismatchError extends Error {
  readonly code = 'THUMBPRINT_MISMATCH';
  constructor(readonly url: string, readonly expected: string, readonly actual: string) {
    super(`TLS thumbprint mismatch for ${url}: the vCenter registration names ${expected}, the server presented ${actual}`);
    this.name = 'ThumbprintMismatchError';
  }
}

/**
 * https.Agent that hands a socket to HTTP only after the peer certificate's SHA-1 fingerprint
 * equals the pin: no request byte (cookies, session tokens) reaches an unpinned server. The pin
 * replaces CA checks, as in the vSphere Client's trust of a registered `serverThumbprint`.
 */
export class PinnedAgent extends https.Agent {
  readonly pin: string;

  constructor(thumbprint: string, private readonly label: string) {
    super({ keepAlive: true, rejectUnauthorized: false });
    this.pin = normalizeThumbprint(thumbprint);
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
        cb(new ThumbprintMismatchError(this.label, this.pin, actual));
        return;
      }
      cb(null, socket);
    });
    return undefined;
  }
}

/** GET `url` over TLS pinned by `agent`; resolves with status and body text (rejects on mismatch). */
export function getPinned(url: string, agent: PinnedAgent, timeoutMs = 15_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'GET', agent, headers: { accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

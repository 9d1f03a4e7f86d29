import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';

/** A lease URL as the plugin server hands it over. */
export interface HttpEndpoint {
  url: string;
  /**
   * Cookie header value, e.g. `vmware_soap_session="52a1…"`. A bare value without `=` is sent
   * as the `vmware_soap_session` cookie.
   */
  cookie?: string;
  /** Certificate pin: SHA-1 (vCenter's form, 20 bytes) or SHA-256 (32 bytes) thumbprint, colon hex. */
  thumbprint?: string;
  /** Trust anchors for normal verification when no thumbprint is given. */
  ca?: string | Buffer;
}

export class PinMismatchError extends Error {
  readonly code = 'ERR_HDM_PIN_MISMATCH';
  constructor(host: string, expected: string, got: string) {
    super(`certificate of ${host} has thumbprint ${got}, expected ${expected}`);
  }
}

/** Uppercase colon hex; accepts any case, with or without colons. */
export function normalizeThumbprint(t: string): string {
  const hex = t.replace(/[:\s]/g, '').toUpperCase();
  if (!/^([0-9A-F]{40}|[0-9A-F]{64})$/.test(hex)) throw new Error(`thumbprint "${t}" is neither SHA-1 nor SHA-256 hex`);
  return hex.match(/.{2}/g)!.join(':');
}

export function cookieHeader(cookie: string | undefined): string | undefined {
  if (!cookie) return undefined;
  return cookie.includes('=') ? cookie : `vmware_soap_session=${cookie}`;
}

/**
 * An HTTPS agent that accepts exactly the certificate with the given thumbprint (self-signed
 * vCenter certificates), checked after the handshake and before any request byte (and so the
 * session cookie) is written. Keep-alive sockets are reused only after they passed the pin.
 */
class PinnedAgent extends https.Agent {
  private readonly pin: string;
  constructor(pin: string, maxSockets: number) {
    super({ keepAlive: true, maxSockets, maxCachedSessions: 0 });
    this.pin = normalizeThumbprint(pin);
  }

  override createConnection(options: tls.ConnectionOptions, cb: (err: Error | null, socket?: Duplex) => void): Duplex | undefined {
    const host = options.host ?? 'localhost';
    const socket = tls.connect({
      ...options,
      servername: isIP(host) ? undefined : host,
      rejectUnauthorized: false, // replaced by the pin below: a self-signed cert fails the chain check
    });
    const onError = (err: Error): void => cb(err);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.removeListener('error', onError);
      const cert = socket.getPeerCertificate();
      const got = this.pin.length === 59 ? cert.fingerprint : cert.fingerprint256;
      if (!got || got.toUpperCase() !== this.pin) {
        const err = new PinMismatchError(host, this.pin, got ?? '(none)');
        socket.destroy();
        cb(err);
        return;
      }
      cb(null, socket);
    });
    return undefined;
  }
}

/** The agent for an endpoint: pinned for https with thumbprint, verifying for https without, plain for http. */
export function agentFor(ep: HttpEndpoint, maxSockets = 4): http.Agent {
  const u = new URL(ep.url);
  if (u.protocol === 'http:') return new http.Agent({ keepAlive: true, maxSockets });
  if (u.protocol !== 'https:') throw new Error(`unsupported URL scheme ${u.protocol} in ${redact(ep.url)}`);
  if (ep.thumbprint) return new PinnedAgent(ep.thumbprint, maxSockets);
  return new https.Agent({ keepAlive: true, maxSockets, ca: ep.ca });
}

export function requestFn(url: string): typeof http.request {
  return new URL(url).protocol === 'https:' ? https.request : http.request;
}

/** The URL without query string (lease URLs carry no secrets in the path, but be safe in logs). */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(bad url)';
  }
}

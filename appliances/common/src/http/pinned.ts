import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { mtlsClientOptions, peerRole, roleMatches, type TlsIdentity } from '../mtls/mtls';

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
  /** An HDM service (mutual TLS): present `identity`, trust its CA, require the server's role. */
  mtls?: { identity: TlsIdentity; expectedRole: string };
}

export class PinMismatchError extends Error {
  readonly code = 'ERR_HDM_PIN_MISMATCH';
  constructor(host: string, expected: string, got: string) {
    super(`certificate of ${host} has thumbprint ${got}, expected ${expected}`);
  }
}

/** The server's certificate does not carry the role asked for (a permanent error, like a pin mismatch). */
export class PeerRoleError extends Error {
  readonly code = 'ERR_HDM_PEER_ROLE';
  constructor(got: string | undefined, expected: string) {
    super(`server certificate CN "${got ?? ''}" does not carry the expected role "${expected}"`);
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
 * An HTTPS agent that hands a connection to a request only after `check` accepted the peer,
 * i.e. after the handshake and before any request byte (a session cookie, a client's data) is
 * written. Keep-alive sockets are reused only after they passed.
 */
class CheckedAgent extends https.Agent {
  constructor(
    private readonly tlsOptions: tls.ConnectionOptions,
    private readonly check: (socket: tls.TLSSocket, host: string) => Error | undefined,
    maxSockets: number,
  ) {
    super({ keepAlive: true, maxSockets, maxCachedSessions: 0 });
  }

  override createConnection(options: tls.ConnectionOptions, cb: (err: Error | null, socket?: Duplex) => void): Duplex | undefined {
    const host = options.host ?? 'localhost';
    const socket = tls.connect({ ...options, servername: isIP(host) ? undefined : host, ...this.tlsOptions });
    const onError = (err: Error): void => cb(err);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.removeListener('error', onError);
      const err = this.check(socket, host);
      if (err) {
        socket.destroy();
        cb(err);
        return;
      }
      cb(null, socket);
    });
    return undefined;
  }
}

/** Accepts exactly the certificate with the given thumbprint (self-signed vCenter certificates). */
function pinnedAgent(thumbprint: string, maxSockets: number): https.Agent {
  const pin = normalizeThumbprint(thumbprint);
  // rejectUnauthorized false: replaced by the pin (a self-signed cert fails the chain check).
  return new CheckedAgent({ rejectUnauthorized: false }, (socket, host) => {
    const cert = socket.getPeerCertificate();
    const got = pin.length === 59 ? cert.fingerprint : cert.fingerprint256;
    return !got || got.toUpperCase() !== pin ? new PinMismatchError(host, pin, got ?? '(none)') : undefined;
  }, maxSockets);
}

/** Mutual TLS to an HDM service: our client certificate, the HDM CA, and the server's role (CN). */
function mtlsAgent(m: NonNullable<HttpEndpoint['mtls']>, maxSockets: number): https.Agent {
  // No host: each connection names its own (servername and host dropped here, set per connection).
  const { servername: _sni, host: _host, ...options } = mtlsClientOptions({ ...m.identity, host: '', expectedRole: m.expectedRole });
  // The role is the identity, not the host name (appliance addresses are not in certificates): no
  // name check in the handshake; the role is checked below, as a permanent, typed error.
  options.checkServerIdentity = () => undefined;
  return new CheckedAgent(options, (socket) => {
    const role = peerRole(socket.getPeerCertificate());
    return roleMatches(role, m.expectedRole) ? undefined : new PeerRoleError(role, m.expectedRole);
  }, maxSockets);
}

/** The agent for an endpoint: pinned for https with thumbprint, verifying for https without, plain for http. */
export function agentFor(ep: HttpEndpoint, maxSockets = 4): http.Agent {
  const u = new URL(ep.url);
  if (u.protocol === 'http:') return new http.Agent({ keepAlive: true, maxSockets });
  if (u.protocol !== 'https:') throw new Error(`unsupported URL scheme ${u.protocol} in ${redact(ep.url)}`);
  if (ep.mtls) return mtlsAgent(ep.mtls, maxSockets);
  if (ep.thumbprint) return pinnedAgent(ep.thumbprint, maxSockets);
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

import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import type { Logger } from '../log/logger';

/** This service's certificate, key and the CA that issues every HDM peer. */
export interface TlsIdentity {
  cert: string | Buffer;
  key: string | Buffer;
  /** Trust anchor(s): only peers issued by this CA are accepted. */
  ca: string | Buffer;
  /** For an encrypted private key PEM. */
  passphrase?: string;
}

export interface IdentityFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
  passphraseFile?: string;
}

/** Reads PEM files; the passphrase file's trailing newline is dropped. */
export function loadIdentity(files: IdentityFiles): TlsIdentity {
  const id: TlsIdentity = {
    cert: readFileSync(files.certFile),
    key: readFileSync(files.keyFile),
    ca: readFileSync(files.caFile),
  };
  if (files.passphraseFile) id.passphrase = readFileSync(files.passphraseFile, 'utf8').replace(/\r?\n$/, '');
  // Fail early with a clear message instead of at the first handshake.
  tls.createSecureContext({ ...id });
  return id;
}

/**
 * The role a peer certificate stands for: its subject CN. A CN of `role` or `role.<anything>`
 * (e.g. `cloud-manager.site-a`) carries that role.
 */
export function peerRole(cert: tls.PeerCertificate | undefined): string | undefined {
  const cn = cert?.subject?.CN;
  if (!cn) return undefined;
  return (Array.isArray(cn) ? cn[0] : cn) as string;
}

export function roleMatches(cn: string | undefined, expected: string): boolean {
  return !!cn && (cn === expected || cn.startsWith(`${expected}.`));
}

export interface MtlsServerOptions extends TlsIdentity {
  /** Roles allowed to connect (client certificate CN). */
  allowedRoles: string[];
  log: Logger;
  /** What this listener is, for log lines ("control", "data"). */
  name: string;
}

/**
 * TLS options for a server that requires a client certificate from our CA.
 *
 * `rejectUnauthorized` is false here on purpose and the check is NOT skipped: with it true,
 * node destroys a refused socket without telling why. `guardMtlsServer` (always installed by
 * the helpers below) runs first on every connection and destroys any socket whose client
 * certificate is missing, not issued by `ca` (`socket.authorized` false) or of another role,
 * and logs the OpenSSL reason. `isAuthorizedPeer` re-checks per request.
 */
export function mtlsServerContext(id: TlsIdentity): tls.TlsOptions {
  return {
    cert: id.cert,
    key: id.key,
    ca: id.ca,
    passphrase: id.passphrase,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    ciphers: HDM_CIPHERS,
    honorCipherOrder: true,
  };
}

/**
 * AES-128-GCM first (TLS 1.3's mandatory suite): the disk bytes are encrypted on both sides of
 * every transfer, and it costs ~25 % less CPU per byte than node's default AES-256-GCM here
 * (2 cores shared by sender and receiver: the cipher is on the critical path). The rest of
 * node's default list follows for TLS 1.2 peers.
 */
export const HDM_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', tls.DEFAULT_CIPHERS].join(':');

/** True when the socket's client certificate chains to our CA and carries one of `roles`. */
export function isAuthorizedPeer(socket: tls.TLSSocket, roles: string[]): boolean {
  return socket.authorized === true && roles.some((r) => roleMatches(peerRole(socket.getPeerCertificate()), r));
}

/**
 * Wires handshake logging and the role check into a TLS (or HTTPS) server: peers from a
 * foreign CA fail the handshake (logged with the reason), peers of the wrong role are
 * disconnected right after it (logged).
 */
export function guardMtlsServer(server: tls.Server, opts: Pick<MtlsServerOptions, 'allowedRoles' | 'log' | 'name'>): void {
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    opts.log.warn(
      { listener: opts.name, remote: `${socket.remoteAddress}:${socket.remotePort}`, code: err.code, reason: err.message },
      'refused TLS client: handshake failed',
    );
  });
  server.prependListener('secureConnection', (socket: tls.TLSSocket) => {
    const role = peerRole(socket.getPeerCertificate());
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (!socket.authorized) {
      const reason = String(socket.authorizationError ?? 'no client certificate');
      opts.log.warn({ listener: opts.name, remote, peer: role, reason }, 'refused TLS client: certificate not issued by our CA');
      socket.destroy();
    } else if (!opts.allowedRoles.some((r) => roleMatches(role, r))) {
      opts.log.warn({ listener: opts.name, remote, peer: role, allowed: opts.allowedRoles, reason: 'role not allowed' }, 'refused TLS client: wrong role');
      socket.destroy();
    }
  });
}

/** A plain TLS server (the data listener) requiring a client certificate of an allowed role. */
export function createMtlsServer(opts: MtlsServerOptions, onConnection: (socket: tls.TLSSocket, role: string) => void): tls.Server {
  const server = tls.createServer(mtlsServerContext(opts));
  guardMtlsServer(server, opts);
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    if (socket.destroyed) return;
    onConnection(socket, peerRole(socket.getPeerCertificate())!);
  });
  return server;
}

export interface MtlsConnectOptions extends TlsIdentity {
  host: string;
  port: number;
  /** The role the server's certificate must carry (CN). */
  expectedRole: string;
  /** Also check the host name against the certificate's SAN (off by default: the role is the identity). */
  verifyHostname?: boolean;
  timeoutMs?: number;
}

/** Client TLS options presenting our certificate and checking the server's CA and role. */
export function mtlsClientOptions(opts: Omit<MtlsConnectOptions, 'port'>): tls.ConnectionOptions {
  return {
    host: opts.host,
    cert: opts.cert,
    key: opts.key,
    ca: opts.ca,
    passphrase: opts.passphrase,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ciphers: HDM_CIPHERS,
    // SNI must be a DNS name; an IP address is not sent.
    servername: /^[\d.]+$|:/.test(opts.host) ? '' : opts.host,
    checkServerIdentity: (host, cert) => {
      const role = peerRole(cert);
      if (!roleMatches(role, opts.expectedRole)) {
        return new Error(`server certificate CN "${role ?? ''}" does not carry the expected role "${opts.expectedRole}"`);
      }
      return opts.verifyHostname ? tls.checkServerIdentity(host, cert) : undefined;
    },
  };
}

/** Connects with mutual TLS; resolves once the handshake and the role check passed. */
export function connectMtls(opts: MtlsConnectOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...mtlsClientOptions(opts), port: opts.port });
    const timer = setTimeout(() => socket.destroy(new Error(`TLS connect to ${opts.host}:${opts.port} timed out`)), opts.timeoutMs ?? 10_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

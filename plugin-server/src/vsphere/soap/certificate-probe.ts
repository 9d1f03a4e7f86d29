import * as tls from 'node:tls';
import * as net from 'node:net';
import { normalizeThumbprint, VimConnectionError } from './transport';

/**
 * The SHA-1 thumbprint of the certificate a vCenter presents, read from a TLS
 * handshake without sending a byte of HTTP. For trust on first use: the caller
 * shows or pins it, and every later connection is pinned to it.
 */
export function probeThumbprint(url: string, timeoutMs = 10_000): Promise<string> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 443);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false, timeout: timeoutMs });
    socket.once('secureConnect', () => {
      const fp = socket.getPeerCertificate().fingerprint ?? '';
      socket.destroy();
      resolve(normalizeThumbprint(fp));
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new VimConnectionError(`no TLS answer from ${url} within ${timeoutMs} ms`, url, 'ETIMEDOUT'));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => reject(new VimConnectionError(`cannot reach ${url}: ${err.message}`, url, err.code)));
  });
}

import * as https from 'node:https';
import { normalizeThumbprint, PinnedAgent as VspherePinnedAgent } from '@hdm/plugin-server/dist/src/vsphere/soap/transport';

export { normalizeThumbprint };

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
 * The vSphere layer's pinned agent (no request byte reaches an unpinned server); the pin
 * replaces CA checks, as in the vSphere Client's trust of a registered `serverThumbprint`.
 */
export class PinnedAgent extends VspherePinnedAgent {
  constructor(thumbprint: string, label: string) {
    super(thumbprint, label, (expected, actual) => new ThumbprintMismatchError(label, expected, actual));
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

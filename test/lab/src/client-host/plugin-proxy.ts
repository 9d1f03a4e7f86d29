import * as https from 'node:https';
import { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { DiscoveredPlugin } from './plugin-discovery';
import { PinnedAgent, ThumbprintMismatchError } from './pinned-https';

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus the host page's own cookie, never forwarded. */
const DROP_REQUEST = new Set(['host', 'connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'cookie']);
const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'trailer', 'transfer-encoding', 'upgrade']);

export interface ProxyTarget {
  info: DiscoveredPlugin;
  agent: PinnedAgent;
}

/**
 * Forwards one request below `/plugins/<key>` to the plugin server, as the vSphere Client's
 * reverse proxy does: same path without the prefix, same method, body and headers (including
 * `vmware-api-session-id`), minus hop-by-hop headers and the host page's cookie; over TLS pinned
 * to the registered thumbprint. Redirects back into the plugin origin are rewritten below the prefix.
 * Resolves once the answer is piped (rejects with ThumbprintMismatchError before any byte was sent).
 */
export function forward(req: IncomingMessage, res: ServerResponse, subPath: string, target: ProxyTarget): Promise<void> {
  const { info, agent } = target;
  const url = new URL(subPath, info.pluginOrigin);
  const headers: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) if (!DROP_REQUEST.has(k) && v !== undefined) headers[k] = v;
  headers['host'] = url.host;
  headers['x-forwarded-host'] = req.headers.host ?? '';
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-prefix'] = info.proxyBase;
  return new Promise<void>((resolve, reject) => {
    const upstream = https.request(url, { method: req.method, headers, agent }, (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (!DROP_RESPONSE.has(k) && v !== undefined) out[k] = v;
      if (typeof up.headers.location === 'string') out['location'] = rewriteLocation(up.headers.location, info);
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
      up.on('end', () => resolve());
      up.on('error', (e) => { res.destroy(e); resolve(); });
    });
    upstream.setTimeout(120_000, () => upstream.destroy(new Error(`no answer from ${url.origin} in 120 s`)));
    upstream.on('error', (e) => {
      if (!res.headersSent) reject(e);
      else { res.destroy(e); resolve(); }
    });
    if (req.method === 'GET' || req.method === 'HEAD') upstream.end();
    else req.pipe(upstream);
  });
}

/** `/ui/` or `https://plugin:8443/ui/` → `/plugins/<key>/ui/`; other locations untouched. */
export function rewriteLocation(location: string, info: DiscoveredPlugin): string {
  if (location.startsWith('/') && !location.startsWith('//')) return info.proxyBase + location;
  try {
    const u = new URL(location);
    if (u.origin === info.pluginOrigin) return `${info.proxyBase}${u.pathname}${u.search}${u.hash}`;
  } catch {
    // relative location: resolves below the prefix by itself
  }
  return location;
}

export { ThumbprintMismatchError };

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { Inventory, VimClient, VimConnectionError, VimFault } from '@hdm/plugin-server/dist/src/vsphere';
import { HOST_COOKIE, HostSession, HostSessions } from './host-sessions';
import { DiscoveryError, discoverPlugin, proxyBaseFor } from './plugin-discovery';
import { forward, ProxyTarget, ThumbprintMismatchError } from './plugin-proxy';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Where the host page finds the vCenter and the plugin; read on every login/discovery (the lab may change it). */
export interface ClientHostSettings {
  /** The prem vCenter /sdk URL and its SHA-1 thumbprint pin. */
  vcenter: { url: string; thumbprint: string };
  /** The remote plugin to discover (lab.json `plugin.extensionKey`). */
  extensionKey: string;
  /** User name the login form is prefilled with. */
  defaultUsername?: string;
}

export interface ClientHostOptions {
  /** Current settings, or undefined while the lab is still starting. */
  settings: () => ClientHostSettings | undefined;
  /** The static page (test/lab/client/). */
  clientDir: string;
  /** Extra JSON served at /lab.json (the lab's connection facts); 404 when absent. */
  labJson?: () => unknown;
}

/**
 * The vSphere-Client stand-in: serves the host page, logs users in to the prem vCenter (keeping
 * their vCenter sessions server-side, behind an HttpOnly cookie), discovers the HDM remote plugin
 * from its vCenter registration, lists VMs, serves `htmlClientSdk.js` at `/api/ui/` where the
 * vSphere Client serves it, and reverse-proxies `/plugins/<key>/…` to the plugin server over
 * TLS pinned to the registered thumbprint. Lifecycle: listen() → close() (logs every session out).
 */
export class ClientHost {
  readonly server: Server;
  readonly sessions = new HostSessions();

  constructor(private readonly opts: ClientHostOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: (e as Error).message });
        else res.destroy();
      });
    });
  }

  listen(port: number, host = '127.0.0.1'): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new Error(`port ${host}:${port} (client host page) is already in use: stop that process or set HDM_LAB_CLIENT_PORT`) : err));
      this.server.listen(port, host, () => {
        const a = this.server.address() as AddressInfo;
        resolve(`http://${host}:${a.port}/`);
      });
    });
  }

  /** Stops listening, ends every vCenter session, drops open connections. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await Promise.race([this.sessions.endAll(), new Promise((r) => setTimeout(r, 3000))]);
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://client-host');
    const path = url.pathname;
    if (path.startsWith('/plugins/')) return this.proxy(req, res, url);
    if (path.startsWith('/api/host/')) return this.api(req, res, path.slice('/api/host/'.length));
    if (path === '/api/ui/htmlClientSdk.js') return this.serveFile(res, 'html-client-sdk.js', 'no-cache');
    if (path === '/lab.json' && this.opts.labJson) {
      const json = this.opts.labJson();
      if (json === undefined) return sendJson(res, 503, { error: 'starting', message: 'the lab is still starting' });
      return sendJson(res, 200, json);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method', message: `${req.method} not allowed` });
    let rel: string;
    try {
      rel = decodeURIComponent(path === '/' ? '/index.html' : path);
    } catch {
      return sendText(res, 400, 'bad path');
    }
    return this.serveFile(res, rel);
  }

  private serveFile(res: ServerResponse, rel: string, cache = 'no-cache'): void {
    const root = normalize(this.opts.clientDir);
    const file = normalize(join(root, rel));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) return sendText(res, 404, 'not found');
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': cache,
      'x-content-type-options': 'nosniff',
    });
    createReadStream(file).pipe(res);
  }

  // ---- /api/host/*: the page's own backend -------------------------------------------------

  private async api(req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
    const settings = this.opts.settings();
    if (route === 'config' && req.method === 'GET') {
      return sendJson(res, 200, { defaultUsername: settings?.defaultUsername ?? '', vcenter: settings?.vcenter.url ?? null, ready: !!settings });
    }
    if (route === 'login' && req.method === 'POST') return this.login(req, res, settings);
    const session = this.sessions.fromRequest(req);
    if (route === 'logout' && req.method === 'POST') {
      if (session) await this.sessions.end(session);
      res.setHeader('set-cookie', `${HOST_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      return sendJson(res, 200, { ok: true });
    }
    if (!session) return sendJson(res, 401, { error: 'not-authenticated', message: 'not logged in' });
    if (route === 'session' && req.method === 'GET') {
      return sendJson(res, 200, {
        userName: session.userName,
        serverGuid: session.serverGuid,
        vcenter: session.vim.url,
        // What htmlClientSdk.app.getSessionInfo() hands the plugin: the user's vCenter session cookie value.
        sessionToken: session.vim.sessionCookie ?? '',
      });
    }
    if (route === 'plugin' && req.method === 'GET') {
      if (!settings) return sendJson(res, 503, { error: 'starting', message: 'the lab is still starting' });
      try {
        const target = await this.discover(session, settings.extensionKey, true);
        const { manifest: _manifest, ...page } = target.info;
        return sendJson(res, 200, { ...page, proxyOrigin: `http://${req.headers.host}${target.info.proxyBase}` });
      } catch (e) {
        return this.failure(res, session, e);
      }
    }
    if (route === 'vms' && req.method === 'GET') {
      try {
        const vms = await new Inventory(session.vim).vms();
        return sendJson(res, 200, vms.map((vm) => ({
          moid: vm.moid,
          name: vm.name,
          powerState: vm.powerState,
          id: `urn:vmomi:VirtualMachine:${vm.moid}:${session.serverGuid}`,
        })));
      } catch (e) {
        return this.failure(res, session, e);
      }
    }
    return sendJson(res, 404, { error: 'not-found', message: `no route ${req.method} /api/host/${route}` });
  }

  private async login(req: IncomingMessage, res: ServerResponse, settings: ClientHostSettings | undefined): Promise<void> {
    if (!settings) return sendJson(res, 503, { error: 'starting', message: 'the lab is still starting' });
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
      return sendJson(res, 415, { error: 'content-type', message: 'send the credentials as application/json' });
    }
    let body: { username?: unknown; password?: unknown };
    try {
      body = JSON.parse(await readBody(req, 64 * 1024)) as typeof body;
    } catch (e) {
      return sendJson(res, 400, { error: 'bad-request', message: (e as Error).message });
    }
    const username = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    if (!username) return sendJson(res, 400, { error: 'bad-request', message: 'enter a user name' });
    let vim: VimClient;
    try {
      vim = await VimClient.connect({ url: settings.vcenter.url, thumbprint: settings.vcenter.thumbprint, username, password, timeoutMs: 30_000 });
    } catch (e) {
      if (VimFault.is(e)) return sendJson(res, 401, { error: e.faultName, message: e.message });
      return sendJson(res, 502, { error: 'vcenter-unreachable', message: (e as Error).message });
    }
    const old = this.sessions.fromRequest(req);
    if (old) await this.sessions.end(old);
    const session = this.sessions.create(username, vim);
    res.setHeader('set-cookie', `${HOST_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Strict`);
    return sendJson(res, 200, { userName: username, serverGuid: session.serverGuid });
  }

  /** Maps an error of a vCenter or discovery call to the page's JSON; a dead vCenter session logs out. */
  private failure(res: ServerResponse, session: HostSession, e: unknown): void {
    if (e instanceof DiscoveryError) return sendJson(res, 502, { error: e.kind, message: e.message, ...e.details });
    if (VimFault.is(e, 'NotAuthenticated')) {
      this.sessions.drop(session);
      return sendJson(res, 401, { error: 'not-authenticated', message: 'the vCenter session has ended: log in again' });
    }
    if (VimFault.is(e)) return sendJson(res, 502, { error: e.faultName, message: e.message });
    if (e instanceof VimConnectionError) return sendJson(res, 502, { error: 'vcenter-unreachable', message: e.message });
    return sendJson(res, 500, { error: 'internal', message: (e as Error).message });
  }

  /** The session's discovered plugin; `fresh` repeats FindExtension + the pinned manifest fetch. */
  private async discover(session: HostSession, extensionKey: string, fresh: boolean): Promise<ProxyTarget> {
    if (!fresh && session.plugin && session.plugin.info.extensionKey === extensionKey) return session.plugin;
    session.discovering ??= discoverPlugin(session.vim, extensionKey)
      .then(({ plugin, agent }) => {
        const old = session.plugin?.agent;
        // Same pin: keep the old agent (proxied requests may be running on its sockets).
        if (old && old.pin === agent.pin) {
          agent.destroy();
          session.plugin = { info: plugin, agent: old };
        } else {
          if (old) retire(old);
          session.plugin = { info: plugin, agent };
        }
        return session.plugin;
      })
      .catch((e: unknown) => {
        if (session.plugin) retire(session.plugin.agent);
        session.plugin = undefined;
        throw e;
      })
      .finally(() => { session.discovering = undefined; });
    return session.discovering;
  }

  // ---- /plugins/<key>/…: the reverse proxy ------------------------------------------------

  private async proxy(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const settings = this.opts.settings();
    const m = /^\/plugins\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!settings || !m || decodeURIComponent(m[1]!) !== settings.extensionKey) return sendText(res, 404, 'no such plugin');
    const session = this.sessions.fromRequest(req);
    // The vSphere Client serves plugin content only inside a signed-in client session.
    if (!session) return sendText(res, 401, 'not logged in to the vSphere Client stand-in');
    const subPath = (m[2] ?? '/') + url.search;
    const retryable = req.method === 'GET' || req.method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      let target: ProxyTarget;
      try {
        target = await this.discover(session, settings.extensionKey, attempt > 0);
      } catch (e) {
        if (e instanceof DiscoveryError) return sendJson(res, 502, { error: e.kind, message: e.message, ...e.details });
        return this.failure(res, session, e);
      }
      if (target.info.proxyBase !== proxyBaseFor(settings.extensionKey)) return sendText(res, 404, 'no such plugin');
      try {
        await forward(req, res, subPath, target);
        return;
      } catch (e) {
        // The plugin may have rotated its certificate and updated its registration: rediscover once.
        if (e instanceof ThumbprintMismatchError && retryable && attempt === 0) continue;
        if (e instanceof ThumbprintMismatchError) {
          session.plugin = undefined;
          return sendJson(res, 502, { error: 'thumbprint-mismatch', message: e.message, expected: e.expected, actual: e.actual });
        }
        return sendJson(res, 502, { error: 'plugin-unreachable', message: (e as Error).message });
      }
    }
  }
}

/** Destroys an agent once requests still running on it have had time to finish. */
function retire(agent: { destroy(): void }): void {
  setTimeout(() => agent.destroy(), 60_000).unref();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': TYPES['.json']!, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error(`request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

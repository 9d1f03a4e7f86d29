import { SoapTransport, readBody, VimConnectionError } from '../soap/transport';
import { VimClient, SERVICE_INSTANCE } from '../soap/vim-client';
import { VimFault } from '../soap/vim-fault';
import { cloneSession } from './session-manager';

/**
 * The vsphere-ui endpoint that turns a vSphere Client session token into a clone ticket
 * (vSphere Client SDK, "How to Delegate Session Authority to the Plug-in Server"):
 * `POST <uiApiEndpoint>/vcenter/session/clone-ticket` with `vmware-api-session-id: <token>` and
 * `{"vc-guid": <about.instanceUuid>}` → 201 `{"session_clone_ticket": ...}`; 401 dead token,
 * 403 plug-in not registered, 404 unknown vc-guid. test/lab/vcsim serves the same (ui_session.go).
 */
export const UI_CLONE_TICKET_PATH = '/vcenter/session/clone-ticket';

export interface UserSessionPoolOptions {
  /** The vCenter /sdk URL the clones live on. */
  url: string;
  thumbprint?: string;
  /**
   * Base URL of the vsphere-ui REST API (`app.getApiEndpoints().uiApiEndpoint.fullUrl` without
   * query/fragment); default `https://<vCenter host>/api/ui`.
   */
  uiApiEndpoint?: string;
  /** How long a clone is reused for its token (default 30 s); then it is logged out and the next use clones again. */
  ttlMs?: number;
  /** An expired clone is logged out this long after it was replaced (default 10 s; 0 = at once). */
  graceMs?: number;
  /** At most this many cached clones (default 1000); the oldest is released first. */
  maxSessions?: number;
  timeoutMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** A vim25 session of the vSphere Client user, cloned for the plugin server. */
export interface UserVimSession {
  client: VimClient;
  userName: string;
  /** The cloned session's key (not the user's token). */
  sessionKey: string;
  /** When the pool logs the clone out (ms since epoch). */
  expiresAt: number;
}

interface Entry {
  promise: Promise<UserVimSession>;
  session?: UserVimSession;
}

/**
 * UserSessionPool: vSphere Client session token → a vim25 session of that user on the plugin
 * server's own connection (clone ticket from vsphere-ui, then CloneSession), so reads made for
 * the user run with the user's privileges. Clones are cached per token for `ttlMs`; expiry,
 * release(token) (user logout) and close() log them out. Re-cloning after the TTL is also how a
 * token is re-validated: a token vCenter no longer knows fails with VimFault NotAuthenticated.
 * Concurrent acquire() calls for one token share one clone.
 */
export class UserSessionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly now: () => number;
  private readonly ui: SoapTransport;
  private vcGuid: Promise<string> | undefined;
  private closed = false;
  private readonly graceMs: number;
  private readonly retiring = new Set<VimClient>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly opts: UserSessionPoolOptions) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.max = opts.maxSessions ?? 1000;
    this.graceMs = opts.graceMs ?? 10_000;
    this.sweeper = setInterval(() => { void this.sweep(); }, Math.max(this.ttlMs, 1000));
    this.sweeper.unref();
    this.now = opts.now ?? Date.now;
    this.ui = new SoapTransport({ url: opts.url, thumbprint: opts.thumbprint, timeoutMs: opts.timeoutMs ?? 15_000 });
  }

  /** Number of cached clones. */
  get size(): number {
    return this.entries.size;
  }

  /** The user's cloned session for `token` (cached); rejects with VimFault NotAuthenticated for a dead token. */
  async acquire(token: string): Promise<UserVimSession> {
    if (this.closed) throw new Error('UserSessionPool is closed');
    const hit = this.entries.get(token);
    if (hit) {
      if (!hit.session || hit.session.expiresAt > this.now()) return hit.promise;
      // Expired: a new clone replaces it; the old one is logged out after a grace period, so a
      // call still running on it is not cut off.
      this.entries.delete(token);
      await this.retire(hit.session.client);
      const raced = this.entries.get(token); // another caller re-cloned meanwhile
      if (raced) return raced.promise;
    }
    const entry: Entry = { promise: this.clone(token) };
    this.entries.set(token, entry);
    entry.promise.then((s) => { entry.session = s; }, () => { if (this.entries.get(token) === entry) this.entries.delete(token); });
    this.evict();
    return entry.promise;
  }

  /** Logs out the clone of `token` (the user logged out, or it expired). */
  async release(token: string): Promise<void> {
    const entry = this.entries.get(token);
    if (!entry) return;
    this.entries.delete(token);
    const s = await entry.promise.catch(() => undefined);
    await s?.client.logout().catch(() => undefined);
  }

  /**
   * Retires expired clones (logged out after the grace period); returns how many. Runs every
   * ttlMs on its own, so clones of tokens that are never used again do not stay logged in.
   */
  async sweep(): Promise<number> {
    const now = this.now();
    const expired = [...this.entries].filter(([, e]) => e.session && e.session.expiresAt <= now);
    for (const [token] of expired) this.entries.delete(token);
    await Promise.all(expired.map(([, e]) => this.retire(e.session!.client)));
    return expired.length;
  }

  private async retire(client: VimClient): Promise<void> {
    if (this.graceMs <= 0) {
      await client.logout().catch(() => undefined);
      return;
    }
    this.retiring.add(client);
    setTimeout(() => {
      this.retiring.delete(client);
      void client.logout().catch(() => undefined);
    }, this.graceMs).unref();
  }

  /** Logs every clone out. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.entries.keys()].map((t) => this.release(t)));
    await Promise.all([...this.retiring].map((c) => c.logout().catch(() => undefined)));
    this.retiring.clear();
    this.ui.close();
  }

  /** POST clone-ticket to vsphere-ui with the user's token. */
  async cloneTicket(token: string): Promise<string> {
    const base = (this.opts.uiApiEndpoint ?? `${new URL(this.opts.url).origin}/api/ui`).replace(/\/+$/, '');
    const body = JSON.stringify({ 'vc-guid': await this.instanceUuid() });
    const res = await this.ui.request(`${base}${UI_CLONE_TICKET_PATH}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'vmware-api-session-id': token },
      body,
      withSession: false,
    });
    const text = (await readBody(res, 64 * 1024)).toString('utf8');
    if (res.statusCode === 401) throw new VimFault('NotAuthenticated', 'The vSphere Client session is not authenticated (expired or logged out).', undefined);
    if (res.statusCode === 403) throw new VimFault('NoPermission', 'The remote plug-in is not registered with this vCenter Server (clone-ticket 403).', undefined);
    if (res.statusCode !== 201 && res.statusCode !== 200) {
      throw new VimConnectionError(`clone-ticket: HTTP ${res.statusCode} from ${base}: ${text.slice(0, 200)}`, base);
    }
    const ticket = (JSON.parse(text) as { session_clone_ticket?: unknown }).session_clone_ticket;
    if (typeof ticket !== 'string' || !ticket) throw new VimConnectionError(`clone-ticket: no session_clone_ticket in ${text.slice(0, 200)}`, base);
    return ticket;
  }

  private instanceUuid(): Promise<string> {
    this.vcGuid ??= (async () => {
      const c = new VimClient(new SoapTransport({ url: this.opts.url, thumbprint: this.opts.thumbprint, timeoutMs: this.opts.timeoutMs }));
      try {
        const sc = await c.invoke('RetrieveServiceContent', { _this: SERVICE_INSTANCE });
        return sc.about.instanceUuid ?? '';
      } finally {
        c.close();
      }
    })();
    this.vcGuid.catch(() => { this.vcGuid = undefined; });
    return this.vcGuid;
  }

  private async clone(token: string): Promise<UserVimSession> {
    const ticket = await this.cloneTicket(token);
    const client = await VimClient.connect({ url: this.opts.url, thumbprint: this.opts.thumbprint, timeoutMs: this.opts.timeoutMs });
    try {
      const us = await cloneSession(client, ticket);
      return { client, userName: us.userName, sessionKey: us.key, expiresAt: this.now() + this.ttlMs };
    } catch (e) {
      client.close();
      throw e;
    }
  }

  private evict(): void {
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as string;
      void this.release(oldest);
    }
  }
}

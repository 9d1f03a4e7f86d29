import { Inject, Injectable, OnModuleDestroy, Optional } from '@nestjs/common';
import { normalizeThumbprint } from './soap/transport';
import { VimClient } from './soap/vim-client';

/** How to reach and log in to one vCenter. */
export interface VcenterEndpoint {
  /** The /sdk URL, e.g. `https://vc.example.com/sdk`. */
  url: string;
  username: string;
  password: string;
  /** SHA-1 pin of the vCenter certificate; without it the CA chain is verified. */
  thumbprint?: string;
}

export interface VsphereModuleOptions {
  /** Per-request timeout of every pooled client in milliseconds (default: the transport's 60 000). */
  timeoutMs?: number;
}

export const VSPHERE_OPTIONS = Symbol('VSPHERE_OPTIONS');

/**
 * Keeps session cookies across restarts of this process. vCenter sessions outlive the
 * process (until vCenter's idle timeout), and so do objects scoped to them, such as
 * HttpNfcLeases: a restarted server that resumes its session can still complete the
 * leases a crashed one opened. Provide it under VCENTER_SESSION_STORE.
 */
export interface VcenterSessionStore {
  load(url: string, username: string): Promise<string | undefined>;
  save(url: string, username: string, cookie: string | undefined): Promise<void>;
}

export const VCENTER_SESSION_STORE = Symbol('VCENTER_SESSION_STORE');

interface Entry {
  endpoint: VcenterEndpoint;
  client: Promise<VimClient>;
}

/**
 * VcenterPool: one logged-in VimClient per (url, username), shared by every caller.
 *
 * - `get()` connects and logs in on first use; concurrent first calls share one login. A failed
 *   login is not cached (the next get tries again). New credentials or a new pin for the same
 *   (url, user) replace the pooled session.
 * - An expired or evicted session is renewed transparently ONCE per call, by logging in again,
 *   for the idempotent reads in RETRYABLE_READS (soap/vim-client.ts: RetrieveServiceContent,
 *   RetrievePropertiesEx, RetrieveProperties, FindExtension, QueryEvents, CreateImportSpec,
 *   ParseDescriptor, QueryChangedDiskAreas). Every other call (tasks, leases, filters,
 *   WaitForUpdatesEx, continuation tokens) rejects with VimFault NotAuthenticated: its state
 *   lived in the old session and the caller must start it over.
 * - Module destroy logs every session out and closes its sockets.
 *
 * Holds no HDM feature logic: which vCenter and which credentials is the caller's business.
 */
@Injectable()
export class VcenterPool implements OnModuleDestroy {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(
    @Optional() @Inject(VSPHERE_OPTIONS) private readonly options: VsphereModuleOptions = {},
    @Optional() @Inject(VCENTER_SESSION_STORE) private readonly store?: VcenterSessionStore,
  ) {}

  /** The pooled, logged-in client for `endpoint`. */
  async get(endpoint: VcenterEndpoint): Promise<VimClient> {
    if (this.closed) throw new Error('VcenterPool is closed');
    const key = poolKey(endpoint);
    const existing = this.entries.get(key);
    if (existing && sameCredentials(existing.endpoint, endpoint)) return existing.client;
    if (existing) {
      this.entries.delete(key);
      void existing.client.then((c) => c.logout()).catch(() => undefined);
    }
    const entry: Entry = { endpoint: { ...endpoint }, client: this.connect(endpoint) };
    this.entries.set(key, entry);
    entry.client.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry.client;
  }

  /** Logs the pooled session of (url, username) out and forgets it (e.g. after credentials changed). */
  async release(endpoint: Pick<VcenterEndpoint, 'url' | 'username'>): Promise<void> {
    const key = poolKey(endpoint);
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    await entry.client.then((c) => c.logout(), () => undefined).catch(() => undefined);
  }

  /** Number of pooled sessions (for health output and tests). */
  get size(): number {
    return this.entries.size;
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    const all = [...this.entries.values()];
    this.entries.clear();
    // With a session store the sessions are kept for the next start (see VcenterSessionStore).
    await Promise.all(all.map((e) => e.client.then((c) => (this.store ? c.close() : c.logout()), () => undefined).catch(() => undefined)));
  }

  private async connect(endpoint: VcenterEndpoint): Promise<VimClient> {
    const client = (await this.resume(endpoint)) ?? (await VimClient.connect({
      url: endpoint.url, thumbprint: endpoint.thumbprint, username: endpoint.username, password: endpoint.password,
      timeoutMs: this.options.timeoutMs,
    }));
    await this.store?.save(endpoint.url, endpoint.username, client.sessionCookie).catch(() => undefined);
    client.reauthenticate = async () => {
      client.transport.sessionCookie = undefined;
      client.userSession = await client.invoke('Login', {
        _this: client.serviceContent.sessionManager!, userName: endpoint.username, password: endpoint.password,
      });
      await this.store?.save(endpoint.url, endpoint.username, client.sessionCookie).catch(() => undefined);
    };
    return client;
  }

  /** The stored session of (url, user) if vCenter still knows it. */
  private async resume(endpoint: VcenterEndpoint): Promise<VimClient | undefined> {
    const cookie = await this.store?.load(endpoint.url, endpoint.username).catch(() => undefined);
    if (!cookie) return undefined;
    try {
      const client = await VimClient.resume({ url: endpoint.url, thumbprint: endpoint.thumbprint, timeoutMs: this.options.timeoutMs }, cookie);
      if (client.userSession?.userName.toLowerCase() === endpoint.username.toLowerCase()) return client;
      client.close();
    } catch {
      /* expired or unknown: log in afresh */
    }
    return undefined;
  }
}

function poolKey(e: Pick<VcenterEndpoint, 'url' | 'username'>): string {
  return `${new URL(e.url).toString()}\n${e.username.toLowerCase()}`;
}

function sameCredentials(a: VcenterEndpoint, b: VcenterEndpoint): boolean {
  return a.password === b.password && normalizeThumbprint(a.thumbprint ?? '') === normalizeThumbprint(b.thumbprint ?? '');
}

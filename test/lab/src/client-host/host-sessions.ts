import { randomBytes } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { VimClient } from '@hdm/plugin-server/dist/src/vsphere';
import type { DiscoveredPlugin } from './plugin-discovery';
import type { PinnedAgent } from './pinned-https';

/** Name of the HttpOnly cookie that ties the browser to its host session. */
export const HOST_COOKIE = 'hdm_client_session';

/**
 * One signed-in user of the host page: the vCenter session (kept by `vim`, whose
 * `vmware_soap_session` cookie value is the token handed to plugins) and the plugin discovered
 * for it. Lifecycle: created by login, ended by logout (Logout in vCenter) or host shutdown.
 */
export interface HostSession {
  id: string;
  userName: string;
  vim: VimClient;
  /** The vCenter's about.instanceUuid: the serverGuid in `urn:vmomi:…` context object ids. */
  serverGuid: string;
  plugin?: { info: DiscoveredPlugin; agent: PinnedAgent };
  /** Single-flight discovery, so a burst of proxied requests triggers one FindExtension. */
  discovering?: Promise<{ info: DiscoveredPlugin; agent: PinnedAgent }>;
}

export class HostSessions {
  private readonly sessions = new Map<string, HostSession>();

  create(userName: string, vim: VimClient): HostSession {
    const s: HostSession = {
      id: randomBytes(32).toString('base64url'),
      userName,
      vim,
      serverGuid: vim.serviceContent.about.instanceUuid ?? '',
    };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The session named by the request's host cookie, if any. */
  fromRequest(req: IncomingMessage): HostSession | undefined {
    const id = readCookie(req.headers.cookie, HOST_COOKIE);
    return id ? this.sessions.get(id) : undefined;
  }

  /** Forgets the session and ends its vCenter session (best effort: vCenter may be gone already). */
  async end(s: HostSession): Promise<void> {
    if (!this.sessions.delete(s.id)) return;
    s.plugin?.agent.destroy();
    await s.vim.logout().catch(() => s.vim.close());
  }

  /** Forgets the session without calling vCenter (its vCenter session is already invalid). */
  drop(s: HostSession): void {
    this.sessions.delete(s.id);
    s.plugin?.agent.destroy();
    s.vim.close();
  }

  async endAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => this.end(s)));
  }

  get size(): number {
    return this.sessions.size;
  }
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

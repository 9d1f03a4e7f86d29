import { ForbiddenException, Inject, Injectable, OnModuleDestroy, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { HDM_CONFIG, HdmConfig } from '../config/hdm-config';
import { AuthorizationManager, ManagedObjectReference, UserSessionPool, UserVimSession, VimClient, VimConnectionError, VimFault } from '../vsphere';

export interface UserContext {
  userName: string;
  /** The vSphere Client session token (the prem vCenter session cookie). */
  token: string;
}

const CACHE_MS = 5_000;
/** Session cookies are opaque printable strings; anything else never reaches a Cookie header. */
const TOKEN_FORMAT = /^[A-Za-z0-9"._:=+/-]{8,512}$/;

/**
 * Turns the session token a UI or CLI request carries into the vCenter user by cloning that
 * user's session for the plugin server (vsphere-ui clone ticket → CloneSession; see
 * vsphere/session/user-sessions.ts). The clone is cached per token for CACHE_MS, so a polling
 * view does not add vCenter round trips per call, and is what `clientFor(user)` returns: reads
 * made for the user run with the user's own vCenter privileges.
 */
@Injectable()
export class VcenterSessionService implements OnModuleDestroy {
  private pool: UserSessionPool | undefined;

  constructor(@Inject(HDM_CONFIG) private readonly config: HdmConfig) {}

  /** The user's cloned vim25 session (validated by cloning; 401 when the token died meanwhile). */
  async clientFor(user: UserContext): Promise<VimClient> {
    return (await this.acquire(user.token)).client;
  }

  /** The user's cloned session with its key (for privilege checks). */
  sessionFor(user: UserContext): Promise<UserVimSession> {
    return this.acquire(user.token);
  }

  /**
   * Authorizes by vCenter privileges: 403 naming what is missing unless the user's session holds
   * every one of `privIds` on every entity (HasPrivilegeOnEntities, asked in the user's session).
   */
  async authorize(user: UserContext, entities: ManagedObjectReference[], privIds: string[]): Promise<void> {
    const s = await this.acquire(user.token);
    const granted = await new AuthorizationManager(s.client).hasPrivilegeOnEntities(entities, s.sessionKey, privIds);
    const missing = entities.flatMap((e) => privIds.filter((p) => !granted[e.value]?.[p]).map((p) => `${p} on ${e.type}:${e.value}`));
    if (missing.length) throw new ForbiddenException(`${user.userName} lacks the vCenter privilege ${missing.join(', ')}`);
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool?.close();
  }

  private acquire(token: string) {
    const vc = this.config.vcenter;
    if (!vc) throw new UnauthorizedException('HDM is not connected to a vCenter (HDM_VC_URL unset)');
    this.pool ??= new UserSessionPool({ url: vc.url, thumbprint: vc.thumbprint, ttlMs: CACHE_MS, timeoutMs: 10_000 });
    return this.pool.acquire(token).catch((err: unknown) => {
      if (VimFault.is(err, 'NotAuthenticated') || VimFault.is(err, 'InvalidLogin')) {
        throw new UnauthorizedException('vSphere session expired or unknown to vCenter');
      }
      if (VimFault.is(err, 'NoPermission')) throw new ServiceUnavailableException('HDM is not registered in this vCenter yet (clone ticket refused)');
      if (err instanceof VimConnectionError) throw new UnauthorizedException(`cannot confirm the vSphere session: ${err.message}`);
      throw err;
    });
  }

  async validate(token: string | undefined): Promise<UserContext> {
    if (!token) throw new UnauthorizedException('no vSphere session: the request carries no vmware-api-session-id header');
    if (!TOKEN_FORMAT.test(token)) throw new UnauthorizedException('malformed vSphere session token');
    const session = await this.acquire(token);
    return { userName: session.userName, token };
  }
}

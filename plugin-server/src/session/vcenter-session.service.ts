import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { HDM_CONFIG, HdmConfig } from '../config/hdm-config';
import { currentSession, SERVICE_INSTANCE, SoapTransport, VimClient, VimConnectionError, VimFault } from '../vsphere';

export interface UserContext {
  userName: string;
  /** The vSphere Client session token (the prem vCenter session cookie). */
  token: string;
}

const CACHE_MS = 5_000;
/** Session cookies are opaque printable strings; anything else never reaches a Cookie header. */
const TOKEN_FORMAT = /^[A-Za-z0-9"._:=+/-]{8,512}$/;

/**
 * Turns the session token a UI or CLI request carries into the vCenter user, by
 * asking the prem vCenter whether that session is live. Answers are cached
 * briefly so a polling view does not add a vCenter round trip per call.
 */
@Injectable()
export class VcenterSessionService {
  private readonly cache = new Map<string, { user: UserContext; until: number }>();

  constructor(@Inject(HDM_CONFIG) private readonly config: HdmConfig) {}

  async validate(token: string | undefined): Promise<UserContext> {
    if (!token) throw new UnauthorizedException('no vSphere session: the request carries no vmware-api-session-id header');
    if (!TOKEN_FORMAT.test(token)) throw new UnauthorizedException('malformed vSphere session token');
    const hit = this.cache.get(token);
    if (hit && hit.until > Date.now()) return hit.user;
    const vc = this.config.vcenter;
    if (!vc) throw new UnauthorizedException('HDM is not connected to a vCenter (HDM_VC_URL unset)');
    const client = new VimClient(new SoapTransport({ url: vc.url, thumbprint: vc.thumbprint, timeoutMs: 10_000 }));
    client.transport.sessionCookie = token;
    try {
      client.serviceContent = await client.invoke('RetrieveServiceContent', { _this: SERVICE_INSTANCE });
      const session = await currentSession(client);
      if (!session) throw new UnauthorizedException('vSphere session expired or unknown to vCenter');
      const user = { userName: session.userName, token };
      this.cache.set(token, { user, until: Date.now() + CACHE_MS });
      if (this.cache.size > 10_000) this.cache.clear();
      return user;
    } catch (err) {
      this.cache.delete(token);
      if (err instanceof UnauthorizedException) throw err;
      if (VimFault.is(err, 'NotAuthenticated')) throw new UnauthorizedException('vSphere session expired or unknown to vCenter');
      if (err instanceof VimConnectionError) throw new UnauthorizedException(`cannot confirm the vSphere session: ${err.message}`);
      throw err;
    } finally {
      client.close();
    }
  }
}

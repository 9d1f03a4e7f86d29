import { PbmServiceInstanceContent, VimMethodName, VimMethods } from '../generated';
import { methodInfo } from '../soap/schema';
import { readBody, VimConnectionError } from '../soap/transport';
import { VimClient } from '../soap/vim-client';
import { VimFault } from '../soap/vim-fault';
import { parseResponse } from '../soap/xml-parser';
import { NS_PBM, NS_SOAPENV, serializeRequest } from '../soap/xml-writer';

/** PBM's fixed ServiceInstance MoRef (pbm/client.go in govmomi). */
export const PBM_SERVICE_INSTANCE = { type: 'PbmServiceInstance', value: 'ServiceInstance' };

/** The PBM (SPBM) endpoint path on the vCenter host. */
export const PBM_PATH = '/pbm';

/** PBM methods that only read: repeated once after a re-login (see PbmClient.invoke). */
export const PBM_RETRYABLE_READS: ReadonlySet<string> = new Set([
  'PbmRetrieveServiceContent', 'PbmQueryProfile', 'PbmRetrieveContent', 'PbmQueryAssociatedProfile',
  'PbmQueryAssociatedProfiles', 'PbmQueryAssociatedEntity', 'PbmCheckCompliance',
]);

/** PBM method names of the generated schema (namespace urn:pbm). */
export type PbmMethodName = {
  [M in VimMethodName]: M extends `Pbm${string}` ? M : never
}[VimMethodName];

/**
 * A client for vCenter's Storage Policy service (PBM, `urn:pbm` on `/pbm`) on top of a logged-in
 * VimClient: the same generated schema, envelope writer, parser and HTTPS transport (pin, keep-alive)
 * as vim25; each request carries the vCenter session as the `vcSessionCookie` SOAP header, which is
 * how PBM authenticates. Lifecycle: `PbmClient.connect(vim)` (PbmRetrieveServiceContent), then
 * `invoke()`; it lives as long as the VimClient's session.
 */
export class PbmClient {
  serviceContent!: PbmServiceInstanceContent;

  constructor(readonly vim: VimClient) {}

  static async connect(vim: VimClient): Promise<PbmClient> {
    const pbm = new PbmClient(vim);
    pbm.serviceContent = await pbm.invoke('PbmRetrieveServiceContent', { _this: PBM_SERVICE_INSTANCE });
    return pbm;
  }

  /**
   * Calls a PBM method with typed arguments; resolves with its returnval, rejects with VimFault.
   * A read (PBM_RETRYABLE_READS) that meets an expired session is repeated once after the
   * VimClient's re-login hook (VcenterPool sets it), as VimClient does for vim25 reads.
   */
  async invoke<M extends PbmMethodName>(method: M, args: VimMethods[M]['args']): Promise<VimMethods[M]['returns']> {
    const generation = this.vim.sessionGeneration;
    try {
      return await this.send(method, args);
    } catch (e) {
      if (!PBM_RETRYABLE_READS.has(method) || !VimFault.is(e, 'NotAuthenticated') || !(await this.vim.renewSession(generation))) throw e;
      return this.send(method, args);
    }
  }

  private async send<M extends PbmMethodName>(method: M, args: VimMethods[M]['args']): Promise<VimMethods[M]['returns']> {
    if (methodInfo(method)?.namespace !== NS_PBM) throw new Error(`${method} is not a PBM method`);
    // Without a session there is no header and PBM answers NotAuthenticated (except PbmRetrieveServiceContent).
    const cookie = this.vim.sessionCookie;
    const envelope = serializeRequest(method, args, cookie ? { vcSessionCookie: cookie } : undefined);
    const res = await this.vim.transport.request(PBM_PATH, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `${NS_PBM}/2.0` },
      body: envelope,
    });
    const body = (await readBody(res, 64 << 20)).toString('utf8');
    if (res.statusCode !== 200 && !body.includes(NS_SOAPENV)) {
      const url = new URL(PBM_PATH, this.vim.url).toString();
      throw new VimConnectionError(`${method}: HTTP ${res.statusCode} from ${url}: ${body.slice(0, 200)}`, url);
    }
    return parseResponse(method, body) as VimMethods[M]['returns'];
  }
}

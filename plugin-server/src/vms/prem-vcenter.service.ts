import { ForbiddenException, Inject, Injectable, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { HDM_CONFIG, HdmConfig } from '../config/hdm-config';
import { VcenterPool, VimClient, VirtualMachine, VmDetails, VimFault } from '../vsphere';

/** HDM's own session on the prem vCenter (the one it is registered in). */
@Injectable()
export class PremVcenterService {
  constructor(
    @Inject(HDM_CONFIG) private readonly config: HdmConfig,
    private readonly pool: VcenterPool,
  ) {}

  async client(): Promise<VimClient> {
    const vc = this.config.vcenter;
    if (!vc) throw new ServiceUnavailableException('HDM is not connected to a vCenter (HDM_VC_URL unset)');
    return this.pool.get(vc);
  }

  /**
   * The VM's details; 404 with a message when vCenter does not know the moid, 403 when the
   * session (`client`: a user's cloned session, default HDM's own) lacks the privilege to read it.
   */
  async vm(moid: string, client?: VimClient): Promise<VmDetails> {
    if (!/^[A-Za-z0-9._:-]{1,80}$/.test(moid)) throw new NotFoundException(`no VM "${moid}" in the prem vCenter`);
    client ??= await this.client();
    try {
      return await new VirtualMachine(client, { type: 'VirtualMachine', value: moid }).config();
    } catch (err) {
      if (VimFault.is(err, 'ManagedObjectNotFound')) throw new NotFoundException(`no VM "${moid}" in the prem vCenter`);
      throw forbiddenIfNoPermission(err);
    }
  }
}

/** vCenter's NoPermission (the user's role lacks a privilege) → 403 naming the privilege; anything else as is. */
export function forbiddenIfNoPermission(err: unknown): unknown {
  if (VimFault.is(err, 'NoPermission')) {
    const priv = (err.detail as { privilegeId?: string } | undefined)?.privilegeId;
    return new ForbiddenException(`vCenter refused: the user lacks ${priv ? `privilege ${priv}` : 'a privilege'} (${err.message})`);
  }
  return err;
}

import { Inject, Injectable, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
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

  /** The VM's details; 404 with a message when vCenter does not know the moid. */
  async vm(moid: string): Promise<VmDetails> {
    if (!/^[A-Za-z0-9._:-]{1,80}$/.test(moid)) throw new NotFoundException(`no VM "${moid}" in the prem vCenter`);
    const client = await this.client();
    try {
      return await new VirtualMachine(client, { type: 'VirtualMachine', value: moid }).config();
    } catch (err) {
      if (VimFault.is(err, 'ManagedObjectNotFound')) throw new NotFoundException(`no VM "${moid}" in the prem vCenter`);
      throw err;
    }
  }
}

import { Controller, Get, Param, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Inventory, VmDetails } from '../vsphere';
import { SessionRequest } from '../session/session.guard';
import { VcenterSessionService } from '../session/vcenter-session.service';
import { forbiddenIfNoPermission, PremVcenterService } from './prem-vcenter.service';

export interface VmView {
  moid: string;
  name: string;
  powerState: string;
  guestId?: string;
  numCpu?: number;
  memoryMB?: number;
  firmware?: string;
  hasSnapshot: boolean;
  disks: Array<{ key: number; label: string; capacityBytes: number }>;
  networks: Array<{ name: string }>;
}

export function vmView(vm: VmDetails): VmView {
  return {
    moid: vm.moid,
    name: vm.name,
    powerState: vm.powerState,
    guestId: vm.guestId,
    numCpu: vm.numCPU,
    memoryMB: vm.memoryMB,
    firmware: vm.firmware,
    hasSnapshot: vm.hasSnapshot,
    disks: vm.disks.map((d) => ({ key: d.key, label: d.label, capacityBytes: d.capacityInBytes })),
    networks: [...new Set(vm.nics.map((n) => n.network?.name).filter((n): n is string => !!n))].map((name) => ({ name })),
  };
}

/**
 * vCenter privileges a user needs for HDM's VM views (checked with HasPrivilegeOnEntities in the
 * user's own session): reading the VM, and changing VM inventory, without which a user cannot
 * migrate a VM anyway.
 */
/** Reading the VM views needs what a read-only vCenter user has. */
export const VM_PRIVILEGES = ['System.Read'];
/** Starting a migration exports the VM's disks: vCenter's privilege for ExportVm. */
export const MIGRATE_PRIVILEGES = ['VirtualMachine.Provisioning.GetVmFiles'];

@ApiTags('vms')
@Controller('api/v1/vms')
export class VmsController {
  constructor(
    private readonly prem: PremVcenterService,
    private readonly sessions: VcenterSessionService,
  ) {}

  /** The VMs the user can see: read in the user's own (cloned) vCenter session. */
  @Get()
  async list(@Req() req: SessionRequest): Promise<VmView[]> {
    const client = await this.sessions.clientFor(req.user!);
    await this.sessions.authorize(req.user!, [client.serviceContent.rootFolder], VM_PRIVILEGES);
    try {
      return (await new Inventory(client).vms()).map(vmView);
    } catch (err) {
      throw forbiddenIfNoPermission(err);
    }
  }

  @Get(':moid')
  async get(@Req() req: SessionRequest, @Param('moid') moid: string): Promise<VmView> {
    const client = await this.sessions.clientFor(req.user!);
    if (/^[A-Za-z0-9._:-]{1,80}$/.test(moid)) await this.sessions.authorize(req.user!, [{ type: 'VirtualMachine', value: moid }], VM_PRIVILEGES);
    return vmView(await this.prem.vm(moid, client));
  }
}

import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Inventory, VmDetails } from '../vsphere';
import { PremVcenterService } from './prem-vcenter.service';

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

@ApiTags('vms')
@Controller('api/v1/vms')
export class VmsController {
  constructor(private readonly prem: PremVcenterService) {}

  @Get()
  async list(): Promise<VmView[]> {
    return (await new Inventory(await this.prem.client()).vms()).map(vmView);
  }

  @Get(':moid')
  async get(@Param('moid') moid: string): Promise<VmView> {
    return vmView(await this.prem.vm(moid));
  }
}

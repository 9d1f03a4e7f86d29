import {
  ManagedObjectReference, VirtualDevice, VirtualDisk, VirtualEthernetCard, VirtualMachinePowerState,
} from '../generated';
import { PropertyValues } from '../property/property-collector';
import { isSubtype } from '../soap/schema';

/** A virtual disk as placement and the transfer engine need it. */
export interface VmDisk {
  key: number;
  label: string;
  capacityInBytes: number;
  controllerKey?: number;
  unitNumber?: number;
  /** Datastore path of the descriptor, `[ds] vm/vm.vmdk`. */
  fileName?: string;
  /** Datastore moid of the backing. */
  datastore?: string;
  thinProvisioned?: boolean;
  /** vim25 type of the backing (`VirtualDiskFlatVer2BackingInfo`, ...). */
  backingType?: string;
}

export interface VmNic {
  key: number;
  label: string;
  /** `vmxnet3`, `e1000`, `e1000e`, `vmxnet2`, `vmxnet`, `pcnet32`, `sriov` (from the device's vim25 type). */
  adapterType: string;
  macAddress?: string;
  /** The connected network (standard portgroup, distributed portgroup or opaque network). */
  network?: { moid?: string; name: string };
}

/** The typed subset of a VM's configuration a cold migration needs. */
export interface VmDetails {
  ref: ManagedObjectReference;
  moid: string;
  name: string;
  powerState: VirtualMachinePowerState;
  guestId?: string;
  numCPU?: number;
  memoryMB?: number;
  /** `bios` or `efi`. */
  firmware?: string;
  disks: VmDisk[];
  nics: VmNic[];
  /** True when the VM has at least one snapshot (a cold copy of a VM with snapshots needs consolidation first). */
  hasSnapshot: boolean;
  folder?: { moid: string; name: string };
  resourcePool?: { moid: string; name: string };
  host?: { moid: string; name: string };
  /** Inventory path of the VM's datacenter (empty when it was not resolved). */
  datacenter: string;
}

/** The VM property paths toVmDetails reads. */
export const VM_DETAIL_PATHS = [
  'name', 'runtime.powerState', 'config.guestId', 'config.hardware.numCPU', 'config.hardware.memoryMB',
  'config.firmware', 'config.hardware.device', 'snapshot', 'parent', 'resourcePool', 'runtime.host', 'network',
];

/** Name lookups for objects a VM refers to (from the same retrieval, or a second one). */
export interface VmLookups {
  name(ref: ManagedObjectReference): string;
  /** The distributed portgroup with this key. */
  portgroup?(key: string): ManagedObjectReference | undefined;
  datacenter?(ref: ManagedObjectReference): string;
}

const ADAPTERS: Record<string, string> = {
  VirtualVmxnet3: 'vmxnet3', VirtualVmxnet3Vrdma: 'vmxnet3vrdma', VirtualVmxnet2: 'vmxnet2', VirtualVmxnet: 'vmxnet',
  VirtualE1000: 'e1000', VirtualE1000e: 'e1000e', VirtualPCNet32: 'pcnet32', VirtualSriovEthernetCard: 'sriov',
};

/** VM properties (VM_DETAIL_PATHS) → VmDetails. */
export function toVmDetails(ref: ManagedObjectReference, p: PropertyValues, lookups: VmLookups): VmDetails {
  const devices = (p['config.hardware.device'] as VirtualDevice[] | undefined) ?? [];
  const vmNetworks = ((p.network as ManagedObjectReference[] | undefined) ?? []);
  const named = (r: ManagedObjectReference | undefined) => (r ? { moid: r.value, name: lookups.name(r) } : undefined);
  const disks: VmDisk[] = [];
  const nics: VmNic[] = [];
  for (const d of devices) {
    const type = d._type ?? 'VirtualDevice';
    const label = d.deviceInfo?.label ?? '';
    if (type === 'VirtualDisk') {
      const disk = d as VirtualDisk;
      const b = disk.backing as { _type?: string; fileName?: string; datastore?: ManagedObjectReference; thinProvisioned?: boolean } | undefined;
      disks.push({
        key: disk.key,
        label,
        capacityInBytes: disk.capacityInBytes ?? disk.capacityInKB * 1024,
        controllerKey: disk.controllerKey,
        unitNumber: disk.unitNumber,
        fileName: b?.fileName,
        datastore: b?.datastore?.value,
        thinProvisioned: b?.thinProvisioned,
        backingType: b?._type,
      });
    } else if (isSubtype(type, 'VirtualEthernetCard')) {
      const nic = d as VirtualEthernetCard;
      const b = nic.backing as {
        _type?: string; deviceName?: string; network?: ManagedObjectReference;
        port?: { portgroupKey?: string }; opaqueNetworkId?: string;
      } | undefined;
      let network: VmNic['network'];
      if (b?.port?.portgroupKey !== undefined) {
        const pg = lookups.portgroup?.(b.port.portgroupKey);
        network = { moid: pg?.value, name: pg ? lookups.name(pg) : b.port.portgroupKey };
      } else if (b?.deviceName !== undefined) {
        const r = b.network ?? vmNetworks.find((n) => lookups.name(n) === b.deviceName);
        network = { moid: r?.value, name: b.deviceName };
      } else if (b?.opaqueNetworkId !== undefined) {
        network = { name: b.opaqueNetworkId };
      }
      nics.push({ key: nic.key, label, adapterType: ADAPTERS[type] ?? type, macAddress: nic.macAddress, network });
    }
  }
  return {
    ref,
    moid: ref.value,
    name: p.name as string,
    powerState: p['runtime.powerState'] as VirtualMachinePowerState,
    guestId: p['config.guestId'] as string | undefined,
    numCPU: p['config.hardware.numCPU'] as number | undefined,
    memoryMB: p['config.hardware.memoryMB'] as number | undefined,
    firmware: p['config.firmware'] as string | undefined,
    disks,
    nics,
    hasSnapshot: p.snapshot !== undefined && p.snapshot !== null,
    folder: named(p.parent as ManagedObjectReference | undefined),
    resourcePool: named(p.resourcePool as ManagedObjectReference | undefined),
    host: named(p['runtime.host'] as ManagedObjectReference | undefined),
    datacenter: lookups.datacenter?.(ref) ?? '',
  };
}

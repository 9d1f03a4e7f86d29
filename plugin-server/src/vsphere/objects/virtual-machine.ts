import {
  DiskChangeExtent, ManagedObjectReference, VirtualMachineConfigSpec, VirtualMachinePowerState, VirtualMachineSnapshotInfo,
  VirtualMachineSnapshotTree,
} from '../generated';
import { retrieveAll, retrieveProperties, toPropertyValues } from '../property/property-collector';
import { VimClient } from '../soap/vim-client';
import { DiskChangeId, queryChangedDiskAreasPaged, readDiskChangeIds } from './changed-block-tracking';
import { HttpNfcLease } from './http-nfc-lease';
import { ManagedObject } from './managed-object';
import { Task } from './task';
import { toVmDetails, VM_DETAIL_PATHS, VmDetails } from './virtual-machine-details';

/** VirtualMachine: power and reconfiguration; every long operation returns a Task. */
export class VirtualMachine extends ManagedObject {
  constructor(client: VimClient, ref: ManagedObjectReference) {
    super(client, ref);
  }

  /** All VMs of the inventory with name and power state. */
  static async list(client: VimClient, opts: { maxObjects?: number } = {}):
  Promise<Array<{ vm: VirtualMachine; name: string; powerState: VirtualMachinePowerState }>> {
    const all = await retrieveAll(client, 'VirtualMachine', ['name', 'runtime.powerState'], opts);
    return all.map(({ ref, props }) => ({
      vm: new VirtualMachine(client, ref),
      name: props.name as string,
      powerState: props['runtime.powerState'] as VirtualMachinePowerState,
    }));
  }

  /** The first VM named `name`, or undefined. */
  static async findByName(client: VimClient, name: string): Promise<VirtualMachine | undefined> {
    return (await VirtualMachine.list(client)).find((v) => v.name === name)?.vm;
  }

  async name(): Promise<string> {
    return (await this.properties(['name'])).name as string;
  }

  async powerState(): Promise<VirtualMachinePowerState> {
    return (await this.properties(['runtime.powerState']))['runtime.powerState'] as VirtualMachinePowerState;
  }

  /**
   * The typed configuration subset a migration needs (disks, NICs, firmware, placement): one read of
   * the VM, one of the names of the objects it refers to. `datacenter` is left empty here (see Inventory.vms).
   */
  async config(): Promise<VmDetails> {
    const props = await this.properties(VM_DETAIL_PATHS);
    const related = [props.parent, props.resourcePool, props['runtime.host'], ...((props.network as unknown[] | undefined) ?? [])]
      .filter((r): r is ManagedObjectReference => !!r && typeof r === 'object');
    const byType = new Map<string, ManagedObjectReference[]>();
    for (const r of related) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
    const ocs = byType.size ? await retrieveProperties(this.client, [...byType].map(([type, objs]) => ({
      propSet: [{ type, pathSet: type === 'DistributedVirtualPortgroup' ? ['name', 'key'] : ['name'] }],
      objectSet: objs.map((obj) => ({ obj, skip: false })),
    }))) : [];
    const names = new Map(ocs.map((oc) => [oc.obj.value, toPropertyValues(oc)]));
    return toVmDetails(this.ref, props, {
      name: (r) => (names.get(r.value)?.name as string | undefined) ?? '',
      portgroup: (key) => ocs.find((oc) => oc.obj.type === 'DistributedVirtualPortgroup' && names.get(oc.obj.value)?.key === key)?.obj,
    });
  }

  /** Number of snapshots in the VM's snapshot tree (0 when it has none). */
  async snapshotCount(): Promise<number> {
    const info = (await this.properties(['snapshot'])).snapshot as VirtualMachineSnapshotInfo | undefined;
    const count = (trees: VirtualMachineSnapshotTree[] | undefined): number =>
      (trees ?? []).reduce((n, t) => n + 1 + count(t.childSnapshotList), 0);
    return count(info?.rootSnapshotList);
  }

  /**
   * ExportVm: an HttpNfcLease whose device URLs serve the VM's disks for reading (the VM must be
   * powered off). Wait for it with `lease.waitReady()`, keep it alive with `lease.keepAlive()`,
   * end it with `complete()` or `abort()`.
   */
  async exportVm(): Promise<HttpNfcLease> {
    return new HttpNfcLease(this.client, await this.client.invoke('ExportVm', { _this: this.ref }));
  }

  /** PowerOnVM_Task (optionally on `host`). */
  async powerOn(host?: ManagedObjectReference): Promise<Task> {
    return new Task(this.client, await this.client.invoke('PowerOnVM_Task', { _this: this.ref, host }));
  }

  /** PowerOnVM_Task and wait for it (rejects with TaskError, e.g. InvalidPowerState or MethodDisabled). */
  async powerOnAndWait(host?: ManagedObjectReference): Promise<void> {
    await (await this.powerOn(host)).wait();
  }

  /** PowerOffVM_Task (hard power off; use guest shutdown for a clean stop). */
  async powerOff(): Promise<Task> {
    return new Task(this.client, await this.client.invoke('PowerOffVM_Task', { _this: this.ref }));
  }

  /** ReconfigVM_Task. */
  async reconfigure(spec: VirtualMachineConfigSpec): Promise<Task> {
    return new Task(this.client, await this.client.invoke('ReconfigVM_Task', { _this: this.ref, spec }));
  }

  /** ReconfigVM_Task changeTrackingEnabled (CBT), waiting for it; see objects/changed-block-tracking.ts. */
  async enableChangeTracking(enabled = true): Promise<void> {
    await (await this.reconfigure({ changeTrackingEnabled: enabled })).wait();
  }

  /** CreateSnapshot_Task, waiting for it: the new snapshot's MoRef (a VirtualMachineSnapshot). */
  async createSnapshot(name: string, opts: { description?: string; memory?: boolean; quiesce?: boolean } = {}): Promise<ManagedObjectReference> {
    const task = new Task(this.client, await this.client.invoke('CreateSnapshot_Task', {
      _this: this.ref, name, description: opts.description, memory: opts.memory ?? false, quiesce: opts.quiesce ?? false,
    }));
    return (await task.wait()) as ManagedObjectReference;
  }

  /** RemoveSnapshot_Task on `snapshot` (its children too when `removeChildren`), waiting for it. */
  async removeSnapshot(snapshot: ManagedObjectReference, opts: { removeChildren?: boolean; consolidate?: boolean } = {}): Promise<void> {
    await new Task(this.client, await this.client.invoke('RemoveSnapshot_Task', {
      _this: snapshot, removeChildren: opts.removeChildren ?? false, consolidate: opts.consolidate,
    })).wait();
  }

  /** The disks at `snapshot` (or now, when omitted) with their CBT change ids. */
  diskChangeIds(snapshot?: ManagedObjectReference): Promise<DiskChangeId[]> {
    return readDiskChangeIds(this.client, snapshot ?? this.ref);
  }

  /**
   * QueryChangedDiskAreas for disk `diskKey`, paged from `startOffset` to the end of the disk:
   * the areas changed between `changeId` and `snapshot` (without snapshot: the current disk of a
   * powered-off VM), sorted and merged; changeId `*` = all allocated areas.
   */
  async queryChangedDiskAreas(snapshot: ManagedObjectReference | undefined, diskKey: number, startOffset: number, changeId: string):
  Promise<DiskChangeExtent[]> {
    const disk = (await this.diskChangeIds(snapshot)).find((d) => d.key === diskKey);
    if (!disk) throw new Error(`${this} has no disk with key ${diskKey}${snapshot ? ` at snapshot ${snapshot.value}` : ''}`);
    const { areas } = await queryChangedDiskAreasPaged((offset) => this.client.invoke('QueryChangedDiskAreas', {
      _this: this.ref, snapshot, deviceKey: diskKey, startOffset: offset, changeId,
    }), startOffset, disk.capacityInBytes);
    return areas;
  }

  /** Destroy_Task: deletes the VM and its files. */
  async destroy(): Promise<Task> {
    return new Task(this.client, await this.client.invoke('Destroy_Task', { _this: this.ref }));
  }
}

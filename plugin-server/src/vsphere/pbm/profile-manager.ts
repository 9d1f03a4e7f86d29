import {
  ManagedObjectReference, PbmCapabilityProfile, PbmCapabilitySubProfileConstraints, PbmProfile, PbmProfileId,
  PbmServerObjectRef, VirtualDevice, VirtualDeviceConfigSpec, VirtualDisk,
} from '../generated';
import { retrieveOne } from '../property/property-collector';
import { Task } from '../objects/task';
import { VimFault } from '../soap/vim-fault';
import { PbmClient } from './pbm-client';

/** Capability namespace of data-service (IO filter) rules in a storage policy. */
export const DATA_SERVICE_NAMESPACE = 'com.vmware.storageprofile.dataservice';

/** A rule requiring an IO filter (VAIO), named by the filter's name (e.g. `hdm-analyzer`). */
export interface IoFilterRule {
  filterName: string;
}

/** The PBM entity of a VM disk: `virtualDiskId` `<vm>:<deviceKey>`. */
export function diskEntity(vm: ManagedObjectReference, diskKey: number): PbmServerObjectRef {
  return { objectType: 'virtualDiskId', key: `${vm.value}:${diskKey}` };
}

/** The PBM entity of a VM's home (configuration files). */
export function vmEntity(vm: ManagedObjectReference): PbmServerObjectRef {
  return { objectType: 'virtualMachine', key: vm.value };
}

/** Capability constraints of one IO filter rule: one sub-profile with the filter's data service. */
export function ioFilterConstraints(rule: IoFilterRule): PbmCapabilitySubProfileConstraints {
  return {
    _type: 'PbmCapabilitySubProfileConstraints',
    subProfiles: [{
      name: `IO filter ${rule.filterName}`,
      capability: [{
        id: { namespace: DATA_SERVICE_NAMESPACE, id: rule.filterName },
        constraint: [{ propertyInstance: [{ id: rule.filterName, value: rule.filterName }] }],
      }],
    }],
  };
}

/**
 * PbmProfileProfileManager: storage policies (requirement profiles on STORAGE) — create, update,
 * delete, find by name, and which entities use a policy. Disk assignment goes through vCenter
 * (ReconfigVM_Task with the disk's `profile`), as vSphere does it.
 */
export class PbmProfileManager {
  constructor(readonly pbm: PbmClient) {}

  private get ref(): ManagedObjectReference {
    return this.pbm.serviceContent.profileManager;
  }

  /** PbmCreate: a requirement policy with one IO filter rule; fault PbmDuplicateName for a taken name. */
  async createPolicy(name: string, description: string, ioFilterRule: IoFilterRule): Promise<PbmProfileId> {
    return this.pbm.invoke('PbmCreate', {
      _this: this.ref,
      createSpec: {
        name, description, category: 'REQUIREMENT', resourceType: { resourceType: 'STORAGE' },
        constraints: ioFilterConstraints(ioFilterRule),
      },
    });
  }

  /** PbmUpdate: new name, description and/or IO filter rule (omitted parts stay). */
  async updatePolicy(id: PbmProfileId, change: { name?: string; description?: string; ioFilterRule?: IoFilterRule }): Promise<void> {
    await this.pbm.invoke('PbmUpdate', {
      _this: this.ref,
      profileId: id,
      updateSpec: {
        name: change.name, description: change.description,
        constraints: change.ioFilterRule ? ioFilterConstraints(change.ioFilterRule) : undefined,
      },
    });
  }

  /** PbmDelete: rejects with the first outcome's fault (e.g. PbmFaultNotFound). */
  async deletePolicy(id: PbmProfileId): Promise<void> {
    const outcomes = await this.pbm.invoke('PbmDelete', { _this: this.ref, profileId: [id] });
    const failed = outcomes?.find((o) => o.fault);
    if (failed?.fault) {
      const name = failed.fault.fault._type ?? 'PbmFault';
      throw new VimFault(name, failed.fault.localizedMessage ?? name, failed.fault.fault as unknown as Record<string, unknown>);
    }
  }

  /** All storage requirement policies with their content. */
  async listPolicies(): Promise<PbmProfile[]> {
    const ids = await this.pbm.invoke('PbmQueryProfile', {
      _this: this.ref, resourceType: { resourceType: 'STORAGE' }, profileCategory: 'REQUIREMENT',
    });
    if (!ids.length) return [];
    return this.pbm.invoke('PbmRetrieveContent', { _this: this.ref, profileIds: ids });
  }

  /** The policy named `name`, or undefined. */
  async findPolicyByName(name: string): Promise<PbmCapabilityProfile | undefined> {
    return (await this.listPolicies()).find((p) => p.name === name) as PbmCapabilityProfile | undefined;
  }

  /** PbmQueryAssociatedEntity: entities (disks, VM homes) that use the policy. */
  async associatedEntities(id: PbmProfileId, entityType?: 'virtualDiskId' | 'virtualMachine'): Promise<PbmServerObjectRef[]> {
    return this.pbm.invoke('PbmQueryAssociatedEntity', { _this: this.ref, profile: id, entityType });
  }

  /** PbmQueryAssociatedProfiles: the policy ids of each entity (same order). */
  async associatedProfiles(entities: PbmServerObjectRef[]): Promise<PbmProfileId[][]> {
    const res = await this.pbm.invoke('PbmQueryAssociatedProfiles', { _this: this.ref, entities });
    return entities.map((e) => res.find((r) => r.object.objectType === e.objectType && r.object.key === e.key)?.profileId ?? []);
  }

  /**
   * Assigns the policy to the VM's disks (all, or those with `diskKeys`) with ReconfigVM_Task: each
   * disk is edited with `profile: [VirtualMachineDefinedProfileSpec]`. Returns the vCenter task.
   */
  async assignToDisks(vm: ManagedObjectReference, policy: PbmProfileId, diskKeys?: number[]): Promise<Task> {
    const client = this.pbm.vim;
    const props = await retrieveOne(client, vm, ['config.hardware.device']);
    const devices = (props['config.hardware.device'] as VirtualDevice[] | undefined) ?? [];
    const disks = devices.filter((d): d is VirtualDisk => d._type === 'VirtualDisk' && (!diskKeys || diskKeys.includes(d.key)));
    if (!disks.length) throw new Error(`${vm.value} has no disk${diskKeys ? ` with key ${diskKeys.join(', ')}` : ''}`);
    const deviceChange: VirtualDeviceConfigSpec[] = disks.map((device) => ({
      operation: 'edit', device,
      profile: [{ _type: 'VirtualMachineDefinedProfileSpec', profileId: policy.uniqueId }],
    }));
    const task = await client.invoke('ReconfigVM_Task', { _this: vm, spec: { deviceChange } });
    return new Task(client, task);
  }
}

import { ManagedObjectReference, VirtualMachineConfigSpec } from '../generated';
import { VimClient } from '../soap/vim-client';
import { ManagedObject } from './managed-object';
import { Task } from './task';

/** Folder: a container of inventory objects (vmFolder, hostFolder, ...). */
export class Folder extends ManagedObject {
  constructor(client: VimClient, ref: ManagedObjectReference) {
    super(client, ref);
  }

  /** The folder's direct children. */
  async childEntities(): Promise<ManagedObjectReference[]> {
    return ((await this.properties(['childEntity'])).childEntity as ManagedObjectReference[] | undefined) ?? [];
  }

  /** CreateVM_Task in this folder; the task's result is the new VM's MoRef. */
  async createVm(config: VirtualMachineConfigSpec, pool: ManagedObjectReference, host?: ManagedObjectReference): Promise<Task> {
    return new Task(this.client, await this.client.invoke('CreateVM_Task', { _this: this.ref, config, pool, host }));
  }
}

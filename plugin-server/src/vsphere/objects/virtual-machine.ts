import { ManagedObjectReference, VirtualMachineConfigSpec, VirtualMachinePowerState } from '../generated';
import { retrieveAll } from '../property/property-collector';
import { VimClient } from '../soap/vim-client';
import { ManagedObject } from './managed-object';
import { Task } from './task';

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

  /** PowerOnVM_Task (optionally on `host`). */
  async powerOn(host?: ManagedObjectReference): Promise<Task> {
    return new Task(this.client, await this.client.invoke('PowerOnVM_Task', { _this: this.ref, host }));
  }

  /** PowerOffVM_Task (hard power off; use guest shutdown for a clean stop). */
  async powerOff(): Promise<Task> {
    return new Task(this.client, await this.client.invoke('PowerOffVM_Task', { _this: this.ref }));
  }

  /** ReconfigVM_Task. */
  async reconfigure(spec: VirtualMachineConfigSpec): Promise<Task> {
    return new Task(this.client, await this.client.invoke('ReconfigVM_Task', { _this: this.ref, spec }));
  }

  /** Destroy_Task: deletes the VM and its files. */
  async destroy(): Promise<Task> {
    return new Task(this.client, await this.client.invoke('Destroy_Task', { _this: this.ref }));
  }
}

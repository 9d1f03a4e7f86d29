import { ClusterIoFilterInfo, ManagedObjectReference } from '../generated';
import { TaskProgress } from '../task/wait-for-task';
import { VimClient } from '../soap/vim-client';
import { ManagedObject, requireRef } from './managed-object';
import { Task } from './task';

/**
 * IoFilterManager: VAIO filters (HDM's IO analyzer) on a cluster. Install/uninstall are vCenter
 * tasks; `install`/`uninstall` wait for them and reject with a TaskError carrying the fault
 * (AlreadyExists, NotFound, InvalidArgument) — use `installTask`/`uninstallTask` for the Task itself.
 */
export class IoFilterManager extends ManagedObject {
  constructor(client: VimClient) {
    super(client, requireRef(client.serviceContent.ioFilterManager, 'IoFilterManager', client));
  }

  /** InstallIoFilter_Task: the Task installing the filter of the VIB at `vibUrl` on `cluster`. */
  async installTask(vibUrl: string, cluster: ManagedObjectReference): Promise<Task> {
    return new Task(this.client, await this.client.invoke('InstallIoFilter_Task', { _this: this.ref, vibUrl, compRes: cluster }));
  }

  /** Installs and waits for the task (TaskError with AlreadyExists when a filter of that name is installed). */
  async install(vibUrl: string, cluster: ManagedObjectReference, onProgress?: TaskProgress): Promise<void> {
    await (await this.installTask(vibUrl, cluster)).wait(onProgress);
  }

  /** UninstallIoFilter_Task: the Task removing filter `filterId` from `cluster`. */
  async uninstallTask(filterId: string, cluster: ManagedObjectReference): Promise<Task> {
    return new Task(this.client, await this.client.invoke('UninstallIoFilter_Task', { _this: this.ref, filterId, compRes: cluster }));
  }

  /** Uninstalls and waits (TaskError with NotFound when `filterId` is not installed there). */
  async uninstall(filterId: string, cluster: ManagedObjectReference, onProgress?: TaskProgress): Promise<void> {
    await (await this.uninstallTask(filterId, cluster)).wait(onProgress);
  }

  /** QueryIoFilterInfo: the filters installed on `cluster`. */
  async query(cluster: ManagedObjectReference): Promise<ClusterIoFilterInfo[]> {
    return (await this.client.invoke('QueryIoFilterInfo', { _this: this.ref, compRes: cluster })) ?? [];
  }
}

import { LocalizableMessage, LocalizedMethodFault, ManagedObjectReference, TaskInfo, TaskInfoState } from '../generated';
import { retrieveOne } from '../property/property-collector';
import { VimClient } from '../soap/vim-client';
import { TaskProgress, waitForTask, WaitForTaskOptions } from '../task/wait-for-task';
import { ManagedObject } from './managed-object';

/** Task: a vCenter task, either one we created (TaskManager.createTask) or one a method returned. */
export class Task extends ManagedObject {
  constructor(client: VimClient, ref: ManagedObjectReference) {
    super(client, ref);
  }

  /** The task's current TaskInfo. */
  async info(): Promise<TaskInfo> {
    const props = await retrieveOne(this.client, this.ref, ['info']);
    return props.info as TaskInfo;
  }

  /** SetTaskState: `running`, `success` (with result) or `error` (with fault). */
  async setState(state: TaskInfoState, result?: unknown, fault?: LocalizedMethodFault): Promise<void> {
    await this.client.invoke('SetTaskState', { _this: this.ref, state, result, fault });
  }

  /** UpdateProgress: percent done, 0–100. */
  async updateProgress(percentDone: number): Promise<void> {
    await this.client.invoke('UpdateProgress', { _this: this.ref, percentDone: Math.max(0, Math.min(100, Math.round(percentDone))) });
  }

  /** SetTaskDescription: a plain message becomes `{ key: 'hdm.task.message', message }`. */
  async setDescription(description: string | LocalizableMessage): Promise<void> {
    const msg = typeof description === 'string' ? { key: 'hdm.task.message', message: description } : description;
    await this.client.invoke('SetTaskDescription', { _this: this.ref, description: msg });
  }

  /** CancelTask: asks the task's owner to cancel (only when info.cancelable). */
  async cancel(): Promise<void> {
    await this.client.invoke('CancelTask', { _this: this.ref });
  }

  /** Waits for success (result) or error (TaskError); see task/wait-for-task.ts. */
  wait(onProgress?: TaskProgress, opts?: WaitForTaskOptions): Promise<unknown> {
    return waitForTask(this.client, this.ref, onProgress, opts);
  }
}

import { ManagedObjectReference, TaskInfo } from '../generated';
import { VimClient } from '../soap/vim-client';
import { ManagedObject, requireRef } from './managed-object';
import { Task } from './task';

/** TaskManager: creates tasks for HDM's own long operations (their type IDs must be in the extension's taskList). */
export class TaskManager extends ManagedObject {
  constructor(client: VimClient) {
    super(client, requireRef(client.serviceContent.taskManager, 'TaskManager', client));
  }

  /**
   * CreateTask on `obj` with `taskTypeId` (registered in the extension's taskList, else InvalidArgument);
   * `initiatedBy` is the user shown in the task console.
   */
  createTask(obj: ManagedObjectReference, taskTypeId: string, initiatedBy: string | undefined, cancelable: boolean,
    parentTaskKey?: string): Promise<TaskInfo> {
    return this.client.invoke('CreateTask', { _this: this.ref, obj, taskTypeId, initiatedBy, cancelable, parentTaskKey });
  }

  /** The Task wrapper for a TaskInfo returned by createTask. */
  task(info: TaskInfo): Task {
    return new Task(this.client, info.task);
  }
}

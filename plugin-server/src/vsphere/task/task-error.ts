import { LocalizedMethodFault, ManagedObjectReference, TaskInfo } from '../generated';

/** A vCenter task ended in state `error`; `fault` is the task's LocalizedMethodFault. */
export class TaskError extends Error {
  /** vim25 fault type of the task error (e.g. `InvalidPowerState`). */
  readonly faultName: string;

  constructor(readonly task: ManagedObjectReference, readonly fault: LocalizedMethodFault | undefined, readonly info?: TaskInfo) {
    const faultName = fault?.fault?._type ?? 'SystemError';
    super(fault?.localizedMessage || `task ${task.value} failed: ${faultName}`);
    this.name = 'TaskError';
    this.faultName = faultName;
  }
}

import { Logger } from '@nestjs/common';
import { HDM_EVENT_TYPES, HDM_TASK_TYPES, HdmEventType, HdmTaskType, qualifiedTypeId } from '../plugin/extension-catalog';
import { EventManager, eventArguments, ManagedObjectReference, Task, TaskManager, VimClient } from '../vsphere';

/**
 * How a job shows in vCenter: one extension task on the VM (state and honest byte
 * progress) and EventEx history entries. Reporting never fails the job: a vCenter
 * hiccup is logged and the copy goes on.
 */
export class VcenterReporter {
  private readonly logger = new Logger('vcenter-reporter');
  private lastPct = -1;

  constructor(
    private readonly client: VimClient,
    private readonly extensionKey: string,
    private readonly vm: { ref: ManagedObjectReference; name: string },
  ) {}

  async createTask(type: HdmTaskType, initiatedBy: string): Promise<string> {
    const info = await new TaskManager(this.client).createTask(this.vm.ref, qualifiedTypeId(this.extensionKey, HDM_TASK_TYPES[type].id), initiatedBy || undefined, true);
    await new Task(this.client, info.task).setState('running');
    return info.task.value;
  }

  task(moid: string): Task {
    return new Task(this.client, { type: 'Task', value: moid });
  }

  async progress(taskMoid: string | undefined, done: number, total: number): Promise<void> {
    if (!taskMoid || total <= 0) return;
    const pct = Math.min(99, Math.floor((done / total) * 100));
    if (pct === this.lastPct) return;
    this.lastPct = pct;
    await this.task(taskMoid).updateProgress(pct).catch((e: Error) => this.logger.warn(`task progress: ${e.message}`));
  }

  /** True when a vSphere Client user pressed Cancel on the task (CancelTask sets info.cancelled). */
  async cancelRequested(taskMoid: string | undefined): Promise<boolean> {
    if (!taskMoid) return false;
    try {
      return (await this.task(taskMoid).info()).cancelled === true;
    } catch {
      return false;
    }
  }

  async finishTask(taskMoid: string | undefined, outcome: 'success' | 'error', message?: string, cancelled = false): Promise<void> {
    if (!taskMoid) return;
    const task = this.task(taskMoid);
    try {
      const info = await task.info();
      if (info.state === 'success' || info.state === 'error') return;
      if (outcome === 'success') await task.setState('success');
      else {
        // A cancelled task ends in error with RequestCanceled, as vCenter's own tasks do.
        const fault = cancelled ? { _type: 'RequestCanceled' } : { _type: 'SystemError', reason: message ?? 'failed' };
        await task.setState('error', undefined, { fault: fault as never, localizedMessage: message });
      }
    } catch (e) {
      this.logger.warn(`task ${taskMoid} end state: ${(e as Error).message}`);
    }
  }

  async event(type: HdmEventType, args: Record<string, string>): Promise<void> {
    const t = HDM_EVENT_TYPES[type];
    const message = t.label.replace(/\{(\w+)\}/g, (_, k: string) => args[k] ?? '');
    try {
      await new EventManager(this.client).postEvent({
        _type: 'EventEx',
        eventTypeId: qualifiedTypeId(this.extensionKey, t.id),
        severity: t.category,
        message,
        fullFormattedMessage: message,
        arguments: eventArguments(args),
        vm: { name: this.vm.name, vm: this.vm.ref },
        objectId: this.vm.ref.value,
        objectType: 'VirtualMachine',
        objectName: this.vm.name,
      } as never);
    } catch (e) {
      this.logger.warn(`event ${t.id}: ${(e as Error).message}`);
    }
  }
}

import { ManagedObjectReference, TaskInfo } from '../generated';
import { VimClient } from '../soap/vim-client';
import { TaskError } from './task-error';

export interface WaitForTaskOptions {
  /** Stops waiting (rejects with the signal's reason); the task itself keeps running. */
  signal?: AbortSignal;
  /** Seconds per WaitForUpdatesEx round (default 30); only bounds how often `signal` is checked. */
  pollSeconds?: number;
}

/** Called with progress in percent (0–100, undefined while unknown) and the latest TaskInfo. */
export type TaskProgress = (progress: number | undefined, info: TaskInfo) => void;

/**
 * Waits until `task` reaches success (resolves with info.result) or error (rejects with TaskError).
 * Uses a private PropertyCollector (CreatePropertyCollector) so its filter never disturbs other
 * waiters on the session's shared collector; the collector is destroyed when the wait ends.
 */
export async function waitForTask(client: VimClient, task: ManagedObjectReference, onProgress?: TaskProgress,
  opts: WaitForTaskOptions = {}): Promise<unknown> {
  const pc = await client.invoke('CreatePropertyCollector', { _this: client.serviceContent.propertyCollector });
  try {
    await client.invoke('CreateFilter', {
      _this: pc,
      spec: { propSet: [{ type: 'Task', pathSet: ['info'] }], objectSet: [{ obj: task, skip: false }] },
      partialUpdates: false,
    });
    let version = '';
    let lastProgress: number | undefined = -1;
    for (;;) {
      opts.signal?.throwIfAborted();
      const updates = await client.invoke('WaitForUpdatesEx', {
        _this: pc, version, options: { maxWaitSeconds: opts.pollSeconds ?? 30 },
      });
      if (!updates) continue;
      version = updates.version;
      for (const fs of updates.filterSet ?? []) {
        for (const os of fs.objectSet ?? []) {
          for (const change of os.changeSet ?? []) {
            if (change.name !== 'info' || !change.val) continue;
            const info = change.val as TaskInfo;
            if (info.state === 'success') return info.result;
            if (info.state === 'error') throw new TaskError(task, info.error, info);
            if (onProgress && info.progress !== lastProgress) {
              lastProgress = info.progress;
              onProgress(info.progress, info);
            }
          }
        }
      }
    }
  } finally {
    await client.invoke('DestroyPropertyCollector', { _this: pc }).catch(() => undefined);
  }
}

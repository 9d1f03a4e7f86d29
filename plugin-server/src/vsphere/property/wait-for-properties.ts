import { ManagedObjectReference } from '../generated';
import { VimClient } from '../soap/vim-client';
import { PropertyValues, unwrapArray } from './property-collector';

export interface WaitForPropertiesOptions {
  /** Stops waiting (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Rejects with an Error after this many milliseconds (default: wait forever). */
  timeoutMs?: number;
  /** Seconds per WaitForUpdatesEx round (default 30); bounds how often signal/timeout are checked. */
  pollSeconds?: number;
}

/**
 * Waits until `done(values)` returns something other than undefined, re-evaluating it on every
 * change of `pathSet` of `obj`; resolves with that result. Like waitForTask it uses a private
 * PropertyCollector (destroyed when the wait ends) so other waiters are not disturbed.
 */
export async function waitForProperties<T>(client: VimClient, obj: ManagedObjectReference, pathSet: string[],
  done: (values: PropertyValues) => T | undefined, opts: WaitForPropertiesOptions = {}): Promise<T> {
  const deadline = opts.timeoutMs !== undefined ? Date.now() + opts.timeoutMs : Infinity;
  const pc = await client.invoke('CreatePropertyCollector', { _this: client.serviceContent.propertyCollector });
  try {
    await client.invoke('CreateFilter', {
      _this: pc,
      spec: { propSet: [{ type: obj.type, pathSet }], objectSet: [{ obj, skip: false }] },
      partialUpdates: false,
    });
    const values: PropertyValues = {};
    let version = '';
    for (;;) {
      opts.signal?.throwIfAborted();
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${obj.type}:${obj.value} ${pathSet.join(',')}`);
      const wait = Math.max(1, Math.min(opts.pollSeconds ?? 30, Math.ceil(left / 1000)));
      const updates = await client.invoke('WaitForUpdatesEx', { _this: pc, version, options: { maxWaitSeconds: wait } });
      if (!updates) continue;
      version = updates.version;
      for (const fs of updates.filterSet ?? []) {
        for (const os of fs.objectSet ?? []) {
          for (const c of os.changeSet ?? []) {
            if (c.op === 'remove') delete values[c.name];
            else values[c.name] = unwrapArray(c.val);
          }
        }
      }
      const result = done(values);
      if (result !== undefined) return result;
    }
  } finally {
    await client.invoke('DestroyPropertyCollector', { _this: pc }).catch(() => undefined);
  }
}

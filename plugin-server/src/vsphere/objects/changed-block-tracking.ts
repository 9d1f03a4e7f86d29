import { DiskChangeExtent, DiskChangeInfo, ManagedObjectReference, VirtualDevice, VirtualDisk } from '../generated';
import { retrieveOne } from '../property/property-collector';
import { VimClient } from '../soap/vim-client';

/**
 * Changed-block tracking (CBT) helpers behind VirtualMachine.diskChangeIds and
 * VirtualMachine.queryChangedDiskAreas. The VADP flow: enable CBT (ReconfigVM_Task
 * changeTrackingEnabled), take a snapshot, read each disk's `backing.changeId` from the
 * snapshot's config, copy the disk; later take another snapshot and ask
 * QueryChangedDiskAreas(newSnapshot, diskKey, offset, oldChangeId) which areas changed — or pass
 * changeId `*` for the allocated areas of the whole disk (a first full copy that skips holes).
 *
 * API: https://developer.broadcom.com/xapis/vsphere-web-services-api/latest/vim.VirtualMachine.html#queryChangedDiskAreas
 */

/** One virtual disk as seen at a snapshot (or now): device key, size and CBT change id. */
export interface DiskChangeId {
  key: number;
  /** Datastore path of the disk's descriptor, e.g. `[prem-ds] app-01/app-01.vmdk`. */
  fileName: string;
  capacityInBytes: number;
  /** Undefined when CBT was off at that moment (or for disk kinds without CBT). */
  changeId?: string;
}

function isDisk(d: VirtualDevice): d is VirtualDisk {
  return (d as { _type?: string })._type === 'VirtualDisk';
}

/** The disks of `config.hardware.device` of a VM or snapshot, with their change ids. */
export async function readDiskChangeIds(client: VimClient, obj: ManagedObjectReference): Promise<DiskChangeId[]> {
  const props = await retrieveOne(client, obj, ['config.hardware.device']);
  const devices = (props['config.hardware.device'] as VirtualDevice[] | undefined) ?? [];
  return devices.filter(isDisk).map((d) => {
    const backing = (d.backing ?? {}) as { fileName?: string; changeId?: string };
    return {
      key: d.key,
      fileName: backing.fileName ?? '',
      capacityInBytes: d.capacityInBytes ?? d.capacityInKB * 1024,
      changeId: backing.changeId || undefined,
    };
  });
}

/** Appends `area` to sorted `out`, merging it with the last extent when they touch or overlap. */
export function appendExtent(out: DiskChangeExtent[], area: DiskChangeExtent): void {
  if (area.length <= 0) return;
  const last = out[out.length - 1];
  if (last && area.start <= last.start + last.length) {
    last.length = Math.max(last.length, area.start + area.length - last.start);
  } else {
    out.push({ start: area.start, length: area.length });
  }
}

/**
 * Pages QueryChangedDiskAreas from `startOffset` to `capacity`: vCenter answers each call for
 * a part of the disk (`startOffset`..`startOffset+length`), so the caller continues at the end
 * of each answer. Returns the changed extents, sorted and merged across answers, and the number
 * of calls made.
 */
export async function queryChangedDiskAreasPaged(
  query: (startOffset: number) => Promise<DiskChangeInfo>, startOffset: number, capacity: number,
): Promise<{ areas: DiskChangeExtent[]; calls: number }> {
  const areas: DiskChangeExtent[] = [];
  let offset = startOffset;
  let calls = 0;
  while (offset < capacity) {
    const info = await query(offset);
    calls++;
    for (const a of info.changedArea ?? []) appendExtent(areas, a);
    const next = info.startOffset + info.length;
    if (!(info.length > 0) || next <= offset) {
      throw new Error(`QueryChangedDiskAreas at offset ${offset} answered no progress (startOffset ${info.startOffset}, length ${info.length})`);
    }
    offset = next;
  }
  return { areas, calls };
}

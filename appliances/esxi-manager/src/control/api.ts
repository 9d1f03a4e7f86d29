import { ControlServer } from '@hdm/appliance-common';
import { diskParam } from '../data/disk-routes';
import { AllocationCache, diskAllocation } from '../vmdk/allocation';
import type { Datastores, DiskResolver } from '../vmdk/datastores';

/** Control API of esxi-manager (JSON over mTLS; clients: the plugin server, prem-manager). */
export function registerControlRoutes(server: ControlServer, datastores: Datastores, resolver: DiskResolver, cache: AllocationCache): void {
  server
    .route('GET', '/v1/health', () => ({ status: 200, body: { role: 'esxi-manager', ok: true, datastores: [...datastores.keys()] } }))
    .route('GET', '/v1/disks', async (_, __, query) => {
      const disk = await diskParam(query, resolver);
      const a = await diskAllocation(disk.extents, cache);
      return {
        status: 200,
        body: {
          path: disk.path,
          createType: disk.createType,
          size: disk.size,
          allocated: a.allocated,
          allocatedBytes: a.allocatedBytes,
          extentSource: a.extentSource,
          ...(a.reasons.length ? { extentSourceReason: a.reasons[0] } : {}),
        },
      };
    });
}

import { ImportSpec, ManagedObjectReference } from '../generated';
import { VimClient } from '../soap/vim-client';
import { HttpNfcLease } from './http-nfc-lease';
import { ManagedObject } from './managed-object';

/** ResourcePool (or VirtualApp): where VMs are placed; the receiver of ImportVApp. */
export class ResourcePool extends ManagedObject {
  constructor(client: VimClient, ref: ManagedObjectReference) {
    super(client, ref);
  }

  /**
   * ImportVApp: creates the VM described by `importSpec` (OvfManager.createImportSpec) in `folder`
   * (default: the datacenter's vmFolder) and returns the lease its disks are uploaded through.
   * The VM exists from now on; `lease.abort()` deletes it again, `lease.complete()` keeps it.
   */
  async importVApp(importSpec: ImportSpec, folder?: ManagedObjectReference, host?: ManagedObjectReference): Promise<HttpNfcLease> {
    return new HttpNfcLease(this.client, await this.client.invoke('ImportVApp', { _this: this.ref, spec: importSpec, folder, host }));
  }
}

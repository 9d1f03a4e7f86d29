import { ManagedObjectReference } from '../generated';
import { VimClient } from '../soap/vim-client';
import { DatastoreFiles } from './datastore-files';
import { Folder } from './folder';
import { DatacenterInfo, Inventory } from './inventory';
import { ManagedObject } from './managed-object';

/** Datacenter: the scope of folders, datastores and networks; `path` is the `dcPath` of /folder URLs. */
export class Datacenter extends ManagedObject {
  constructor(client: VimClient, readonly info: DatacenterInfo) {
    super(client, info.ref);
  }

  /** The datacenter named (or at inventory path) `name`; without a name the only/first one. Undefined when absent. */
  static async find(client: VimClient, name?: string): Promise<Datacenter | undefined> {
    const all = await new Inventory(client).datacenters();
    const dc = name === undefined ? all[0] : all.find((d) => d.path === name) ?? all.find((d) => d.name === name);
    return dc ? new Datacenter(client, dc) : undefined;
  }

  get name(): string {
    return this.info.name;
  }

  /** The root folder of the datacenter's VMs (ImportVApp/CreateVM target by default). */
  vmFolder(): Folder {
    return new Folder(this.client, this.info.vmFolder);
  }

  hostFolder(): Folder {
    return new Folder(this.client, this.info.hostFolder);
  }

  /** HTTP access to the files of this datacenter's datastores. */
  files(): DatastoreFiles {
    return new DatastoreFiles(this.client, this.info.path);
  }
}


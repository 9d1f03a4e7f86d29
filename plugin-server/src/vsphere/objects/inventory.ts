import { ManagedObjectReference } from '../generated';
import { RetrieveOpts, retrieveOne } from '../property/property-collector';
import { InventoryObject, retrieveInventory } from '../property/traversal';
import { VimClient } from '../soap/vim-client';
import { VimFault } from '../soap/vim-fault';
import { toVmDetails, VM_DETAIL_PATHS, VmDetails } from './virtual-machine-details';
import { VirtualMachine } from './virtual-machine';

/** A managed object by id and name (names are not unique in vCenter; ids are, per vCenter). */
export interface NamedRef {
  moid: string;
  name: string;
}

export interface ClusterInfo extends NamedRef {
  ref: ManagedObjectReference;
  /** Inventory path of the datacenter (`prem-dc`, or `folder/dc` when nested). */
  datacenter: string;
  hosts: NamedRef[];
  /** The cluster's root resource pool. */
  resourcePool?: string;
  datastores: string[];
  networks: string[];
}

export interface ResourcePoolInfo extends NamedRef {
  ref: ManagedObjectReference;
  /** `ResourcePool` or `VirtualApp`. */
  type: string;
  datacenter: string;
  /** The cluster (or standalone compute resource) that owns the pool. */
  owner?: NamedRef & { type: string };
  /** True for the (hidden) root pool of a cluster. */
  isRoot: boolean;
  parent?: string;
}

export interface DatastoreInfo extends NamedRef {
  ref: ManagedObjectReference;
  datacenter: string;
  /** Bytes. */
  freeSpace: number;
  /** Bytes. */
  capacity: number;
  /** `ds:///vmfs/volumes/...` on vCenter (a local directory in the lab). */
  url: string;
  type: string;
  accessible: boolean;
}

export interface NetworkInfo extends NamedRef {
  ref: ManagedObjectReference;
  /** `Network`, `DistributedVirtualPortgroup` or `OpaqueNetwork`. */
  type: string;
  datacenter: string;
  /** Portgroup key (distributed portgroups only): what a DVPort NIC backing names. */
  portgroupKey?: string;
}

export interface VmFolderInfo extends NamedRef {
  ref: ManagedObjectReference;
  datacenter: string;
  /** Inventory path, e.g. `prem-dc/vm/apps`. */
  path: string;
  /** True for the datacenter's vmFolder itself. */
  isRoot: boolean;
}

export interface DatacenterInfo extends NamedRef {
  ref: ManagedObjectReference;
  /** Inventory path (the `dcPath` of datastore /folder URLs). */
  path: string;
  vmFolder: ManagedObjectReference;
  hostFolder: ManagedObjectReference;
  datastoreFolder: ManagedObjectReference;
  networkFolder: ManagedObjectReference;
}

/** Paths every listing reads so datacenter and folder paths can be resolved in memory. */
const SKELETON: Record<string, string[]> = {
  Folder: ['name', 'parent', 'childType'],
  Datacenter: ['name', 'parent', 'vmFolder', 'hostFolder', 'datastoreFolder', 'networkFolder'],
};

/** One retrieval's objects with name/parent lookups. */
class Snapshot {
  readonly byId = new Map<string, InventoryObject>();

  constructor(readonly objects: InventoryObject[], private readonly root: ManagedObjectReference) {
    for (const o of objects) this.byId.set(o.ref.value, o);
  }

  ofType(...types: string[]): InventoryObject[] {
    return this.objects.filter((o) => types.includes(o.ref.type));
  }

  name(ref: ManagedObjectReference | undefined): string {
    return (ref && (this.byId.get(ref.value)?.props.name as string | undefined)) ?? '';
  }

  named(ref: ManagedObjectReference): NamedRef {
    return { moid: ref.value, name: this.name(ref) };
  }

  /** Inventory path of `ref` (names from below the rootFolder down to `ref`). */
  path(ref: ManagedObjectReference): string {
    const parts: string[] = [];
    let cur: ManagedObjectReference | undefined = ref;
    for (let guard = 0; cur && cur.value !== this.root.value && guard < 64; guard++) {
      const o = this.byId.get(cur.value);
      if (!o) break;
      parts.unshift(String(o.props.name ?? cur.value));
      cur = o.props.parent as ManagedObjectReference | undefined;
    }
    return parts.join('/');
  }

  /** The datacenter containing `ref` (walking `parent`), or undefined. */
  datacenter(ref: ManagedObjectReference): InventoryObject | undefined {
    let cur: ManagedObjectReference | undefined = ref;
    for (let guard = 0; cur && guard < 64; guard++) {
      const o = this.byId.get(cur.value);
      if (!o) return undefined;
      if (o.ref.type === 'Datacenter') return o;
      cur = o.props.parent as ManagedObjectReference | undefined;
    }
    return undefined;
  }

  datacenterPath(ref: ManagedObjectReference): string {
    const dc = this.datacenter(ref);
    return dc ? this.path(dc.ref) : '';
  }
}

/**
 * Inventory: read-only listings of one vCenter for placement and the REST API. Each listing is
 * ONE RetrievePropertiesEx from the rootFolder (property/traversal.ts; continuation pages are
 * followed), with the names of referenced objects (folders, pools, hosts, networks) resolved from
 * the same result. Lists are sorted by name, then moid.
 */
export class Inventory {
  constructor(readonly client: VimClient, private readonly opts: RetrieveOpts = {}) {}

  private async snapshot(propSets: Record<string, string[]>): Promise<Snapshot> {
    const merged: Record<string, string[]> = { ...SKELETON };
    for (const [type, paths] of Object.entries(propSets)) merged[type] = [...new Set([...(merged[type] ?? []), ...paths])];
    return new Snapshot(await retrieveInventory(this.client, merged, this.opts), this.client.serviceContent.rootFolder);
  }

  /** Every VM with the placement details (disks, NICs with network names, folder, pool, host). */
  async vms(): Promise<VmDetails[]> {
    const s = await this.snapshot({
      VirtualMachine: VM_DETAIL_PATHS,
      Network: ['name', 'parent'],
      DistributedVirtualPortgroup: ['key'],
      ResourcePool: ['name', 'parent'],
      HostSystem: ['name'],
    });
    return sortByName(s.ofType('VirtualMachine').map((o) => toVmDetails(o.ref, o.props, {
      name: (r) => s.name(r),
      portgroup: (key) => s.ofType('DistributedVirtualPortgroup').find((p) => p.props.key === key)?.ref,
      datacenter: (r) => s.datacenterPath(r),
    })));
  }

  async clusters(): Promise<ClusterInfo[]> {
    const s = await this.snapshot({
      ClusterComputeResource: ['name', 'parent', 'host', 'resourcePool', 'datastore', 'network'],
      HostSystem: ['name'],
    });
    return sortByName(s.ofType('ClusterComputeResource').map((o) => ({
      ref: o.ref,
      moid: o.ref.value,
      name: o.props.name as string,
      datacenter: s.datacenterPath(o.ref),
      hosts: refs(o.props.host).map((h) => s.named(h)),
      resourcePool: (o.props.resourcePool as ManagedObjectReference | undefined)?.value,
      datastores: refs(o.props.datastore).map((r) => r.value),
      networks: refs(o.props.network).map((r) => r.value),
    })));
  }

  async resourcePools(): Promise<ResourcePoolInfo[]> {
    const s = await this.snapshot({
      ResourcePool: ['name', 'parent', 'owner'],
      ComputeResource: ['name', 'parent'],
    });
    return sortByName(s.ofType('ResourcePool', 'VirtualApp').map((o) => {
      const owner = o.props.owner as ManagedObjectReference | undefined;
      const parent = o.props.parent as ManagedObjectReference | undefined;
      return {
        ref: o.ref,
        moid: o.ref.value,
        name: o.props.name as string,
        type: o.ref.type,
        datacenter: s.datacenterPath(o.ref),
        owner: owner ? { ...s.named(owner), type: owner.type } : undefined,
        isRoot: !!parent && parent.type !== 'ResourcePool' && parent.type !== 'VirtualApp',
        parent: parent?.value,
      };
    }));
  }

  async datastores(): Promise<DatastoreInfo[]> {
    const s = await this.snapshot({
      Datastore: ['name', 'parent', 'summary.freeSpace', 'summary.capacity', 'summary.url', 'summary.type', 'summary.accessible'],
    });
    return sortByName(s.ofType('Datastore').map((o) => ({
      ref: o.ref,
      moid: o.ref.value,
      name: o.props.name as string,
      datacenter: s.datacenterPath(o.ref),
      freeSpace: Number(o.props['summary.freeSpace'] ?? 0),
      capacity: Number(o.props['summary.capacity'] ?? 0),
      url: (o.props['summary.url'] as string | undefined) ?? '',
      type: (o.props['summary.type'] as string | undefined) ?? '',
      accessible: o.props['summary.accessible'] !== false,
    })));
  }

  async networks(): Promise<NetworkInfo[]> {
    const s = await this.snapshot({ Network: ['name', 'parent'], DistributedVirtualPortgroup: ['key'] });
    return sortByName(s.ofType('Network', 'DistributedVirtualPortgroup', 'OpaqueNetwork').map((o) => ({
      ref: o.ref,
      moid: o.ref.value,
      name: o.props.name as string,
      type: o.ref.type,
      datacenter: s.datacenterPath(o.ref),
      portgroupKey: o.props.key as string | undefined,
    })));
  }

  /** Folders that can hold VMs (each datacenter's vmFolder and its sub-folders). */
  async vmFolders(): Promise<VmFolderInfo[]> {
    const s = await this.snapshot({});
    const roots = new Set(s.ofType('Datacenter').map((d) => (d.props.vmFolder as ManagedObjectReference).value));
    return s.ofType('Folder')
      .filter((o) => ((o.props.childType as string[] | undefined) ?? []).includes('VirtualMachine'))
      .map((o) => ({
        ref: o.ref,
        moid: o.ref.value,
        name: o.props.name as string,
        datacenter: s.datacenterPath(o.ref),
        path: s.path(o.ref),
        isRoot: roots.has(o.ref.value),
      }))
      .sort((a, b) => cmp(a.path, b.path));
  }

  async datacenters(): Promise<DatacenterInfo[]> {
    const s = await this.snapshot({});
    return sortByName(s.ofType('Datacenter').map((o) => ({
      ref: o.ref,
      moid: o.ref.value,
      name: o.props.name as string,
      path: s.path(o.ref),
      vmFolder: o.props.vmFolder as ManagedObjectReference,
      hostFolder: o.props.hostFolder as ManagedObjectReference,
      datastoreFolder: o.props.datastoreFolder as ManagedObjectReference,
      networkFolder: o.props.networkFolder as ManagedObjectReference,
    })));
  }

  /**
   * The VM named `name` (one round trip reading only names), or undefined. Names are unique per
   * folder only: with several matches, `datacenter` (path) narrows them, else the lowest moid wins.
   */
  async findVmByName(name: string, datacenter?: string): Promise<VirtualMachine | undefined> {
    const s = await this.snapshot({ VirtualMachine: ['name', 'parent'] });
    const hits = s.ofType('VirtualMachine')
      .filter((o) => o.props.name === name && (datacenter === undefined || s.datacenterPath(o.ref) === datacenter))
      .sort((a, b) => cmp(a.ref.value, b.ref.value));
    return hits.length ? new VirtualMachine(this.client, hits[0].ref) : undefined;
  }

  /**
   * The object with id `moid` and its name, or undefined. With `type` this is a direct read of
   * that object; without it the inventory is searched (one round trip over every entity).
   */
  async findByMoid(moid: string, type?: string): Promise<{ ref: ManagedObjectReference; name: string } | undefined> {
    if (type) {
      const ref = { type, value: moid };
      try {
        const props = await retrieveOne(this.client, ref, ['name']);
        return { ref, name: props.name as string };
      } catch (e) {
        if (VimFault.is(e, 'ManagedObjectNotFound')) return undefined;
        throw e;
      }
    }
    const s = await this.snapshot({ ManagedEntity: ['name'] });
    const o = s.byId.get(moid);
    return o ? { ref: o.ref, name: o.props.name as string } : undefined;
  }
}

function refs(v: unknown): ManagedObjectReference[] {
  return Array.isArray(v) ? (v as unknown[]).filter((x): x is ManagedObjectReference =>
    typeof x === 'object' && x !== null && 'type' in x && 'value' in x) : [];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortByName<T extends NamedRef>(list: T[]): T[] {
  return list.sort((a, b) => cmp(a.name, b.name) || cmp(a.moid, b.moid));
}


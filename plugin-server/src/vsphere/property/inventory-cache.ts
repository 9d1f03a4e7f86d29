import {
  ManagedObjectReference, ObjectUpdate, PropertyFilterSpec, PropertySpec, TraversalSpec, UpdateSet, VirtualMachinePowerState,
} from '../generated';
import { VmDisk, VmNic, toVmDetails, VM_DETAIL_PATHS } from '../objects/virtual-machine-details';
import { VimConnectionError } from '../soap/transport';
import { VimClient } from '../soap/vim-client';
import { TagInfo, Tagging } from '../vapi/tagging';
import { VimFault } from '../soap/vim-fault';
import { PropertyValues, unwrapArray } from './property-collector';

/** A VM's use of one datastore (storage.perDatastoreUsage), bytes. */
export interface VmDatastoreUsage {
  datastore: string;
  committed: number;
  uncommitted: number;
  unshared: number;
}

export interface CachedVm {
  kind: 'VirtualMachine';
  moid: string;
  name: string;
  powerState: VirtualMachinePowerState;
  guestId?: string;
  guestFullName?: string;
  numCPU?: number;
  memoryMB?: number;
  host?: string;
  resourcePool?: string;
  folder?: string;
  disks: VmDisk[];
  nics: VmNic[];
  datastoreUsage: VmDatastoreUsage[];
}

export interface CachedHost {
  kind: 'HostSystem';
  moid: string;
  name: string;
  /** The cluster (or compute resource) moid. */
  parent?: string;
  connectionState?: string;
  powerState?: string;
  inMaintenanceMode?: boolean;
}

export interface CachedCluster {
  kind: 'ClusterComputeResource';
  moid: string;
  name: string;
  hosts: string[];
  datastores: string[];
  networks: string[];
  resourcePool?: string;
}

export interface CachedDatastore {
  kind: 'Datastore';
  moid: string;
  name: string;
  /** Bytes. */
  capacity: number;
  /** Bytes. */
  freeSpace: number;
  type?: string;
  url?: string;
  accessible: boolean;
}

export interface CachedNetwork {
  kind: 'Network';
  moid: string;
  name: string;
  /** vim25 type: `Network`, `DistributedVirtualPortgroup`, `OpaqueNetwork`. */
  type: string;
}

export interface CachedFolder {
  kind: 'Folder';
  moid: string;
  name: string;
  parent?: string;
  childType: string[];
}

export interface CachedResourcePool {
  kind: 'ResourcePool';
  moid: string;
  name: string;
  /** `ResourcePool` or `VirtualApp`. */
  type: string;
  parent?: string;
  owner?: string;
}

export type CachedObject = CachedVm | CachedHost | CachedCluster | CachedDatastore | CachedNetwork | CachedFolder | CachedResourcePool;
export type InventoryKind = CachedObject['kind'];

/** One change the cache applied (delivered to onChange listeners). */
export interface InventoryChange {
  op: 'enter' | 'modify' | 'leave';
  /** The object after the change (before it, for `leave`). */
  object: CachedObject;
  /** Property paths that changed (all of them for `enter`). */
  properties: string[];
  /** Collector version after the answer that carried the change. */
  version: string;
}

/** Property paths read per vim25 type; the view's types are these keys. */
export const INVENTORY_PATHS: Record<string, string[]> = {
  VirtualMachine: [...VM_DETAIL_PATHS, 'config.guestFullName', 'storage.perDatastoreUsage'],
  HostSystem: ['name', 'parent', 'runtime.connectionState', 'runtime.powerState', 'runtime.inMaintenanceMode'],
  ClusterComputeResource: ['name', 'host', 'datastore', 'network', 'resourcePool'],
  Datastore: ['name', 'summary.capacity', 'summary.freeSpace', 'summary.type', 'summary.url', 'summary.accessible'],
  Network: ['name'],
  DistributedVirtualPortgroup: ['name'],
  Folder: ['name', 'parent', 'childType'],
  ResourcePool: ['name', 'parent', 'owner'],
};

export interface InventoryCacheOptions {
  /** Object updates per WaitForUpdatesEx answer (WaitOptions.maxObjectUpdates, default 1000): pages the initial fill. */
  pageSize?: number;
  /** Seconds one WaitForUpdatesEx may wait (default 30); bounds how fast stop() returns without a cancel. */
  waitSeconds?: number;
  /** Pause before retrying after a connection error (default 250 ms). */
  retryDelayMs?: number;
  /**
   * A fresh, logged-in client when the session is gone (NotAuthenticated); the cache then
   * starts over with a new collector. Without it such an error ends the cache (see `error`).
   */
  reconnect?: () => Promise<VimClient>;
  /**
   * vAPI tagging: tags of every cached object are read after the initial fill and on
   * refreshTags() (tags are no vim25 properties: no update reports them).
   */
  tagging?: Tagging;
}

type Listener = (change: InventoryChange) => void;

interface Raw {
  type: string;
  props: PropertyValues;
}

const refs = (v: unknown): ManagedObjectReference[] => (unwrapArray(v) as ManagedObjectReference[] | undefined) ?? [];

/**
 * InventoryCache: an in-memory copy of the inventory kept current by WaitForUpdatesEx — one
 * PropertyFilter on a private PropertyCollector over a ContainerView of the rootFolder (every
 * datacenter) for VMs, hosts, clusters, datastores, networks, folders and resource pools.
 *
 * Lifecycle: `start()` creates collector, view and filter and resolves after the initial fill
 * (read in pages of `pageSize` object updates: `truncated` answers, each with its version);
 * a loop then applies changes as they come, each WaitForUpdatesEx passing the last version.
 * A dropped connection is retried with the same version, so the cache resumes exactly after
 * the last change it applied (vCenter keeps the filter in the session). InvalidCollectorVersion
 * or a lost session (with `reconnect`) start over: new collector, full state, and `leave` for
 * objects that vanished meanwhile. `stop()` destroys collector and view and ends the loop.
 */
export class InventoryCache {
  private readonly raw = new Map<string, Raw>();
  private readonly objects = new Map<string, CachedObject>();
  private readonly listeners = new Set<Listener>();
  private readonly tags = new Map<string, TagInfo[]>();
  private readonly pageSize: number;
  private readonly waitSeconds: number;
  private readonly retryDelayMs: number;
  private collector: ManagedObjectReference | undefined;
  private view: ManagedObjectReference | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** The version of the last applied answer ('' before the first). */
  version = '';
  /** Why the update loop ended, if it ended by itself. */
  error: Error | undefined;
  /** Counters: answers read, pages of the initial fill, connection retries, full restarts. */
  readonly stats = { answers: 0, fillPages: 0, fillMs: 0, retries: 0, restarts: 0 };

  constructor(private client: VimClient, private readonly opts: InventoryCacheOptions = {}) {
    this.pageSize = opts.pageSize ?? 1000;
    this.waitSeconds = opts.waitSeconds ?? 30;
    this.retryDelayMs = opts.retryDelayMs ?? 250;
  }

  /** Creates the filter and reads the initial state; resolves when the cache is filled. */
  async start(): Promise<void> {
    const t0 = performance.now();
    await this.setup();
    await this.fill();
    this.stats.fillMs = performance.now() - t0;
    if (this.opts.tagging) await this.refreshTags();
    this.loop = this.run();
  }

  /** Tags attached to `moid` (empty without `tagging`). */
  tagsOf(moid: string): TagInfo[] {
    return this.tags.get(moid) ?? [];
  }

  /**
   * Reads the tags of every cached object again (one list-attached-tags-on-objects call, tag
   * names cached); objects whose tags changed get a `modify` change with property `tags`.
   */
  async refreshTags(): Promise<void> {
    const tagging = this.opts.tagging;
    if (!tagging) return;
    const refs = [...this.raw].map(([value, r]) => ({ type: r.type, value }));
    const attached = await tagging.attachedTags(refs);
    for (const [moid] of this.raw) {
      const infos = await Promise.all((attached.get(moid) ?? []).map((id) => tagging.getTag(id)));
      infos.sort((a, b) => a.name.localeCompare(b.name));
      const before = (this.tags.get(moid) ?? []).map((t) => t.id).join(',');
      if (infos.length) this.tags.set(moid, infos);
      else this.tags.delete(moid);
      const obj = this.objects.get(moid);
      if (obj && before !== infos.map((t) => t.id).join(',')) {
        this.emit({ op: 'modify', object: obj, properties: ['tags'], version: this.version });
      }
    }
  }

  /** Ends the update loop and destroys the collector and the view. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.teardown();
    await this.loop?.catch(() => undefined);
  }

  /** Registers a listener for every applied change; returns the function that removes it. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  get(moid: string): CachedObject | undefined {
    return this.objects.get(moid);
  }

  all<K extends InventoryKind>(kind: K): Array<Extract<CachedObject, { kind: K }>> {
    return [...this.objects.values()].filter((o): o is Extract<CachedObject, { kind: K }> => o.kind === kind);
  }

  vms(): CachedVm[] {
    return this.all('VirtualMachine');
  }

  get size(): number {
    return this.objects.size;
  }

  private spec(view: ManagedObjectReference): PropertyFilterSpec {
    const propSet: PropertySpec[] = Object.entries(INVENTORY_PATHS).map(([type, pathSet]) => ({ type, pathSet }));
    const traverse: TraversalSpec = { _type: 'TraversalSpec', name: 'view', type: 'ContainerView', path: 'view', skip: false };
    return { propSet, objectSet: [{ obj: view, skip: true, selectSet: [traverse] }] };
  }

  private async setup(): Promise<void> {
    const sc = this.client.serviceContent;
    this.collector = await this.client.invoke('CreatePropertyCollector', { _this: sc.propertyCollector });
    this.view = await this.client.invoke('CreateContainerView', {
      _this: sc.viewManager!, container: sc.rootFolder, type: Object.keys(INVENTORY_PATHS), recursive: true,
    });
    await this.client.invoke('CreateFilter', { _this: this.collector, spec: this.spec(this.view), partialUpdates: false });
    this.version = '';
  }

  private async teardown(): Promise<void> {
    const { collector, view } = this;
    this.collector = undefined;
    this.view = undefined;
    if (collector) await this.client.invoke('DestroyPropertyCollector', { _this: collector }).catch(() => undefined);
    if (view) await this.client.invoke('DestroyView', { _this: view }).catch(() => undefined);
  }

  private wait(maxWaitSeconds: number): Promise<UpdateSet | undefined> {
    return this.client.invoke('WaitForUpdatesEx', {
      _this: this.collector!, version: this.version, options: { maxWaitSeconds, maxObjectUpdates: this.pageSize },
    });
  }

  /** Reads the full state (all truncated parts); objects not in it leave the cache. */
  private async fill(): Promise<void> {
    const seen = new Set<string>();
    for (;;) {
      const set = await this.wait(0);
      if (!set) break;
      this.stats.fillPages++;
      for (const ou of this.apply(set)) seen.add(ou);
      if (!set.truncated) break;
    }
    for (const moid of [...this.objects.keys()]) {
      if (!seen.has(moid)) this.leave(moid, this.version);
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const set = await this.wait(this.waitSeconds);
        if (set && !this.stopped) this.apply(set);
      } catch (e) {
        if (this.stopped) return;
        try {
          await this.recover(e);
        } catch (fatal) {
          this.error = fatal as Error;
          return;
        }
      }
    }
  }

  private async recover(e: unknown): Promise<void> {
    if (e instanceof VimConnectionError) {
      // The session and its filter live on in vCenter: ask again with the same version.
      this.stats.retries++;
      await new Promise((r) => setTimeout(r, this.retryDelayMs));
      return;
    }
    if (VimFault.is(e, 'InvalidCollectorVersion') || VimFault.is(e, 'ManagedObjectNotFound')) {
      this.stats.restarts++;
      await this.teardown();
      await this.setup();
      await this.fill();
      return;
    }
    if (VimFault.is(e, 'NotAuthenticated') && this.opts.reconnect) {
      this.stats.restarts++;
      this.client = await this.opts.reconnect();
      await this.setup();
      await this.fill();
      return;
    }
    throw e;
  }

  /** Applies one answer; returns the moids it named. */
  private apply(set: UpdateSet): string[] {
    this.stats.answers++;
    this.version = set.version;
    const named: string[] = [];
    for (const fs of set.filterSet ?? []) {
      for (const ou of fs.objectSet ?? []) {
        named.push(ou.obj.value);
        this.applyObject(ou, set.version);
      }
    }
    return named;
  }

  private applyObject(ou: ObjectUpdate, version: string): void {
    const moid = ou.obj.value;
    if (ou.kind === 'leave') {
      this.leave(moid, version);
      return;
    }
    let raw = this.raw.get(moid);
    const entering = !raw;
    if (!raw) {
      raw = { type: ou.obj.type, props: {} };
      this.raw.set(moid, raw);
    }
    const changed: string[] = [];
    for (const c of ou.changeSet ?? []) {
      changed.push(c.name);
      if (c.op === 'remove' || c.op === 'indirectRemove') delete raw.props[c.name];
      else raw.props[c.name] = unwrapArray(c.val);
    }
    const obj = this.typed(ou.obj, raw);
    this.objects.set(moid, obj);
    this.emit({ op: entering ? 'enter' : 'modify', object: obj, properties: changed, version });
  }

  private leave(moid: string, version: string): void {
    const obj = this.objects.get(moid);
    this.raw.delete(moid);
    this.objects.delete(moid);
    this.tags.delete(moid);
    if (obj) this.emit({ op: 'leave', object: obj, properties: [], version });
  }

  private emit(change: InventoryChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  private nameOf = (ref: ManagedObjectReference): string => (this.raw.get(ref.value)?.props.name as string | undefined) ?? ref.value;

  private typed(ref: ManagedObjectReference, raw: Raw): CachedObject {
    const p = raw.props;
    const moid = ref.value;
    const name = (p.name as string | undefined) ?? moid;
    const val = (path: string) => p[path] as ManagedObjectReference | undefined;
    switch (ref.type) {
      case 'VirtualMachine': {
        const d = toVmDetails(ref, p, { name: this.nameOf });
        const usage = (unwrapArray(p['storage.perDatastoreUsage']) as Array<{
          datastore: ManagedObjectReference; committed: number; uncommitted: number; unshared: number;
        }> | undefined) ?? [];
        return {
          kind: 'VirtualMachine', moid, name, powerState: d.powerState, guestId: d.guestId,
          guestFullName: p['config.guestFullName'] as string | undefined, numCPU: d.numCPU, memoryMB: d.memoryMB,
          host: val('runtime.host')?.value, resourcePool: val('resourcePool')?.value, folder: val('parent')?.value,
          disks: d.disks, nics: d.nics,
          datastoreUsage: usage.map((u) => ({
            datastore: u.datastore.value, committed: Number(u.committed ?? 0), uncommitted: Number(u.uncommitted ?? 0), unshared: Number(u.unshared ?? 0),
          })),
        };
      }
      case 'HostSystem':
        return {
          kind: 'HostSystem', moid, name, parent: val('parent')?.value,
          connectionState: p['runtime.connectionState'] as string | undefined, powerState: p['runtime.powerState'] as string | undefined,
          inMaintenanceMode: p['runtime.inMaintenanceMode'] as boolean | undefined,
        };
      case 'ClusterComputeResource':
        return {
          kind: 'ClusterComputeResource', moid, name, hosts: refs(p.host).map((r) => r.value),
          datastores: refs(p.datastore).map((r) => r.value), networks: refs(p.network).map((r) => r.value),
          resourcePool: val('resourcePool')?.value,
        };
      case 'Datastore':
        return {
          kind: 'Datastore', moid, name, capacity: Number(p['summary.capacity'] ?? 0), freeSpace: Number(p['summary.freeSpace'] ?? 0),
          type: p['summary.type'] as string | undefined, url: p['summary.url'] as string | undefined, accessible: p['summary.accessible'] !== false,
        };
      case 'Folder':
        return { kind: 'Folder', moid, name, parent: val('parent')?.value, childType: (unwrapArray(p.childType) as string[] | undefined) ?? [] };
      case 'ResourcePool':
      case 'VirtualApp':
        return { kind: 'ResourcePool', moid, name, type: ref.type, parent: val('parent')?.value, owner: val('owner')?.value };
      default:
        return { kind: 'Network', moid, name, type: ref.type };
    }
  }
}

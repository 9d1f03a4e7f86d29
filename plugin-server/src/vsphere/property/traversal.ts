import { ManagedObjectReference, ObjectContent, PropertySpec, SelectionSpec, TraversalSpec } from '../generated';
import { VimClient } from '../soap/vim-client';
import { retrieveProperties, RetrieveOpts, PropertyValues, toPropertyValues } from './property-collector';

function ts(name: string, type: string, path: string, next: string[]): TraversalSpec {
  return {
    _type: 'TraversalSpec', name, type, path, skip: false,
    selectSet: next.map((n): SelectionSpec => ({ _type: 'SelectionSpec', name: n })),
  };
}

/**
 * The traversal that reaches every inventory object from the rootFolder in one
 * RetrievePropertiesEx: folders → datacenters → their four folders → compute resources → hosts,
 * resource pools (nested) and vApps → VMs; datastores and networks via the datacenter folders.
 * Same shape as govmomi's "visit folders" spec (view/container_view.go predecessor) and the
 * vSphere SDK samples' full traversal.
 */
export function inventoryTraversal(): TraversalSpec[] {
  const all = ['folderChildren', 'dcVmFolder', 'dcHostFolder', 'dcDatastoreFolder', 'dcNetworkFolder',
    'crHost', 'crResourcePool', 'rpChildren', 'rpVm'];
  return [
    ts('folderChildren', 'Folder', 'childEntity', all),
    ts('dcVmFolder', 'Datacenter', 'vmFolder', ['folderChildren']),
    ts('dcHostFolder', 'Datacenter', 'hostFolder', ['folderChildren']),
    ts('dcDatastoreFolder', 'Datacenter', 'datastoreFolder', ['folderChildren']),
    ts('dcNetworkFolder', 'Datacenter', 'networkFolder', ['folderChildren']),
    ts('crHost', 'ComputeResource', 'host', []),
    ts('crResourcePool', 'ComputeResource', 'resourcePool', ['rpChildren', 'rpVm']),
    ts('rpChildren', 'ResourcePool', 'resourcePool', ['rpChildren', 'rpVm']),
    ts('rpVm', 'VirtualApp', 'vm', []),
  ];
}

/** One object of an inventory retrieval. */
export interface InventoryObject {
  ref: ManagedObjectReference;
  props: PropertyValues;
}

/**
 * Properties of every inventory object whose type has an entry in `propSets` (type → paths), in
 * ONE RetrievePropertiesEx from the rootFolder (continuation pages followed). Types not listed
 * are traversed but not returned. A subtype listed as its base type (ClusterComputeResource under
 * ComputeResource) is returned under the base entry, as vCenter does.
 */
export async function retrieveInventory(client: VimClient, propSets: Record<string, string[]>, opts: RetrieveOpts = {}):
Promise<InventoryObject[]> {
  const propSet: PropertySpec[] = Object.entries(propSets).map(([type, pathSet]) => ({ type, pathSet }));
  const ocs: ObjectContent[] = await retrieveProperties(client, [{
    propSet,
    objectSet: [{ obj: client.serviceContent.rootFolder, skip: false, selectSet: inventoryTraversal() }],
  }], opts);
  return ocs.map((oc) => ({ ref: oc.obj, props: toPropertyValues(oc) }));
}

import {
  ManagedObjectReference, ObjectContent, PropertyFilterSpec, RetrieveOptions, TraversalSpec, UpdateSet,
} from '../generated';
import { VimClient } from '../soap/vim-client';

/** Properties of one object keyed by property path (`'runtime.powerState'`), ArrayOf* values unwrapped. */
export type PropertyValues = Record<string, unknown>;

export interface RetrieveOpts {
  /** Page size hint for RetrievePropertiesEx; the server may return fewer (and vcsim ignores it). */
  maxObjects?: number;
  /** Collector to use (default: the service content's propertyCollector). */
  collector?: ManagedObjectReference;
}

/** An `ArrayOfString`/`ArrayOfManagedObjectReference`/... wrapper (anyType values) → a plain array. */
export function unwrapArray(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const t = (v as { _type?: unknown })._type;
    if (typeof t === 'string' && t.startsWith('ArrayOf')) {
      const rest = Object.entries(v).filter(([k]) => k !== '_type');
      return rest.length ? rest[0][1] : [];
    }
  }
  return v;
}

/** ObjectContent → `{ path: value }` (properties in missingSet are left out). */
export function toPropertyValues(oc: ObjectContent): PropertyValues {
  const out: PropertyValues = {};
  for (const p of oc.propSet ?? []) out[p.name] = unwrapArray(p.val);
  return out;
}

/**
 * RetrievePropertiesEx for `specs`, following the continuation `token` with
 * ContinueRetrievePropertiesEx until every page has been read.
 * See https://developer.broadcom.com/xapis/vsphere-web-services-api/latest/vmodl.query.PropertyCollector.html
 */
export async function retrieveProperties(client: VimClient, specs: PropertyFilterSpec[], opts: RetrieveOpts = {}): Promise<ObjectContent[]> {
  const pc = opts.collector ?? client.serviceContent.propertyCollector;
  const options: RetrieveOptions = opts.maxObjects !== undefined ? { maxObjects: opts.maxObjects } : {};
  const out: ObjectContent[] = [];
  let page = await client.invoke('RetrievePropertiesEx', { _this: pc, specSet: specs, options });
  while (page) {
    out.push(...(page.objects ?? []));
    if (!page.token) break;
    page = await client.invoke('ContinueRetrievePropertiesEx', { _this: pc, token: page.token });
  }
  return out;
}

/** Properties `pathSet` of one object; rejects with VimFault ManagedObjectNotFound when it does not exist. */
export async function retrieveOne(client: VimClient, ref: ManagedObjectReference, pathSet: string[]): Promise<PropertyValues> {
  const [oc] = await retrieveProperties(client, [{
    propSet: [{ type: ref.type, pathSet }],
    objectSet: [{ obj: ref, skip: false }],
  }]);
  return oc ? toPropertyValues(oc) : {};
}

/** Properties `pathSet` of several objects of the same type, in no particular order. */
export async function retrieveMany(client: VimClient, refs: ManagedObjectReference[], pathSet: string[], opts: RetrieveOpts = {}):
Promise<Array<{ ref: ManagedObjectReference; props: PropertyValues }>> {
  if (!refs.length) return [];
  const byType = new Map<string, ManagedObjectReference[]>();
  for (const r of refs) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
  const specs: PropertyFilterSpec[] = [...byType].map(([type, objs]) => ({
    propSet: [{ type, pathSet }],
    objectSet: objs.map((obj) => ({ obj, skip: false })),
  }));
  const ocs = await retrieveProperties(client, specs, opts);
  return ocs.map((oc) => ({ ref: oc.obj, props: toPropertyValues(oc) }));
}

/**
 * Every object of `type` under `root` (default rootFolder, recursive) with properties `pathSet`,
 * through a temporary ContainerView that is destroyed afterwards.
 */
export async function retrieveAll(client: VimClient, type: string, pathSet: string[], opts: RetrieveOpts & { root?: ManagedObjectReference } = {}):
Promise<Array<{ ref: ManagedObjectReference; props: PropertyValues }>> {
  const sc = client.serviceContent;
  const view = await client.invoke('CreateContainerView', {
    _this: sc.viewManager!, container: opts.root ?? sc.rootFolder, type: [type], recursive: true,
  });
  const traverseView: TraversalSpec = { _type: 'TraversalSpec', name: 'view', type: 'ContainerView', path: 'view', skip: false };
  try {
    const ocs = await retrieveProperties(client, [{
      propSet: [{ type, pathSet }],
      objectSet: [{
        obj: view,
        skip: true,
        selectSet: [traverseView],
      }],
    }], opts);
    return ocs.map((oc) => ({ ref: oc.obj, props: toPropertyValues(oc) }));
  } finally {
    await client.invoke('DestroyView', { _this: view }).catch(() => undefined);
  }
}

/**
 * One WaitForUpdatesEx round on `collector` (default: the shared one): resolves with the changes
 * since `version` ('' = everything), or undefined when `maxWaitSeconds` passed without change.
 * Pass the returned `version` to the next call. Filters are per collector and session, so
 * long-lived waiters should use their own collector (CreatePropertyCollector), as waitForTask does.
 */
export async function waitForUpdates(client: VimClient, version: string, maxWaitSeconds: number,
  collector?: ManagedObjectReference): Promise<UpdateSet | undefined> {
  return client.invoke('WaitForUpdatesEx', {
    _this: collector ?? client.serviceContent.propertyCollector,
    version,
    options: { maxWaitSeconds },
  });
}

/** CreateFilter on `collector`; returns the filter to pass to destroyFilter(). */
export function createFilter(client: VimClient, spec: PropertyFilterSpec, partialUpdates = false,
  collector?: ManagedObjectReference): Promise<ManagedObjectReference> {
  return client.invoke('CreateFilter', { _this: collector ?? client.serviceContent.propertyCollector, spec, partialUpdates });
}

export async function destroyFilter(client: VimClient, filter: ManagedObjectReference): Promise<void> {
  await client.invoke('DestroyPropertyFilter', { _this: filter });
}

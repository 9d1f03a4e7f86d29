import { Readable } from 'stream';
import { byId, LIBRARY, LIBRARY_ITEM, LOCAL_LIBRARY, OVF_LIBRARY_ITEM, UPDATE_SESSION, UPDATE_SESSION_FILE } from './paths';
import { VapiClient, VapiError } from './rest-client';

export interface LibraryInfo {
  id: string;
  name: string;
  type: string;
  description?: string;
  storageBackings: Array<{ type: string; datastoreId?: string }>;
}

export interface LibraryItemInfo {
  id: string;
  libraryId: string;
  name: string;
  type?: string;
  size?: number;
  description?: string;
}

/** A file to upload into a library item (OVF descriptor, disk, manifest). */
export interface LibraryFile {
  name: string;
  data: Buffer | (() => Readable);
  size: number;
}

export interface OvfDeploySpec {
  /** Name of the new VM. */
  name: string;
  /** Resource pool moid (required by vCenter). */
  resourcePool: string;
  folder?: string;
  host?: string;
  /** Datastore moid for the disks. */
  datastore?: string;
  /** OVF network name → network moid. */
  networkMappings?: Record<string, string>;
  storageProvisioning?: 'thin' | 'thick' | 'eagerZeroedThick';
  annotation?: string;
}

/** The deploy failed: vCenter's messages. */
export class OvfDeployError extends Error {
  constructor(message: string, readonly details: unknown) {
    super(message);
    this.name = 'OvfDeployError';
  }
}

interface RawLibrary { id: string; name: string; type: string; description?: string; storage_backings?: Array<{ type: string; datastore_id?: string }> }
interface RawItem { id: string; library_id: string; name: string; type?: string; size?: number; description?: string }

const toLibrary = (l: RawLibrary): LibraryInfo => ({
  id: l.id, name: l.name, type: l.type, description: l.description,
  storageBackings: (l.storage_backings ?? []).map((b) => ({ type: b.type, datastoreId: b.datastore_id })),
});
const toItem = (i: RawItem): LibraryItemInfo => ({ id: i.id, libraryId: i.library_id, name: i.name, type: i.type, size: i.size, description: i.description });

/**
 * ContentLibrary: HDM's appliance catalog in vCenter's content library over vAPI REST — local
 * libraries on a datastore, OVF items filled through update sessions (one PUT per file to the
 * upload endpoint vCenter hands out), and deploys of a library OVF into a VM
 * (`vcenter/ovf/library-item?~action=deploy`). Empty lists come back from vCenter as `null`:
 * every list here is an array.
 */
export class ContentLibrary {
  constructor(readonly vapi: VapiClient) {}

  /** POST local-library: a LOCAL library backed by `datastore` (moid); returns its id. */
  createLocalLibrary(name: string, datastore: string, description?: string): Promise<string> {
    return this.vapi.call<string>({
      method: 'POST', path: LOCAL_LIBRARY,
      body: { create_spec: { name, description, type: 'LOCAL', storage_backings: [{ type: 'DATASTORE', datastore_id: datastore }] } },
    });
  }

  /** DELETE local-library/id:{id} (its items go with it). */
  async deleteLibrary(id: string): Promise<void> {
    await this.vapi.call({ method: 'DELETE', path: byId(LOCAL_LIBRARY, id) });
  }

  async listLibraries(): Promise<string[]> {
    return (await this.vapi.call<string[] | null>({ method: 'GET', path: LIBRARY })) ?? [];
  }

  async getLibrary(id: string): Promise<LibraryInfo> {
    return toLibrary(await this.vapi.call<RawLibrary>({ method: 'GET', path: byId(LIBRARY, id) }));
  }

  /** library?~action=find by name; ids of the matching libraries. */
  async findLibrary(name: string): Promise<string[]> {
    return (await this.vapi.call<string[] | null>({ method: 'POST', path: LIBRARY, query: { '~action': 'find' }, body: { spec: { name } } })) ?? [];
  }

  /** POST library/item: a new (empty) item of `type` (`ovf`) in the library; returns its id. */
  createItem(libraryId: string, name: string, type = 'ovf', description?: string): Promise<string> {
    return this.vapi.call<string>({
      method: 'POST', path: LIBRARY_ITEM, body: { create_spec: { library_id: libraryId, name, type, description } },
    });
  }

  async listItems(libraryId: string): Promise<string[]> {
    return (await this.vapi.call<string[] | null>({ method: 'GET', path: LIBRARY_ITEM, query: { library_id: libraryId } })) ?? [];
  }

  async getItem(id: string): Promise<LibraryItemInfo> {
    return toItem(await this.vapi.call<RawItem>({ method: 'GET', path: byId(LIBRARY_ITEM, id) }));
  }

  async deleteItem(id: string): Promise<void> {
    await this.vapi.call({ method: 'DELETE', path: byId(LIBRARY_ITEM, id) });
  }

  /**
   * Uploads `files` into item `itemId` in one update session: create the session, add each file
   * (PUSH) and PUT its bytes to the upload endpoint, then complete. On failure the session is
   * failed (`~action=fail`) so vCenter discards the partial content, and the error is rethrown.
   */
  async upload(itemId: string, files: LibraryFile[]): Promise<void> {
    const session = await this.vapi.call<string>({ method: 'POST', path: UPDATE_SESSION, body: { create_spec: { library_item_id: itemId } } });
    try {
      for (const f of files) {
        const info = await this.vapi.call<{ upload_endpoint?: { uri: string } }>({
          method: 'POST', path: byId(UPDATE_SESSION_FILE, session), query: { '~action': 'add' },
          body: { file_spec: { name: f.name, source_type: 'PUSH', size: f.size } },
        });
        const uri = info?.upload_endpoint?.uri;
        if (!uri) throw new VapiError(500, undefined, `update session ${session}: no upload endpoint for ${f.name}`);
        await this.vapi.upload(uri, Buffer.isBuffer(f.data) ? f.data : f.data(), f.size);
      }
      await this.vapi.call({ method: 'POST', path: byId(UPDATE_SESSION, session), query: { '~action': 'complete' } });
    } catch (e) {
      await this.vapi.call({ method: 'POST', path: byId(UPDATE_SESSION, session), query: { '~action': 'fail' }, body: { client_error_message: String(e) } })
        .catch(() => undefined);
      throw e;
    }
  }

  /** Deploys library OVF item `itemId` as a VM; resolves with the new VM's moid. */
  async deployOvf(itemId: string, spec: OvfDeploySpec): Promise<string> {
    const res = await this.vapi.call<{
      succeeded?: boolean; resource_id?: { type: string; id: string };
      error?: { errors?: Array<{ error?: { messages?: Array<{ default_message?: string }> } }> };
    }>({
      method: 'POST', path: byId(OVF_LIBRARY_ITEM, itemId), query: { '~action': 'deploy' },
      body: {
        deployment_spec: {
          name: spec.name, annotation: spec.annotation, accept_all_EULA: true,
          default_datastore_id: spec.datastore, storage_provisioning: spec.storageProvisioning,
          network_mappings: Object.entries(spec.networkMappings ?? {}).map(([key, value]) => ({ key, value })),
        },
        target: { resource_pool_id: spec.resourcePool, folder_id: spec.folder, host_id: spec.host },
      },
    });
    if (!res?.succeeded || !res.resource_id) {
      const msgs = res?.error?.errors?.flatMap((e) => e.error?.messages ?? []).map((m) => m.default_message).filter(Boolean) ?? [];
      throw new OvfDeployError(`deploy of library item ${itemId} failed: ${msgs.join('; ') || 'no reason given'}`, res?.error);
    }
    return res.resource_id.id;
  }
}

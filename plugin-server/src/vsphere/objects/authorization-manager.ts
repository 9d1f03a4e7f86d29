import { ManagedObjectReference } from '../generated';
import { VimClient } from '../soap/vim-client';
import { ManagedObject, requireRef } from './managed-object';

/**
 * AuthorizationManager: HDM uses only the internal DisableMethods/EnableMethods
 * (urn:internalvim25, as govmomi's object/authorization_manager_internal.go) to stop users from
 * powering on or changing a VM while it migrates. vCenter keeps the disabled methods per
 * (entity, method, sourceId) until enabled again by the same sourceId: store it with the migration.
 */
export class AuthorizationManager extends ManagedObject {
  constructor(client: VimClient) {
    super(client, requireRef(client.serviceContent.authorizationManager, 'AuthorizationManager', client));
  }

  /**
   * DisableMethods: `methods` (vim25 method names, e.g. `PowerOnVM_Task`) on `entities` fail with
   * MethodDisabled until enableMethods; `reasonId` is shown to users (a message key, e.g.
   * `com.hdm.migrating`), `sourceId` identifies who disabled them (e.g. the extension key).
   */
  async disableMethods(entities: ManagedObjectReference[], methods: string[], reasonId: string, sourceId: string): Promise<void> {
    await this.client.invoke('DisableMethods', {
      _this: this.ref, entity: entities, method: methods.map((method) => ({ method, reasonId })), sourceId,
    });
  }

  /** EnableMethods: re-enables `methods` on `entities` disabled earlier by `sourceId`. */
  async enableMethods(entities: ManagedObjectReference[], methods: string[], sourceId: string): Promise<void> {
    await this.client.invoke('EnableMethods', { _this: this.ref, entity: entities, method: methods, sourceId });
  }

  /**
   * HasPrivilegeOnEntities: which of `privIds` the session `sessionId` (a user's session key, e.g.
   * a cloned vSphere Client session) holds on each entity → `{ entity moid: { privId: granted } }`.
   * This is how HDM authorizes a user's request by vCenter privileges.
   */
  async hasPrivilegeOnEntities(entities: ManagedObjectReference[], sessionId: string, privIds: string[]):
  Promise<Record<string, Record<string, boolean>>> {
    const res = await this.client.invoke('HasPrivilegeOnEntities', { _this: this.ref, entity: entities, sessionId, privId: privIds });
    const out: Record<string, Record<string, boolean>> = {};
    for (const ep of res ?? []) {
      const m: Record<string, boolean> = {};
      for (const p of ep.privAvailability ?? []) m[p.privId] = p.isGranted;
      out[ep.entity.value] = m;
    }
    return out;
  }
}

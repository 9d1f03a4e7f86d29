import {
  ImportSpec, KeyValue, LocalizedMethodFault, ManagedObjectReference, OvfCreateImportSpecParams, OvfFileItem,
  OvfParseDescriptorResult,
} from '../generated';
import { VimClient } from '../soap/vim-client';
import { ManagedObject, requireRef } from './managed-object';

/** Parameters of createImportSpec (the commonly used subset of OvfCreateImportSpecParams). */
export interface ImportSpecParams {
  /** Name of the VM to create. */
  entityName: string;
  /** OVF network name → target network (Network/DistributedVirtualPortgroup MoRef). */
  networkMapping?: Array<{ name: string; network: ManagedObjectReference }>;
  /** `thin`, `thick`, `eagerZeroedThick`, ... (vim.OvfManager.CreateImportSpecParams.DiskProvisioningType). */
  diskProvisioning?: string;
  /** Host to place the VM on (standalone hosts, or to pin within a cluster). */
  hostSystem?: ManagedObjectReference;
  /** OVF property values (vApp options). */
  propertyMapping?: KeyValue[];
  deploymentOption?: string;
  locale?: string;
  /** Anything else of OvfCreateImportSpecParams, merged last. */
  extra?: Partial<OvfCreateImportSpecParams>;
}

export interface ImportSpecResult {
  /** Pass to ResourcePool.importVApp. */
  importSpec: ImportSpec;
  /** Files to upload: `deviceId` matches a lease device URL's `importKey`, `path` the OVF file href. */
  fileItem: OvfFileItem[];
  warning: LocalizedMethodFault[];
}

/** CreateImportSpec returned `error` entries: the descriptor cannot be imported as given. */
export class OvfImportSpecError extends Error {
  constructor(readonly errors: LocalizedMethodFault[], readonly warnings: LocalizedMethodFault[]) {
    super(`CreateImportSpec failed: ${errors.map((e) => e.localizedMessage || e.fault?._type || 'error').join('; ')}`);
    this.name = 'OvfImportSpecError';
  }
}

/** OvfManager: turns an OVF descriptor into an ImportSpec for ResourcePool.importVApp. */
export class OvfManager extends ManagedObject {
  constructor(client: VimClient) {
    super(client, requireRef(client.serviceContent.ovfManager, 'OvfManager', client));
  }

  /**
   * CreateImportSpec for `ovfDescriptor` (the .ovf XML text) placed in `resourcePool` on `datastore`.
   * Rejects with OvfImportSpecError when the server lists errors (unsupported device, bad network
   * name, ...); warnings are returned.
   */
  async createImportSpec(ovfDescriptor: string, resourcePool: ManagedObjectReference, datastore: ManagedObjectReference,
    params: ImportSpecParams): Promise<ImportSpecResult> {
    const cisp: OvfCreateImportSpecParams = {
      locale: params.locale ?? '',
      deploymentOption: params.deploymentOption ?? '',
      entityName: params.entityName,
      hostSystem: params.hostSystem,
      networkMapping: params.networkMapping?.map((m) => ({ name: m.name, network: m.network })),
      propertyMapping: params.propertyMapping,
      diskProvisioning: params.diskProvisioning,
      ...(params.extra ?? {}),
    };
    const res = await this.client.invoke('CreateImportSpec', { _this: this.ref, ovfDescriptor, resourcePool, datastore, cisp });
    const errors = res.error ?? [];
    const warnings = res.warning ?? [];
    if (errors.length) throw new OvfImportSpecError(errors, warnings);
    if (!res.importSpec) throw new OvfImportSpecError([{ fault: { _type: 'SystemError' }, localizedMessage: 'no importSpec returned' }], warnings);
    return { importSpec: res.importSpec, fileItem: res.fileItem ?? [], warning: warnings };
  }

  /** ParseDescriptor: networks, disks, properties, EULAs of a descriptor (not in vcsim). */
  parseDescriptor(ovfDescriptor: string, opts: { locale?: string; deploymentOption?: string } = {}): Promise<OvfParseDescriptorResult> {
    return this.client.invoke('ParseDescriptor', {
      _this: this.ref, ovfDescriptor, pdp: { locale: opts.locale ?? '', deploymentOption: opts.deploymentOption ?? '' },
    });
  }
}

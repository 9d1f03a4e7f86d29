import { Extension } from '../generated';
import { VimClient } from '../soap/vim-client';
import { ManagedObject, requireRef } from './managed-object';

/** An Extension to register; lastHeartbeatTime defaults to now. */
export type ExtensionSpec = Omit<Extension, 'lastHeartbeatTime'> & { lastHeartbeatTime?: Date };

/** ExtensionManager: registers the HDM plugin (and its task/event/fault types) with vCenter. */
export class ExtensionManager extends ManagedObject {
  constructor(client: VimClient) {
    super(client, requireRef(client.serviceContent.extensionManager, 'ExtensionManager', client));
  }

  /** FindExtension: the registered extension `key`, or undefined. */
  find(key: string): Promise<Extension | undefined> {
    return this.client.invoke('FindExtension', { _this: this.ref, extensionKey: key });
  }

  /** RegisterExtension (fault InvalidArgument / AlreadyExists when `key` is registered). */
  async register(ext: ExtensionSpec): Promise<void> {
    await this.client.invoke('RegisterExtension', { _this: this.ref, extension: withHeartbeat(ext) });
  }

  /** UpdateExtension: replaces the registration of `ext.key` (fault NotFound when absent). */
  async update(ext: ExtensionSpec): Promise<void> {
    await this.client.invoke('UpdateExtension', { _this: this.ref, extension: withHeartbeat(ext) });
  }

  /** UnregisterExtension (fault NotFound when absent). */
  async unregister(key: string): Promise<void> {
    await this.client.invoke('UnregisterExtension', { _this: this.ref, extensionKey: key });
  }
}

function withHeartbeat(ext: ExtensionSpec): Extension {
  return { ...ext, lastHeartbeatTime: ext.lastHeartbeatTime ?? new Date() };
}

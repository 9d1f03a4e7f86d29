import { VcenterEndpoint } from '../config/hdm-config';
import { VimClient } from '../vsphere/soap/vim-client';
import { VimFault } from '../vsphere/soap/vim-fault';
import { VimConnectionError } from '../vsphere/soap/transport';
import { ExtensionSpec } from './extension-descriptor';

/** The three ExtensionManager operations registration needs, on one vCenter session. */
export interface ExtensionRegistry {
  find(key: string): Promise<Partial<ExtensionSpec> | undefined>;
  register(ext: ExtensionSpec): Promise<void>;
  update(ext: ExtensionSpec): Promise<void>;
  close(): Promise<void>;
}

export async function openExtensionRegistry(vc: VcenterEndpoint): Promise<ExtensionRegistry> {
  const client = await VimClient.connect({
    url: vc.url,
    username: vc.username,
    password: vc.password,
    thumbprint: vc.thumbprint,
    rejectUnauthorized: vc.thumbprint ? undefined : true,
  });
  const em = client.serviceContent.extensionManager;
  if (!em) {
    await client.logout();
    throw new Error(`${vc.url} has no ExtensionManager: is it a vCenter (not an ESXi host)?`);
  }
  return {
    async find(key) {
      const found = await client.invokeAny('FindExtension', { _this: em, extensionKey: key });
      return (found ?? undefined) as Partial<ExtensionSpec> | undefined;
    },
    async register(ext) {
      await client.invokeAny('RegisterExtension', { _this: em, extension: ext });
    },
    async update(ext) {
      await client.invokeAny('UpdateExtension', { _this: em, extension: ext });
    },
    async close() {
      await client.logout().catch(() => client.close());
    },
  };
}

/** Turns a failure into a message naming the cause and the fix; `retry` when waiting may help. */
export function describeVcenterError(err: unknown, vc: VcenterEndpoint): { message: string; retry: boolean } {
  if (VimFault.is(err, 'InvalidLogin')) {
    return { message: `vCenter ${vc.url} rejected the login of "${vc.username}": check HDM_VC_USERNAME / HDM_VC_PASSWORD`, retry: false };
  }
  if (VimFault.is(err, 'NoPermission')) {
    return { message: `"${vc.username}" may not register extensions in ${vc.url} (${(err as Error).message}): grant Extension.Register`, retry: false };
  }
  if (err instanceof VimFault) {
    return { message: `vCenter ${vc.url} refused the registration: ${err.faultName}: ${err.message}`, retry: false };
  }
  if (err instanceof VimConnectionError) {
    const thumb = /thumbprint/i.test(err.message);
    return thumb
      ? { message: `${err.message} — if the vCenter certificate was replaced on purpose, set HDM_VC_THUMBPRINT to the new one`, retry: false }
      : { message: `cannot reach vCenter ${vc.url}: ${err.message} — check the URL and that vCenter is up`, retry: true };
  }
  return { message: `registration in ${vc.url} failed: ${(err as Error)?.message ?? String(err)}`, retry: true };
}

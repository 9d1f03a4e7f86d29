import { VcenterEndpoint } from '../config/hdm-config';
import { ExtensionManager, VimClient, VimConnectionError, VimFault } from '../vsphere';
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
  let em: ExtensionManager;
  try {
    em = new ExtensionManager(client);
  } catch (err) {
    await client.logout();
    throw err;
  }
  return {
    find: (key) => em.find(key),
    register: (ext) => em.register(ext),
    update: (ext) => em.update(ext),
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
    return { message: `"${vc.username}" lacks a privilege HDM needs in ${vc.url} (${(err as Error).message}): grant Extension.Register and Alarm.Create (or use an administrator)`, retry: false };
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

import { Server } from 'node:http';
import { join } from 'node:path';
import { ClientHost, ClientHostSettings } from './client-host/client-host-server';
import { REPO_ROOT } from './lab-config';

export { ClientHost, ClientHostOptions, ClientHostSettings } from './client-host/client-host-server';

/** The lab.json fields the client host reads (see lab.ts LabJson). */
interface LabJsonView {
  prem?: { url?: string; thumbprint?: string; username?: string };
  plugin?: { extensionKey?: string };
}

/** Settings from the lab's lab.json; undefined until the lab has described itself. */
export function settingsFromLabJson(json: unknown): ClientHostSettings | undefined {
  const j = json as LabJsonView | undefined;
  if (!j?.prem?.url || !j.prem.thumbprint || !j.plugin?.extensionKey) return undefined;
  return { vcenter: { url: j.prem.url, thumbprint: j.prem.thumbprint }, extensionKey: j.plugin.extensionKey, defaultUsername: j.prem.username };
}

/** The static host page. */
export const CLIENT_DIR = join(REPO_ROOT, 'test/lab/client');

/**
 * Serves the vSphere-Client stand-in (test/lab/client/ + its backend, see client-host/) on
 * 127.0.0.1:`port`, configured from the lab's connection facts (`labJson()`, read per request:
 * the lab fills it in after this resolves, and a plugin restart changes it). Also serves /lab.json.
 * Closing the returned server logs every signed-in user out of vCenter (best effort).
 */
export async function startClientHost(port: number, labJson: () => unknown): Promise<Server> {
  const host = new ClientHost({ settings: () => settingsFromLabJson(labJson()), clientDir: CLIENT_DIR, labJson });
  await host.listen(port, '127.0.0.1');
  host.server.once('close', () => void host.sessions.endAll());
  return host.server;
}

import { request } from 'node:https';
import { join } from 'node:path';
import { LabConfig, REPO_ROOT } from './lab-config';
import { ManagedProcess } from './managed-process';
import { datastoreDir, VcenterInfo } from './vcenter-process';

export interface PluginServerInfo {
  url: string;
  manifestUrl: string;
  extensionKey: string;
  thumbprint: string;
}

interface Health {
  manifestUrl: string;
  extensionKey: string;
  serverThumbprint: string;
  registration: { state: string; message?: string };
}

export function getJson<T>(url: string, timeoutMs = 2_000): Promise<T> {
  return new Promise((resolve, reject) => {
    // Loopback to our own server; its certificate comes from the HDM CA, not a public one.
    const req = request(url, { rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Starts the HDM plugin server (root namespace) pointed at the prem vCenter; waits until it is registered. */
export async function startPluginServer(
  cfg: LabConfig,
  prem: VcenterInfo,
  sites: { premNs: string; premIp: string; cloudNs: string; cloudIp: string },
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ process: ManagedProcess; info: PluginServerInfo }> {
  const url = `https://127.0.0.1:${cfg.pluginPort}`;
  const proc = new ManagedProcess({
    name: 'plugin server',
    command: process.execPath,
    args: [join(REPO_ROOT, 'plugin-server/dist/src/main.js')],
    env: {
      ...process.env,
      HDM_DATA_DIR: join(cfg.labDir, 'plugin-server'),
      HDM_LISTEN_HOST: '127.0.0.1',
      HDM_PORT: String(cfg.pluginPort),
      HDM_PUBLIC_URL: url,
      HDM_VC_URL: prem.url,
      HDM_VC_USERNAME: prem.username,
      HDM_VC_PASSWORD: prem.password,
      HDM_VC_THUMBPRINT: prem.thumbprint,
      HDM_EXTENSION_KEY: cfg.extensionKey,
      NO_COLOR: '1',
      // Appliance services run as processes inside the site namespaces (stand-in for appliance VMs).
      HDM_APPLIANCE_RUNTIME: JSON.stringify({
        kind: 'process',
        prem: {
          netns: sites.premNs,
          ip: sites.premIp,
          // The simulated hosts' datastore: the ESXi Manager reads the flat VMDKs there.
          esxi: { datastores: { 'prem-ds': datastoreDir(cfg, 'prem') } },
        },
        cloud: { netns: sites.cloudNs, ip: sites.cloudIp },
      }),
      ...extraEnv,
    },
    logFile: join(cfg.labDir, 'logs', 'plugin-server.log'),
    readyLine: (line) => (line.includes('HDM plugin server listening') ? true : undefined),
    readyTimeoutMs: 60_000,
  });
  await proc.start();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const health = await getJson<Health>(`${url}/api/v1/health`).catch(() => undefined);
    if (health?.registration.state === 'registered') {
      return {
        process: proc,
        info: { url, manifestUrl: health.manifestUrl, extensionKey: health.extensionKey, thumbprint: health.serverThumbprint },
      };
    }
    if (health?.registration.state === 'error') {
      await proc.stop();
      throw new Error(`plugin server could not register in the prem vCenter: ${health.registration.message}`);
    }
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`plugin server not registered after 60 s (${health?.registration.message ?? 'no answer'}); see ${join(cfg.labDir, 'logs', 'plugin-server.log')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

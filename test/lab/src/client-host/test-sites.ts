// Test support for the client-host specs: two lab simulator sites on loopback (no namespaces),
// the real plugin server registered in the prem one, and small HTTP helpers. Same contract as
// built on plugin-server/test/support/{vcsim,plugin-server}.ts.
import { existsSync, rmSync } from 'node:fs';
import { request as httpRequest, IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { startVcsim, VCSIM_BIN } from '@hdm/plugin-server/dist/test/support/vcsim';
import { freePort, startPluginServer as startServer, waitForRegistration } from '@hdm/plugin-server/dist/test/support/plugin-server';
import { REPO_ROOT } from '../lab-config';

export { VCSIM_BIN };
export const PLUGIN_SERVER_MAIN = join(REPO_ROOT, 'plugin-server', 'dist', 'src', 'main.js');
export const LAB_USERNAME = 'administrator@vsphere.local';
export const LAB_PASSWORD = 'HdmLab!2026';
export const EXTENSION_KEY = 'com.hdm.plugin';

export interface Site { url: string; thumbprint: string; stop(): Promise<void> }
export interface PluginServer { url: string; manifestUrl: string; thumbprint: string; output(): string; stop(): Promise<void> }

/** What is missing for these specs to run (they skip, naming it, rather than fail on a bare machine). */
export function missingPrerequisite(): string | undefined {
  if (!existsSync(VCSIM_BIN)) return `${VCSIM_BIN} not built (npm run build)`;
  if (!existsSync(PLUGIN_SERVER_MAIN)) return `${PLUGIN_SERVER_MAIN} not built (npm run build)`;
  return undefined;
}

/** Starts one hdm-vcsim site on 127.0.0.1:0 (the plugin server's test support: one spawner). */
export async function startSite(site: 'prem' | 'cloud'): Promise<Site> {
  const s = await startVcsim({ site });
  return { url: s.url, thumbprint: s.thumbprint, stop: () => s.stop() };
}

export { freePort };

/** Starts the real plugin server against `prem`; resolves once /api/v1/health says it is registered. */
export async function startPluginServer(prem: Site): Promise<PluginServer> {
  const server = await startServer({
    HDM_VC_URL: prem.url, HDM_VC_USERNAME: LAB_USERNAME, HDM_VC_PASSWORD: LAB_PASSWORD, HDM_VC_THUMBPRINT: prem.thumbprint,
    HDM_EXTENSION_KEY: EXTENSION_KEY,
  });
  const stop = async () => {
    await server.stop();
    rmSync(server.dataDir, { recursive: true, force: true });
  };
  try {
    const reg = await waitForRegistration<{ state: string; message?: string }>(server.url, (r) => r.state !== 'pending', 60_000);
    if (reg.state !== 'registered') throw new Error(`plugin server could not register: ${reg.message}`);
    const health = JSON.parse((await fetchText(`${server.url}/api/v1/health`)).body) as { manifestUrl: string; serverThumbprint: string };
    return { url: server.url, manifestUrl: health.manifestUrl, thumbprint: health.serverThumbprint, output: server.output, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface FetchResult { status: number; headers: IncomingHttpHeaders; body: string }

/** One HTTP(S) request (HTTPS without CA checks: only for reading the test's own servers). */
export function fetchText(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<FetchResult> {
  const u = new URL(url);
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
    method: opts.method ?? 'GET',
    headers: opts.headers,
    rejectUnauthorized: false,
  } as object);
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

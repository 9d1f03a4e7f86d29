// Test support for the client-host specs: two lab simulator sites on loopback (no namespaces),
// the real plugin server registered in the prem one, and small HTTP helpers. Same contract as
// plugin-server/test/support/{vcsim,plugin-server}.ts (ready JSON line; health registration state).
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../lab-config';

export const VCSIM_BIN = process.env.HDM_VCSIM_BIN || join(REPO_ROOT, '.hdm-lab', 'bin', 'hdm-vcsim');
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

function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  return exited.finally(() => clearTimeout(t));
}

/** Starts one hdm-vcsim site on 127.0.0.1:0; resolves on its `{"event":"ready"}` line. */
export async function startSite(site: 'prem' | 'cloud'): Promise<Site> {
  const dataDir = mkdtempSync(join(tmpdir(), `hdm-ch-${site}-`));
  const child = spawn(VCSIM_BIN, ['-site', site, '-listen', '127.0.0.1:0', '-username', LAB_USERNAME, '-password', LAB_PASSWORD, '-data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    await stopChild(child, exited);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const ready = await new Promise<{ url: string; thumbprint: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hdm-vcsim ${site} not ready in 30 s: ${stderr}`)), 30_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          const msg = JSON.parse(line) as { event?: string; url?: string; thumbprint?: string };
          if (msg.event === 'ready' && msg.url && msg.thumbprint) {
            clearTimeout(timer);
            resolve({ url: msg.url, thumbprint: msg.thumbprint });
          }
        } catch {
          // not a JSON line
        }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`hdm-vcsim ${site} exited with ${code}: ${stderr}`)); });
    });
    return { ...ready, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts the real plugin server against `prem`; resolves once /api/v1/health says it is registered. */
export async function startPluginServer(prem: Site): Promise<PluginServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'hdm-ch-server-'));
  const url = `https://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [PLUGIN_SERVER_MAIN], {
    env: {
      ...process.env,
      HDM_DATA_DIR: dataDir, HDM_PORT: String(port), HDM_LISTEN_HOST: '127.0.0.1', HDM_PUBLIC_URL: url,
      HDM_VC_URL: prem.url, HDM_VC_USERNAME: LAB_USERNAME, HDM_VC_PASSWORD: LAB_PASSWORD, HDM_VC_THUMBPRINT: prem.thumbprint,
      HDM_EXTENSION_KEY: EXTENSION_KEY,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d) => (text = (text + d).slice(-20000)));
  child.stderr!.on('data', (d) => (text = (text + d).slice(-20000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    await stopChild(child, exited);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`plugin server exited with ${child.exitCode}:\n${text}`);
      const health = await fetchText(`${url}/api/v1/health`).then((r) => JSON.parse(r.body) as {
        manifestUrl: string; serverThumbprint: string; registration: { state: string; message?: string };
      }).catch(() => undefined);
      if (health?.registration.state === 'registered') {
        return { url, manifestUrl: health.manifestUrl, thumbprint: health.serverThumbprint, output: () => text, stop };
      }
      if (health?.registration.state === 'error') throw new Error(`plugin server could not register: ${health.registration.message}`);
      if (Date.now() > deadline) throw new Error(`plugin server not registered in 60 s:\n${text}`);
      await new Promise((r) => setTimeout(r, 250));
    }
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

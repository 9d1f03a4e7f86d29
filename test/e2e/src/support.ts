import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'node:tls';
import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { defaultLabConfig, LabConfig } from '@hdm/lab/dist/lab-config';
import { freePort } from '@hdm/plugin-server/dist/test/support/plugin-server';

export const REPO_ROOT = resolve(__dirname, '../../..');
export const LAB_MAIN = join(REPO_ROOT, 'test/lab/dist/main.js');

/** A lab config of its own (name, /22 slot, directory, ports) so tests never touch `npm start`'s lab. */
export async function testLabConfig(name: string, slot: number, overrides: Partial<LabConfig> = {}): Promise<LabConfig> {
  return {
    ...defaultLabConfig({}),
    name,
    slot,
    labDir: mkdtempSync(join(tmpdir(), `hdm-${name}-`)),
    pluginPort: await freePort(),
    clientPort: await freePort(),
    diskMiB: 256,
    ...overrides,
  };
}

export function labEnv(cfg: LabConfig): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HDM_LAB_NAME: cfg.name,
    HDM_LAB_SLOT: String(cfg.slot),
    HDM_LAB_DIR: cfg.labDir,
    HDM_LAB_PLUGIN_PORT: String(cfg.pluginPort),
    HDM_LAB_CLIENT_PORT: String(cfg.clientPort),
    HDM_LAB_DISK_MIB: String(cfg.diskMiB),
  };
}

/** SHA-1 thumbprint (colon hex) of the certificate a TLS server actually presents. */
export function servedThumbprint(host: string, port: number): Promise<string> {
  return new Promise((res, rej) => {
    const sock = connect({ host, port, rejectUnauthorized: false }, () => {
      const fp = sock.getPeerCertificate().fingerprint;
      sock.end();
      res(fp.toUpperCase());
    });
    sock.once('error', rej);
  });
}

export function httpsRequest(url: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, rejectUnauthorized: false }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (body += d));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', rej);
    req.end(opts.body);
  });
}

/** Everything of a lab name that exists in the root namespace: namespaces, links, routes. */
export function labTraces(name: string, range: string): string[] {
  const out: string[] = [];
  const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const l of ns.split('\n')) if (l.startsWith(`${name}-`)) out.push(`netns ${l}`);
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  for (const l of links.split('\n')) if (l.includes(` ${name}-`)) out.push(`link ${l.split(':')[1]?.trim()}`);
  const routes = execFileSync('ip', ['route', 'show', 'root', range], { encoding: 'utf8' });
  for (const l of routes.split('\n').filter(Boolean)) out.push(`route ${l}`);
  return out;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Spawns the lab command and resolves once it printed `HDM lab ready`. */
export function spawnLab(cfg: LabConfig): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [LAB_MAIN], { env: labEnv(cfg), stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`lab not ready in 90 s:\n${text}`)), 90_000);
    child.stdout!.on('data', () => {
      if (text.includes('HDM lab ready')) {
        clearTimeout(timer);
        res({ child, output: () => text });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`lab exited (${code}) before ready:\n${text}`));
    });
  });
}

export function waitExit(child: ChildProcess, timeoutMs = 30_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('process did not exit')), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      res(code);
    });
  });
}

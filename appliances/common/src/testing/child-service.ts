import { ChildProcess, spawn } from 'node:child_process';
import * as https from 'node:https';
import { join } from 'node:path';
import type { TestCert } from './test-ca';

export interface Service {
  child: ChildProcess;
  ready: { control: string; data?: string; [field: string]: string | undefined };
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts a built service as a child process and waits for its JSON ready line. */
export function startService(pkgDir: string, args: string[]): Promise<Service> {
  // HDM_TEST_NODE_ARGS: extra node flags for the services (e.g. --cpu-prof) when investigating.
  const nodeArgs = (process.env.HDM_TEST_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(pkgDir, 'dist/src/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HDM_LOG_LEVEL: 'info' } });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line from ${pkgDir}; stderr: ${err}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"event":"ready"'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, ready: JSON.parse(line) as Service['ready'], stderr: () => err, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${pkgDir} exited with ${code}: ${err}`));
    });
  });
}

/** A JSON client of a control API presenting a client certificate. */
export function controlClient(hostPort: string, cert: TestCert, ca: string) {
  const [host, port] = hostPort.split(':');
  return (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> =>
    new Promise((resolve, reject) => {
      const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = https.request(
        {
          host,
          port: Number(port),
          method,
          path,
          cert: cert.certPem,
          key: cert.keyPem,
          passphrase: cert.passphrase,
          ca,
          agent: false,
          headers: text ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } : {},
        },
        (res) => {
          let data = '';
          res.on('data', (d: Buffer) => (data += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : undefined }));
        },
      );
      req.on('error', reject);
      req.end(text);
    });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

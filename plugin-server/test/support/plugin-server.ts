import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SERVER_MAIN = join(__dirname, '..', '..', 'src', 'main.js');

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  return new Promise((res, rej) => {
    const req = request(url, { rejectUnauthorized: false }, (r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (text += d));
      r.on('end', () => {
        try {
          res({ status: r.statusCode ?? 0, body: JSON.parse(text) as T });
        } catch (e) {
          rej(e);
        }
      });
    });
    req.on('error', rej);
    req.end();
  });
}

export interface RunningServer {
  child: ChildProcess;
  url: string;
  port: number;
  dataDir: string;
  output(): string;
  stop(): Promise<void>;
}

/** Starts plugin-server/dist/src/main.js with HDM_* settings on a free port; resolves when it listens. */
export async function startPluginServer(env: NodeJS.ProcessEnv, opts: { dataDir?: string; port?: number } = {}): Promise<RunningServer> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'hdm-server-'));
  const url = `https://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [SERVER_MAIN], {
    env: { ...process.env, HDM_DATA_DIR: dataDir, HDM_PORT: String(port), HDM_LISTEN_HOST: '127.0.0.1', HDM_PUBLIC_URL: url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const server: RunningServer = {
    child,
    url,
    port,
    dataDir,
    output: () => text,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`server did not listen in 30 s:\n${text}`)), 30_000);
    const check = () => {
      if (text.includes('HDM plugin server listening')) {
        clearTimeout(t);
        res();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(t);
      rej(Object.assign(new Error(`server exited with ${code}:\n${text}`), { exitCode: code, output: text }));
    });
  });
  return server;
}

/** Polls /api/v1/health until `done` accepts the registration state. */
export async function waitForRegistration<T extends { state: string }>(
  url: string,
  done: (r: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    const { body } = await getJson<{ registration: T }>(`${url}/api/v1/health`).catch(() => ({ body: undefined }));
    last = body?.registration;
    if (last && done(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`registration state not reached; last: ${JSON.stringify(last)}`);
}

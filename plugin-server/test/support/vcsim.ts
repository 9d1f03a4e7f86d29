import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';

/** Repository root (this file compiles to plugin-server/dist/test/support/vcsim.js). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
/** The lab simulator; HDM_VCSIM_BIN overrides it (e.g. to try another build). */
export const VCSIM_BIN = process.env.HDM_VCSIM_BIN || path.join(REPO_ROOT, '.hdm-lab', 'bin', 'hdm-vcsim');
export const LAB_USERNAME = 'administrator@vsphere.local';
export const LAB_PASSWORD = 'HdmLab!2026';

export interface VcsimSite {
  url: string;
  thumbprint: string;
  username: string;
  password: string;
  dataDir: string;
  stop(): Promise<void>;
}

function buildIfMissing(): void {
  if (fs.existsSync(VCSIM_BIN)) return;
  const src = path.join(REPO_ROOT, 'test', 'lab', 'vcsim');
  execFileSync('go', ['build', '-o', VCSIM_BIN, '.'], {
    cwd: src,
    env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/**
 * Starts one lab site (test/lab/vcsim) on a free loopback port and resolves once it printed its
 * ready line. `stop()` sends SIGTERM and removes a data dir this function created.
 */
export async function startVcsim(opts: { site: 'prem' | 'cloud'; dataDir?: string; timeoutMs?: number }): Promise<VcsimSite> {
  buildIfMissing();
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `hdm-vcsim-${opts.site}-`));
  const child: ChildProcess = spawn(VCSIM_BIN, [
    '-site', opts.site, '-listen', '127.0.0.1:0', '-username', LAB_USERNAME, '-password', LAB_PASSWORD, '-data-dir', dataDir,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const ready = await new Promise<{ url: string; thumbprint: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hdm-vcsim not ready after ${opts.timeoutMs ?? 30000} ms: ${stderr}`)),
        opts.timeoutMs ?? 30000);
      const lines = readline.createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        try {
          const msg = JSON.parse(line) as { event?: string; url?: string; thumbprint?: string };
          if (msg.event === 'ready' && msg.url && msg.thumbprint) {
            clearTimeout(timer);
            resolve({ url: msg.url, thumbprint: msg.thumbprint });
          }
        } catch {
          // not a JSON line: ignore
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`hdm-vcsim exited with ${code} before ready: ${stderr}`));
      });
      child.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
    return { ...ready, username: LAB_USERNAME, password: LAB_PASSWORD, dataDir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

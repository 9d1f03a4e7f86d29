import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LabConfig, REPO_ROOT } from './lab-config';
import { ManagedProcess } from './managed-process';
import { vcenterCertificate } from './lab-pki';

export interface VcenterInfo {
  site: 'prem' | 'cloud';
  url: string;
  thumbprint: string;
  username: string;
  password: string;
}

export const VCSIM_BINARY = join(REPO_ROOT, '.hdm-lab/bin/hdm-vcsim');

const vcenterDataDir = (cfg: LabConfig, site: 'prem' | 'cloud'): string => join(cfg.labDir, `${site}-vcenter`);

/** Where the simulator keeps a site's datastore (named `<site>-ds` by the harness): the flat VMDKs of its VMs. */
export const datastoreDir = (cfg: LabConfig, site: 'prem' | 'cloud'): string => join(vcenterDataDir(cfg, site), `${site}-ds`);

/** Starts the strict simulator harness (test/lab/vcsim) for one site inside its namespace. */
export async function startVcenter(
  cfg: LabConfig,
  site: 'prem' | 'cloud',
  namespace: string,
  ip: string,
): Promise<{ process: ManagedProcess<VcenterInfo>; info: VcenterInfo }> {
  if (!existsSync(VCSIM_BINARY)) {
    throw new Error(`simulator binary ${VCSIM_BINARY} is missing: run npm run build`);
  }
  const cert = vcenterCertificate(cfg.labDir, site, ip);
  const proc = new ManagedProcess<VcenterInfo>({
    name: `${site} vCenter`,
    command: 'ip',
    args: [
      'netns', 'exec', namespace, VCSIM_BINARY,
      '-site', site,
      '-listen', `${ip}:443`,
      '-username', cfg.username,
      '-password', cfg.password,
      '-data-dir', vcenterDataDir(cfg, site),
      '-disk-mib', String(cfg.diskMiB),
      '-cert', cert.certFile,
      '-key', cert.keyFile,
    ],
    logFile: join(cfg.labDir, 'logs', `${site}-vcenter.log`),
    readyTimeoutMs: 60_000,
    readyLine: (line) => {
      if (!line.startsWith('{')) return undefined;
      try {
        const msg = JSON.parse(line) as { event?: string; url?: string; thumbprint?: string };
        if (msg.event !== 'ready' || !msg.url || !msg.thumbprint) return undefined;
        return { site, url: msg.url, thumbprint: msg.thumbprint, username: cfg.username, password: cfg.password };
      } catch {
        return undefined;
      }
    },
  });
  const info = await proc.start();
  return { process: proc, info };
}

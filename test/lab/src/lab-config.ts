import { resolve } from 'node:path';

/**
 * Names and addresses of one lab. Each lab owns a /22 of 10.99.0.0/16
 * (slot k → 10.99.4k.0/22) so a test lab can run beside `npm start`.
 */
export interface LabConfig {
  /** Prefix of namespaces and links (≤ 6 chars: Linux interface names are ≤ 15). */
  name: string;
  slot: number;
  labDir: string;
  /** WAN rate in Mbit/s; 0 = unshaped. */
  wanMbit: number;
  pluginPort: number;
  clientPort: number;
  username: string;
  password: string;
  /** Size of the big powered-off VM's disk in the prem vCenter. */
  diskMiB: number;
  extensionKey: string;
}

export interface LabAddresses {
  range: string;
  premNs: string;
  cloudNs: string;
  rootLink: string;
  rootPeer: string;
  wanPrem: string;
  wanCloud: string;
  rootIp: string;
  premIp: string;
  premWanIp: string;
  cloudIp: string;
  rootSubnet: string;
  wanSubnet: string;
}

export const REPO_ROOT = resolve(__dirname, '../../..');

export function defaultLabConfig(env: NodeJS.ProcessEnv = process.env): LabConfig {
  const num = (name: string, def: number) => {
    const v = env[name];
    if (v === undefined || v === '') return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}="${v}" must be a non-negative number`);
    return n;
  };
  return {
    name: env.HDM_LAB_NAME ?? 'hdm',
    slot: num('HDM_LAB_SLOT', 0),
    labDir: resolve(env.HDM_LAB_DIR ?? resolve(REPO_ROOT, '.hdm-lab')),
    wanMbit: num('HDM_LAB_WAN_MBIT', 1000),
    pluginPort: num('HDM_LAB_PLUGIN_PORT', 8443),
    clientPort: num('HDM_LAB_CLIENT_PORT', 9443),
    username: 'administrator@vsphere.local',
    password: 'HdmLab!2026',
    diskMiB: num('HDM_LAB_DISK_MIB', 256),
    extensionKey: env.HDM_EXTENSION_KEY ?? 'com.hdm.plugin',
  };
}

export function labAddresses(cfg: LabConfig): LabAddresses {
  if (!/^[a-z][a-z0-9]{0,5}$/.test(cfg.name)) throw new Error(`lab name "${cfg.name}" must be 1-6 lowercase letters/digits`);
  if (!Number.isInteger(cfg.slot) || cfg.slot < 0 || cfg.slot > 63) throw new Error(`lab slot ${cfg.slot} must be 0..63`);
  const base = cfg.slot * 4;
  return {
    range: `10.99.${base}.0/22`,
    premNs: `${cfg.name}-prem`,
    cloudNs: `${cfg.name}-cloud`,
    rootLink: `${cfg.name}-r0`,
    rootPeer: `${cfg.name}-r1`,
    wanPrem: `${cfg.name}-wp`,
    wanCloud: `${cfg.name}-wc`,
    rootIp: `10.99.${base}.1`,
    premIp: `10.99.${base}.2`,
    premWanIp: `10.99.${base + 1}.1`,
    cloudIp: `10.99.${base + 1}.2`,
    rootSubnet: `10.99.${base}.0/30`,
    wanSubnet: `10.99.${base + 1}.0/30`,
  };
}

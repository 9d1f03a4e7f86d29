import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';

export const HDM_CONFIG = Symbol('HDM_CONFIG');

/** The prem vCenter the plugin registers in and acts on. */
export interface VcenterEndpoint {
  /** The /sdk URL, e.g. https://vc.example.com/sdk */
  url: string;
  username: string;
  password: string;
  /** SHA-1 thumbprint pin of the vCenter certificate (colon hex). */
  thumbprint?: string;
}

export interface HdmConfig {
  dataDir: string;
  listenHost: string;
  port: number;
  /** Base URL the vSphere Client reaches this server at; plugin.json lives below it. */
  publicUrl: string;
  certificateNames: string[];
  rotateCertificate: boolean;
  extensionKey: string;
  version: string;
  vcenter?: VcenterEndpoint;
  manifestFile: string;
  uiDir: string;
  /** postgres://… selects PostgreSQL; unset = SQLite file in dataDir. */
  databaseUrl?: string;
  /** Where appliance services run; see appliances/appliance-runtime.ts. */
  applianceRuntime?: string;
}

export class ConfigError extends Error {}

/** Reads HDM_* variables; every bad value is reported with the variable's name and the fix. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): HdmConfig {
  const repoRoot = resolve(__dirname, '../../../..');
  const port = Number(env.HDM_PORT ?? 443);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`HDM_PORT="${env.HDM_PORT}" is not a TCP port (1-65535)`);
  }
  const listenHost = env.HDM_LISTEN_HOST ?? '0.0.0.0';
  const publicUrl = (env.HDM_PUBLIC_URL ?? `https://${listenHost === '0.0.0.0' ? '127.0.0.1' : listenHost}:${port}`).replace(/\/+$/, '');
  let publicHost: string;
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'https:') throw new Error('not https');
    publicHost = u.hostname.replace(/^\[|\]$/g, '');
  } catch {
    throw new ConfigError(`HDM_PUBLIC_URL="${publicUrl}" must be an https:// URL, e.g. https://hdm.example.com`);
  }
  const names = new Set<string>([publicHost, 'localhost', '127.0.0.1']);
  for (const n of (env.HDM_CERT_NAMES ?? '').split(',').map((s) => s.trim()).filter(Boolean)) names.add(n);
  for (const n of names) {
    if (!isIP(n) && !/^[a-zA-Z0-9.-]+$/.test(n)) throw new ConfigError(`HDM_CERT_NAMES: "${n}" is neither an IP address nor a DNS name`);
  }

  let vcenter: VcenterEndpoint | undefined;
  if (env.HDM_VC_URL) {
    if (!env.HDM_VC_USERNAME || !env.HDM_VC_PASSWORD) {
      throw new ConfigError('HDM_VC_URL is set but HDM_VC_USERNAME or HDM_VC_PASSWORD is missing');
    }
    try {
      new URL(env.HDM_VC_URL);
    } catch {
      throw new ConfigError(`HDM_VC_URL="${env.HDM_VC_URL}" is not a URL; expected https://<vcenter>/sdk`);
    }
    if (env.HDM_VC_THUMBPRINT && !/^([0-9A-Fa-f]{2}:){19}[0-9A-Fa-f]{2}$/.test(env.HDM_VC_THUMBPRINT)) {
      throw new ConfigError('HDM_VC_THUMBPRINT must be a SHA-1 thumbprint: 20 colon-separated hex bytes');
    }
    vcenter = {
      url: env.HDM_VC_URL,
      username: env.HDM_VC_USERNAME,
      password: env.HDM_VC_PASSWORD,
      thumbprint: env.HDM_VC_THUMBPRINT?.toUpperCase(),
    };
  }

  const manifestFile = resolve(env.HDM_MANIFEST ?? resolve(repoRoot, 'plugin.json'));
  if (!existsSync(manifestFile)) throw new ConfigError(`plugin manifest not found at ${manifestFile} (HDM_MANIFEST)`);
  const extensionKey = env.HDM_EXTENSION_KEY ?? 'com.hdm.plugin';
  if (!/^[a-zA-Z0-9._-]+$/.test(extensionKey)) throw new ConfigError(`HDM_EXTENSION_KEY="${extensionKey}" may only hold letters, digits, . _ -`);

  return {
    dataDir: resolve(env.HDM_DATA_DIR ?? resolve(repoRoot, '.hdm-data')),
    listenHost,
    port,
    publicUrl,
    certificateNames: [...names],
    rotateCertificate: env.HDM_ROTATE_CERT === '1',
    extensionKey,
    version: env.HDM_VERSION ?? '0.1.0',
    vcenter,
    manifestFile,
    uiDir: resolve(env.HDM_UI_DIR ?? resolve(repoRoot, 'plugin-ui/dist')),
    databaseUrl: parseDatabaseUrl(env.HDM_DB_URL),
    applianceRuntime: env.HDM_APPLIANCE_RUNTIME || undefined,
  };
}

function parseDatabaseUrl(v: string | undefined): string | undefined {
  if (!v) return undefined;
  if (!/^postgres(ql)?:\/\//.test(v)) throw new ConfigError(`HDM_DB_URL must be a postgres:// URL (unset = embedded SQLite)`);
  return v;
}

import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HDM_CONFIG, HdmConfig } from '../config/hdm-config';
import { PkiService } from '../pki/pki.service';
import { ApplianceRole, ensureIdentity, readIdentity } from './appliance-identity';
import { ApplianceRuntimeConfig, EsxiConfig, parseApplianceRuntime, SiteConfig } from './appliance-runtime';
import { ManagerClient } from './manager-client';

export interface PremManager {
  client: ManagerClient;
}

export interface CloudManager {
  client: ManagerClient;
  /** Where prem-manager connects to send disk data (over the WAN). */
  data: { host: string; port: number };
}

/** The Prem ESXi Manager of the hosts: prem-manager reads VMDKs through it. */
export interface EsxiManager {
  client: ManagerClient;
  control: { host: string; port: number };
  data: { host: string; port: number };
}

type ServiceRole = Exclude<ApplianceRole, 'plugin-server'>;

const START_TIMEOUT_MS = 20_000;

/**
 * Keeps the appliance services up and hands out clients for them. A service that
 * already answers (e.g. it outlived a crashed plugin server) is adopted, not restarted,
 * so its running transfers survive.
 */
@Injectable()
export class AppliancesService {
  private readonly logger = new Logger(AppliancesService.name);
  private readonly runtime?: ApplianceRuntimeConfig;
  private readonly pending = new Map<string, Promise<ManagerClient>>();

  constructor(
    @Inject(HDM_CONFIG) private readonly config: HdmConfig,
    private readonly pki: PkiService,
  ) {
    this.runtime = parseApplianceRuntime(config.applianceRuntime);
  }

  private get baseDir(): string {
    return join(this.config.dataDir, 'appliances');
  }

  private serverIdentity() {
    return readIdentity(ensureIdentity(this.pki.ca, join(this.baseDir, 'plugin-server'), 'plugin-server', ['localhost']));
  }

  private requireRuntime(): ApplianceRuntimeConfig {
    if (!this.runtime) throw new ServiceUnavailableException('no appliances are deployed (HDM_APPLIANCE_RUNTIME unset)');
    return this.runtime;
  }

  async premManager(): Promise<PremManager> {
    const rt = this.requireRuntime();
    return { client: await this.ensure('prem-manager', rt.prem) };
  }

  async cloudManager(): Promise<CloudManager> {
    const rt = this.requireRuntime();
    return { client: await this.ensure('cloud-manager', rt.cloud), data: { host: rt.cloud.ip, port: rt.cloud.dataPort } };
  }

  /** Undefined where no ESXi Manager is deployed: exports then read over NFC. */
  async esxiManager(): Promise<EsxiManager | undefined> {
    const rt = this.requireRuntime();
    const esxi = rt.prem.esxi;
    if (!esxi) return undefined;
    const site = { ...rt.prem, controlPort: esxi.controlPort };
    return {
      client: await this.ensure('esxi-manager', site, esxiArgs(rt.prem.ip, esxi)),
      control: { host: rt.prem.ip, port: esxi.controlPort },
      data: { host: rt.prem.ip, port: esxi.dataPort },
    };
  }

  private ensure(role: ServiceRole, site: SiteConfig, extraArgs: string[] = []): Promise<ManagerClient> {
    let p = this.pending.get(role);
    if (!p) {
      p = this.start(role, site, extraArgs).finally(() => this.pending.delete(role));
      this.pending.set(role, p);
    }
    return p;
  }

  private async start(role: ServiceRole, site: SiteConfig, extraArgs: string[]): Promise<ManagerClient> {
    const client = new ManagerClient({ role, host: site.ip, port: site.controlPort }, this.serverIdentity());
    if (await this.healthy(client)) return client;

    const dir = join(this.baseDir, role);
    const files = ensureIdentity(this.pki.ca, dir, role, [site.ip, 'localhost']);
    const main = resolve(this.config.manifestFile, '..', 'appliances', role, 'dist', 'src', 'main.js');
    if (!existsSync(main)) throw new ServiceUnavailableException(`${role} is not built (${main} missing): run npm run build`);
    const args = [
      main,
      '--listen', `${site.ip}:${site.controlPort}`,
      '--cert', files.certFile,
      '--key', files.keyFile,
      '--ca', files.caFile,
      '--key-passphrase-file', files.passphraseFile,
      '--state-dir', join(dir, 'state'),
      ...(role === 'cloud-manager' ? ['--data-listen', `${site.ip}:${site.dataPort}`] : []),
      ...extraArgs,
    ];
    const [cmd, argv] = site.netns ? ['ip', ['netns', 'exec', site.netns, process.execPath, ...args]] : [process.execPath, args];
    mkdirSync(dir, { recursive: true });
    const log = openSync(join(dir, 'service.log'), 'a');
    // Detached: the service outlives a crash of this server and keeps its transfers going.
    const child = spawn(cmd, argv as string[], { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    this.logger.log(`started ${role} (pid ${child.pid}) on ${site.ip}:${site.controlPort}${site.netns ? ` in ${site.netns}` : ''}`);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      if (await this.healthy(client)) return client;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new ServiceUnavailableException(`${role} did not come up on ${site.ip}:${site.controlPort}; see ${join(dir, 'service.log')}`);
  }

  private async healthy(client: ManagerClient): Promise<boolean> {
    try {
      await client.get('/v1/health');
      return true;
    } catch {
      return false;
    }
  }
}

function esxiArgs(ip: string, esxi: EsxiConfig): string[] {
  return [
    '--data-listen', `${ip}:${esxi.dataPort}`,
    '--vmdk-read-listen', `${ip}:${esxi.vmdkReadPort}`,
    '--vmdk-write-listen', `${ip}:${esxi.vmdkWritePort}`,
    ...Object.entries(esxi.datastores).flatMap(([name, dir]) => ['--datastore', `${name}=${dir}`]),
  ];
}

import { Server } from 'node:http';
import { createServer } from 'node:net';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabConfig } from './lab-config';
import { LabLock } from './lab-lock';
import { LabEnvironmentError, LabNetwork } from './lab-network';
import { ManagedProcess } from './managed-process';
import { PluginServerInfo, startPluginServer } from './plugin-server-process';
import { startClientHost } from './client-host';
import { HdmApi } from './hdm-api';
import { startVcenter, VcenterInfo } from './vcenter-process';

/** What other programs read from `<labDir>/lab.json`. */
export interface LabJson {
  prem: { url: string; username: string; password: string; thumbprint: string };
  cloud: { url: string; username: string; password: string; thumbprint: string };
  plugin: { url: string; extensionKey: string; manifestUrl: string; thumbprint: string };
  client: { url: string };
  wan: { mbit: number; premNamespace: string; cloudNamespace: string; premDevice: string };
}

function portFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(new LabEnvironmentError(err.code === 'EADDRINUSE' ? `port 127.0.0.1:${port} is already in use by another process: stop it, or choose another port (HDM_LAB_PLUGIN_PORT / HDM_LAB_CLIENT_PORT)` : err.message)),
    );
    s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
  });
}

/**
 * One lab: two sites, two vCenters, the plugin server and the client host page.
 * start() undoes what it did if any step fails; stop() removes everything.
 */
export class Lab {
  readonly network: LabNetwork;
  private readonly lock: LabLock;
  private processes: ManagedProcess[] = [];
  private pluginProcess?: ManagedProcess;
  private cloudProcess?: ManagedProcess;
  private clientHost?: Server;
  /** Set once up() may have created something: only then does stop() tear the network down. */
  private networkOwned = false;
  prem?: VcenterInfo;
  cloud?: VcenterInfo;
  plugin?: PluginServerInfo;
  json?: LabJson;

  constructor(readonly cfg: LabConfig, private readonly log: (msg: string) => void = () => {}) {
    this.network = new LabNetwork(cfg);
    this.lock = new LabLock(cfg.labDir);
  }

  get labJsonFile(): string {
    return join(this.cfg.labDir, 'lab.json');
  }

  async start(): Promise<LabJson> {
    const stale = this.lock.acquire();
    try {
      if (stale) {
        this.log(`found the lock of a run that ended without cleaning up (pid ${stale.pid}); removing what it left`);
        LabLock.killOrphans(stale);
        await this.network.down();
      }
      rmSync(this.labJsonFile, { force: true });
      await portFree(this.cfg.pluginPort);
      await portFree(this.cfg.clientPort);
      this.log(`creating sites ${this.network.addr.premNs} and ${this.network.addr.cloudNs} (WAN ${this.cfg.wanMbit || 'unshaped'} Mbit/s)`);
      await this.network.assertClean();
      this.networkOwned = true;
      await this.network.up();
      const a = this.network.addr;
      const [prem, cloud] = await Promise.all([
        startVcenter(this.cfg, 'prem', a.premNs, a.premIp),
        startVcenter(this.cfg, 'cloud', a.cloudNs, a.cloudIp),
      ]);
      this.processes.push(prem.process, cloud.process);
      this.cloudProcess = cloud.process;
      this.prem = prem.info;
      this.cloud = cloud.info;
      this.recordChildren();
      this.log(`prem vCenter ${prem.info.url}; cloud vCenter ${cloud.info.url}`);
      await this.startPlugin();
      await this.api().ensureCloud('cloud', this.cloud);
      this.log('cloud "cloud" configured through the HDM API');
      this.clientHost = await startClientHost(this.cfg.clientPort, () => this.json);
      this.json = this.describe();
      mkdirSync(this.cfg.labDir, { recursive: true });
      writeFileSync(this.labJsonFile, JSON.stringify(this.json, null, 2) + '\n');
      return this.json;
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  /** (Re)starts the plugin server; extraEnv e.g. { HDM_ROTATE_CERT: '1' }. */
  async startPlugin(extraEnv: NodeJS.ProcessEnv = {}): Promise<PluginServerInfo> {
    if (!this.prem) throw new Error('the prem vCenter is not running');
    const a = this.network.addr;
    const plugin = await startPluginServer(this.cfg, this.prem, { premNs: a.premNs, premIp: a.premIp, cloudNs: a.cloudNs, cloudIp: a.cloudIp }, extraEnv);
    this.pluginProcess = plugin.process;
    this.processes.push(plugin.process);
    this.plugin = plugin.info;
    this.recordChildren();
    if (this.json) this.json = this.describe();
    return plugin.info;
  }

  /**
   * Restarts the cloud vCenter (its inventory starts afresh); with newCertificate it
   * presents a different certificate, as after a certificate replacement.
   */
  async restartCloudVcenter(opts: { newCertificate?: boolean } = {}): Promise<VcenterInfo> {
    const old = this.processes.find((p) => p === this.cloudProcess);
    if (old) await old.stop();
    this.processes = this.processes.filter((p) => p !== old);
    if (opts.newCertificate) {
      for (const f of ['cloud-vcenter.crt.pem', 'cloud-vcenter.key.pem']) rmSync(join(this.cfg.labDir, 'vmca', f), { force: true });
    }
    const a = this.network.addr;
    const cloud = await startVcenter(this.cfg, 'cloud', a.cloudNs, a.cloudIp);
    this.cloudProcess = cloud.process;
    this.processes.push(cloud.process);
    this.cloud = cloud.info;
    this.recordChildren();
    if (this.json) this.json = this.describe();
    return cloud.info;
  }

  /** The HDM REST API as the lab's administrator. */
  api(): HdmApi {
    if (!this.plugin || !this.prem) throw new Error('the plugin server is not running');
    return new HdmApi(this.plugin.url, this.plugin.thumbprint, this.prem);
  }

  /** kill -9 of the plugin server (crash test); the appliance services it started keep running. */
  async killPlugin(): Promise<void> {
    const p = this.pluginProcess;
    if (!p?.pid) return;
    process.kill(p.pid, 'SIGKILL');
    await p.stop();
    this.processes = this.processes.filter((x) => x !== p);
    this.pluginProcess = undefined;
  }

  async stopPlugin(): Promise<void> {
    const p = this.pluginProcess;
    if (!p) return;
    await p.stop();
    this.processes = this.processes.filter((x) => x !== p);
    this.pluginProcess = undefined;
  }

  private recordChildren(): void {
    this.lock.recordChildren(this.processes.map((p) => p.pid).filter((p): p is number => p !== undefined));
  }

  private describe(): LabJson {
    const a = this.network.addr;
    return {
      prem: { url: this.prem!.url, username: this.prem!.username, password: this.prem!.password, thumbprint: this.prem!.thumbprint },
      cloud: { url: this.cloud!.url, username: this.cloud!.username, password: this.cloud!.password, thumbprint: this.cloud!.thumbprint },
      plugin: { url: this.plugin!.url, extensionKey: this.plugin!.extensionKey, manifestUrl: this.plugin!.manifestUrl, thumbprint: this.plugin!.thumbprint },
      client: { url: `http://127.0.0.1:${this.cfg.clientPort}/` },
      wan: { mbit: this.cfg.wanMbit, premNamespace: a.premNs, cloudNamespace: a.cloudNs, premDevice: a.wanPrem },
    };
  }

  async stop(): Promise<void> {
    const server = this.clientHost;
    this.clientHost = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    for (const p of [...this.processes].reverse()) await p.stop().catch(() => undefined);
    this.processes = [];
    if (this.networkOwned) await this.network.down();
    this.networkOwned = false;
    rmSync(this.labJsonFile, { force: true });
    this.lock.release();
  }

  /** Cleans up a lab that is not running in this process (the `--cleanup` command). */
  static async cleanup(cfg: LabConfig): Promise<string[]> {
    const lock = new LabLock(cfg.labDir);
    const held = lock.read();
    if (held && held.pid > 0) {
      try {
        process.kill(held.pid, 0);
        throw new LabEnvironmentError(`the lab is running (pid ${held.pid}): stop it with Ctrl-C or kill ${held.pid}`);
      } catch (err) {
        if (err instanceof LabEnvironmentError) throw err;
      }
      LabLock.killOrphans(held);
    }
    const network = new LabNetwork(cfg);
    const left = await network.leftovers();
    await network.down();
    rmSync(lock.file, { force: true });
    rmSync(join(cfg.labDir, 'lab.json'), { force: true });
    return left;
  }
}

import { Logger } from '@nestjs/common';
import type { Repository } from 'typeorm';
import type { CloudManager, EsxiManager, PremManager } from '../appliances/appliances.service';
import { ManagerError } from '../appliances/manager-client';
import {
  AuthorizationManager,
  Datacenter,
  HttpNfcLease,
  HttpNfcLeaseInfo,
  Inventory,
  ManagedObjectReference,
  OvfManager,
  ResourcePool,
  VimClient,
  VimFault,
  VirtualMachine,
  VmDetails,
  waitForTask,
} from '../vsphere';
import { MigrationJobEntity } from './migration-job.entity';
import { buildOvfDescriptor, diskFileName } from './ovf-descriptor';
import { VcenterReporter } from './vcenter-reporter';

/** Everything a cold migration talks to; built per job by the runner. */
export interface ColdMigrationContext {
  prem: VimClient;
  premThumbprint?: string;
  cloud: VimClient;
  cloudThumbprint: string;
  premManager: () => Promise<PremManager>;
  cloudManager: () => Promise<CloudManager>;
  /** The hosts' ESXi Manager, where one is deployed: disks are read through it, else over NFC. */
  esxiManager: () => Promise<EsxiManager | undefined>;
  repo: Repository<MigrationJobEntity>;
  extensionKey: string;
  signal: AbortSignal;
}

export class JobCancelled extends Error {
  constructor() {
    super('cancelled by the user');
  }
}

interface ManagerStatus {
  state: 'waiting' | 'running' | 'done' | 'failed' | 'cancelled';
  bytesDone: number;
  bytesTotal: number;
  rateBytesPerSec?: number;
  error?: string;
  disks: Array<{ key: string; size: number; bytesDone: number; state: string; sha256?: string; error?: string; via?: string }>;
}

const POLL_MS = 1_000;
const MAX_COPY_ATTEMPTS = 3;
const DISABLED_METHODS = ['PowerOnVM_Task'];

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/**
 * One cold migration, as a sequence of persisted phases:
 *   prepare  → vCenter task + event, source power-on disabled
 *   import   → CreateImportSpec + ImportVApp in the cloud (the cloud VM, upload URLs)
 *   export   → ExportVm on prem (download URLs)
 *   transfer → cloud-manager receives, prem-manager sends over the WAN (mTLS), SHA-256 per disk
 *   finalize → leases completed, source re-enabled, cloud VM powered on if asked
 * Each phase is recorded before it starts; a restarted server re-enters the
 * recorded phase (re-attaching to a transfer that is still running).
 */
export class ColdMigration {
  private readonly log: Logger;
  private readonly reporter: VcenterReporter;
  private readonly vmRef: ManagedObjectReference;

  constructor(
    private readonly job: MigrationJobEntity,
    private readonly ctx: ColdMigrationContext,
  ) {
    this.log = new Logger(`job ${job.id.slice(0, 8)}`);
    this.vmRef = { type: 'VirtualMachine', value: job.vm };
    this.reporter = new VcenterReporter(ctx.prem, ctx.extensionKey, { ref: this.vmRef, name: job.vmName });
  }

  private async save(patch: Partial<MigrationJobEntity>): Promise<void> {
    Object.assign(this.job, patch);
    await this.ctx.repo.save(this.job);
  }

  private async setPhase(phase: MigrationJobEntity['phase']): Promise<void> {
    this.log.log(`phase ${phase}`);
    await this.save({ phase });
  }

  private checkCancel(): void {
    if (this.ctx.signal.aborted) throw new JobCancelled();
  }

  async run(): Promise<void> {
    try {
      if (this.job.state === 'queued') await this.save({ state: 'running', phase: 'prepare' });
      const vm = await new VirtualMachine(this.ctx.prem, this.vmRef).config();
      if (this.job.phase === 'checks' || this.job.phase === 'prepare') await this.prepare();
      for (;;) {
        this.checkCancel();
        if (this.job.phase === 'prepare' || this.job.phase === 'import' || this.job.phase === 'export') {
          await this.setPhase('import');
        }
        if (this.job.phase === 'import') {
          await this.importToCloud(vm);
          await this.setPhase('export');
        }
        if (this.job.phase === 'export') {
          await this.exportFromPrem();
          await this.setPhase('transfer');
          await this.startTransfer();
        }
        if (this.job.phase === 'transfer') {
          const ok = await this.followTransfer();
          if (!ok) {
            await this.restartCopy('the copy failed');
            continue;
          }
          await this.setPhase('finalize');
        }
        break;
      }
      if (this.job.phase === 'finalize') await this.finalize();
      await this.save({ state: 'done', phase: 'finalize', finishedAt: new Date(), bytesDone: this.job.bytesTotal, error: null });
      await this.reporter.finishTask(this.job.record.vcTask, 'success');
      await this.reporter.event('migrationCompleted', { vm: this.job.vmName, cloud: this.job.cloud });
      this.log.log('done');
    } catch (err) {
      const cancelled = err instanceof JobCancelled || this.ctx.signal.aborted;
      const message = cancelled ? 'cancelled by the user' : describe(err);
      this.log.warn(`${cancelled ? 'cancelled' : 'failed'}: ${message}`);
      await this.cleanup();
      await this.save({ state: cancelled ? 'cancelled' : 'failed', phase: 'cleanup', error: message, finishedAt: new Date(), rateBytesPerSec: 0 });
      await this.reporter.finishTask(this.job.record.vcTask, 'error', message, cancelled);
      await this.reporter.event(cancelled ? 'migrationCancelled' : 'migrationFailed', { vm: this.job.vmName, cloud: this.job.cloud, reason: message });
    }
  }

  private async prepare(): Promise<void> {
    await this.setPhase('prepare');
    const record = this.job.record;
    if (!record.vcTask) {
      record.vcTask = await this.reporter.createTask('migrateCold', this.job.requestedBy);
      await this.save({ record });
      await this.reporter.event('migrationStarted', { vm: this.job.vmName, cloud: this.job.cloud });
    }
    if (!record.methodsDisabled) {
      await new AuthorizationManager(this.ctx.prem).disableMethods([this.vmRef], DISABLED_METHODS, 'com.hdm.migration.inProgress', this.ctx.extensionKey);
      record.methodsDisabled = true;
      await this.save({ record });
    }
  }

  private async importToCloud(vm: VmDetails): Promise<void> {
    this.checkCancel();
    const req = this.job.request;
    const cloud = this.ctx.cloud;
    const inv = new Inventory(cloud);
    const [pools, datastores, networks, clusters, folders] = await Promise.all([inv.resourcePools(), inv.datastores(), inv.networks(), inv.clusters(), inv.vmFolders()]);
    const cluster = clusters.find((c) => c.moid === req.placement.cluster);
    if (!cluster) throw new Error(`cluster ${req.placement.cluster} is not in cloud "${this.job.cloud}"`);
    const pool = pools.find((p) => p.moid === (req.placement.resourcePool ?? cluster.resourcePool));
    if (!pool) throw new Error(`resource pool ${req.placement.resourcePool ?? '(cluster root)'} is not in cloud "${this.job.cloud}"`);
    const ds = datastores.find((d) => d.moid === req.placement.datastore);
    if (!ds) throw new Error(`datastore ${req.placement.datastore} is not in cloud "${this.job.cloud}"`);
    const folder = req.placement.folder ? folders.find((f) => f.moid === req.placement.folder)?.ref : (await Datacenter.find(cloud, cluster.datacenter))?.info.vmFolder;
    const networkMapping = Object.entries(req.networkMap).map(([name, target]) => {
      const net = networks.find((n) => n.moid === target);
      if (!net) throw new Error(`network ${target} is not in cloud "${this.job.cloud}"`);
      return { name, network: net.ref };
    });
    const spec = await new OvfManager(cloud).createImportSpec(buildOvfDescriptor(vm, req.targetName), pool.ref, ds.ref, {
      entityName: req.targetName,
      networkMapping,
      diskProvisioning: 'thin',
    });
    const lease = await new ResourcePool(cloud, pool.ref).importVApp(spec.importSpec, folder);
    const record = this.job.record;
    record.importLease = lease.ref.value;
    await this.save({ record });
    const info = await lease.waitReady({ timeoutMs: 120_000, signal: this.ctx.signal });
    record.cloudVm = info.entity.value;
    record.disks = vm.disks.map((d, i) => {
      const item = spec.fileItem.find((f) => f.path === diskFileName(req.targetName, i));
      const url = (info.deviceUrl ?? []).find((u) => item && u.importKey === item.deviceId);
      if (!url) throw new Error(`the cloud import lease has no upload URL for disk ${i + 1} (${d.label})`);
      return { key: `disk-${i}`, size: d.capacityInBytes, bytesDone: 0, uploadUrl: lease.resolveUrl(url.url), datastorePath: d.fileName };
    });
    await this.save({ record, bytesTotal: vm.disks.reduce((s, d) => s + d.capacityInBytes, 0), bytesDone: 0 });
  }

  private async exportFromPrem(): Promise<void> {
    this.checkCancel();
    const lease = await new VirtualMachine(this.ctx.prem, this.vmRef).exportVm();
    const record = this.job.record;
    record.exportLease = lease.ref.value;
    await this.save({ record });
    const info: HttpNfcLeaseInfo = await lease.waitReady({ timeoutMs: 120_000, signal: this.ctx.signal });
    const diskUrls = (info.deviceUrl ?? []).filter((u) => u.disk);
    const disks = record.disks ?? [];
    if (diskUrls.length !== disks.length) throw new Error(`the export lease lists ${diskUrls.length} disks, the VM has ${disks.length}`);
    disks.forEach((d, i) => (d.sourceUrl = lease.resolveUrl(diskUrls[i]!.url)));
    await this.save({ record });
  }

  private importLease(): HttpNfcLease | undefined {
    const v = this.job.record.importLease;
    return v ? new HttpNfcLease(this.ctx.cloud, { type: 'HttpNfcLease', value: v }) : undefined;
  }

  private exportLease(): HttpNfcLease | undefined {
    const v = this.job.record.exportLease;
    return v ? new HttpNfcLease(this.ctx.prem, { type: 'HttpNfcLease', value: v }) : undefined;
  }

  private async startTransfer(): Promise<void> {
    const disks = this.job.record.disks ?? [];
    const cloudManager = await this.ctx.cloudManager();
    const premManager = await this.ctx.premManager();
    const esxi = await this.ctx.esxiManager().catch((e: unknown) => {
      this.log.warn(`ESXi Manager unavailable (${describe(e)}): the disks are read over NFC`);
      return undefined;
    });
    await cloudManager.client.post('/v1/imports', {
      id: this.job.id,
      disks: disks.map((d) => ({ key: d.key, size: d.size, uploadUrl: d.uploadUrl, cookie: this.ctx.cloud.sessionCookie, thumbprint: this.ctx.cloudThumbprint })),
    });
    await premManager.client.post('/v1/exports', {
      id: this.job.id,
      disks: disks.map((d) => ({
        key: d.key,
        size: d.size,
        // The NFC URL stays as the fallback should the ESXi Manager be unreachable.
        sourceUrl: d.sourceUrl,
        esxi: esxi && d.datastorePath ? { control: esxi.control, data: esxi.data, path: d.datastorePath } : undefined,
        cookie: this.ctx.prem.sessionCookie,
        thumbprint: this.ctx.premThumbprint,
      })),
      cloud: { host: cloudManager.data.host, port: cloudManager.data.port, expectedRole: 'cloud-manager' },
    });
  }

  /** Polls both managers until the disks are in (true) or the copy failed for good (false). */
  private async followTransfer(): Promise<boolean> {
    const premManager = await this.ctx.premManager();
    const cloudManager = await this.ctx.cloudManager();
    let exp = await premManager.client.get<ManagerStatus>(`/v1/exports/${this.job.id}`).catch((e: unknown) => notFound(e));
    if (!exp) {
      // The server restarted before the transfer was handed over: hand it over now.
      await this.startTransfer();
    }
    let pct = 0;
    const stopKeepAlive = [this.importLease(), this.exportLease()].map((l) => l?.keepAlive(() => pct, 10_000, (e) => this.log.warn(`lease keep-alive: ${describe(e)}`)));
    let reposts = 0;
    try {
      for (;;) {
        if (this.ctx.signal.aborted) throw new JobCancelled();
        if (await this.reporter.cancelRequested(this.job.record.vcTask)) {
          await this.save({ cancelRequested: true });
          throw new JobCancelled();
        }
        exp = await premManager.client.get<ManagerStatus>(`/v1/exports/${this.job.id}`);
        const total = this.job.bytesTotal || exp.bytesTotal;
        pct = total ? Math.floor((exp.bytesDone / total) * 100) : 0;
        for (const d of this.job.record.disks ?? []) {
          const x = exp.disks.find((e) => e.key === d.key);
          if (x) Object.assign(d, { bytesDone: x.bytesDone, via: x.via ?? d.via });
        }
        await this.save({ record: this.job.record, bytesDone: exp.bytesDone, rateBytesPerSec: exp.rateBytesPerSec ?? 0 });
        await this.reporter.progress(this.job.record.vcTask, exp.bytesDone, total);
        if (exp.state === 'done') break;
        if (exp.state === 'failed' || exp.state === 'cancelled') {
          // An interrupted export (prem-manager restarted) or a retryable error: post it again with the same URLs.
          if (reposts++ < MAX_COPY_ATTEMPTS) {
            this.log.warn(`export ${exp.state}: ${exp.error ?? ''}; posting it again`);
            await this.startTransfer().catch((e) => this.log.warn(`re-post: ${describe(e)}`));
            continue;
          }
          this.log.warn(`export failed for good: ${exp.error ?? ''}`);
          return false;
        }
        await sleep(POLL_MS, this.ctx.signal);
      }
      const imp = await cloudManager.client.get<ManagerStatus>(`/v1/imports/${this.job.id}`);
      const record = this.job.record;
      for (const d of record.disks ?? []) {
        const sent = exp.disks.find((x) => x.key === d.key)?.sha256;
        const got = imp.disks.find((x) => x.key === d.key)?.sha256;
        if (!sent || sent !== got) throw new Error(`disk ${d.key}: SHA-256 sent ${sent ?? '?'} ≠ received ${got ?? '?'}`);
        d.sha256 = sent;
        d.bytesDone = d.size;
      }
      await this.save({ record, bytesDone: this.job.bytesTotal });
      return true;
    } finally {
      for (const stop of stopKeepAlive) stop?.();
    }
  }

  /** Throws the copy away (leases, cloud VM) and goes back to the import phase, a bounded number of times. */
  private async restartCopy(reason: string): Promise<void> {
    const record = this.job.record;
    record.attempts = (record.attempts ?? 0) + 1;
    if (record.attempts > MAX_COPY_ATTEMPTS) throw new Error(`${reason}; gave up after ${MAX_COPY_ATTEMPTS} attempts`);
    this.log.warn(`${reason}: starting the copy again (attempt ${record.attempts + 1})`);
    await this.discardCopy();
    await this.save({ record, phase: 'import', bytesDone: 0 });
  }

  private async discardCopy(): Promise<void> {
    const record = this.job.record;
    const pm = await this.ctx.premManager().catch(() => undefined);
    const cm = await this.ctx.cloudManager().catch(() => undefined);
    await pm?.client.delete(`/v1/exports/${this.job.id}`).catch(() => undefined);
    await cm?.client.delete(`/v1/imports/${this.job.id}`).catch(() => undefined);
    await this.exportLease()?.abort().catch(() => undefined);
    await this.importLease()?.abort().catch(() => undefined);
    if (record.cloudVm) {
      await destroyVm(this.ctx.cloud, record.cloudVm).catch((e) => this.log.warn(`could not remove cloud VM ${record.cloudVm}: ${describe(e)}`));
    }
    record.importLease = undefined;
    record.exportLease = undefined;
    record.cloudVm = undefined;
  }

  private async finalize(): Promise<void> {
    await this.importLease()?.progress(100).catch(() => undefined);
    await this.importLease()?.complete();
    await this.exportLease()?.complete().catch((e) => this.log.warn(`export lease complete: ${describe(e)}`));
    const record = this.job.record;
    record.importLease = undefined;
    record.exportLease = undefined;
    await this.save({ record });
    await this.enableSource();
    if (this.job.request.powerOn && record.cloudVm) {
      await new VirtualMachine(this.ctx.cloud, { type: 'VirtualMachine', value: record.cloudVm }).powerOnAndWait();
    }
  }

  private async enableSource(): Promise<void> {
    const record = this.job.record;
    if (!record.methodsDisabled) return;
    await new AuthorizationManager(this.ctx.prem).enableMethods([this.vmRef], DISABLED_METHODS, this.ctx.extensionKey);
    record.methodsDisabled = false;
    await this.save({ record });
  }

  /** Undo after failure or cancel: nothing half-created stays in the cloud; the source VM can power on again. */
  private async cleanup(): Promise<void> {
    try {
      await this.discardCopy();
    } catch (e) {
      this.log.warn(`cleanup: ${describe(e)}`);
    }
    await this.enableSource().catch((e) => this.log.warn(`could not re-enable power-on of ${this.job.vmName}: ${describe(e)}`));
  }
}

async function destroyVm(client: VimClient, moid: string): Promise<void> {
  const vm = new VirtualMachine(client, { type: 'VirtualMachine', value: moid });
  try {
    if ((await vm.powerState()) === 'poweredOn') await waitForTask(client, (await vm.powerOff()).ref);
    await waitForTask(client, (await vm.destroy()).ref);
  } catch (e) {
    if (VimFault.is(e, 'ManagedObjectNotFound')) return;
    throw e;
  }
}

function notFound(e: unknown): undefined {
  if (e instanceof ManagerError && e.status === 404) return undefined;
  throw e;
}

export function describe(err: unknown): string {
  if (err instanceof VimFault) return `${err.faultName}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

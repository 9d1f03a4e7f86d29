import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, In, Repository } from 'typeorm';
import { CloudsService } from '../clouds/clouds.service';
import { DATA_SOURCE } from '../database/database.module';
import { Inventory } from '../vsphere';
import { PremVcenterService } from '../vms/prem-vcenter.service';
import { CreateMigrationDto } from './dto/create-migration.dto';
import { MigrationJobEntity, MigrationRequest } from './migration-job.entity';
import { MigrationRunnerService } from './migration-runner.service';

export interface JobView {
  id: string;
  vm: string;
  vmName: string;
  cloud: string;
  kind: string;
  state: string;
  phase: string;
  targetName: string;
  bytesDone: number;
  bytesTotal: number;
  rateBytesPerSec: number;
  error?: string;
  cloudVm?: string;
  /** The vCenter task (moid) that shows this job on the prem VM. */
  vcTask?: string;
  /** Per disk: progress, the verified SHA-256 and how it is read (`esxi`, `nfc`). */
  disks?: Array<{ key: string; size: number; bytesDone: number; sha256?: string; via?: string }>;
  requestedBy: string;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
}

export function jobView(j: MigrationJobEntity): JobView {
  return {
    id: j.id,
    vm: j.vm,
    vmName: j.vmName,
    cloud: j.cloud,
    kind: j.kind,
    state: j.state,
    phase: j.phase,
    targetName: j.request.targetName,
    bytesDone: j.bytesDone,
    bytesTotal: j.bytesTotal,
    rateBytesPerSec: j.rateBytesPerSec,
    ...(j.error ? { error: j.error } : {}),
    ...(j.record.cloudVm ? { cloudVm: j.record.cloudVm } : {}),
    ...(j.record.vcTask ? { vcTask: j.record.vcTask } : {}),
    ...(j.record.disks ? { disks: j.record.disks.map(({ key, size, bytesDone, sha256, via }) => ({ key, size, bytesDone, sha256, via })) } : {}),
    requestedBy: j.requestedBy,
    createdAt: j.createdAt.toISOString(),
    updatedAt: j.updatedAt.toISOString(),
    ...(j.finishedAt ? { finishedAt: new Date(j.finishedAt).toISOString() } : {}),
  };
}

/** The API side of migrations: checks a request, records the job, hands it to the runner. */
@Injectable()
export class MigrationsService {
  private readonly repo: Repository<MigrationJobEntity>;

  constructor(
    @Inject(DATA_SOURCE) ds: DataSource,
    private readonly prem: PremVcenterService,
    private readonly clouds: CloudsService,
    private readonly runner: MigrationRunnerService,
  ) {
    this.repo = ds.getRepository(MigrationJobEntity);
  }

  async create(dto: CreateMigrationDto, requestedBy: string): Promise<JobView> {
    const vm = await this.prem.vm(dto.vm); // 404 when unknown
    await this.clouds.get(dto.cloud); // 404 when unknown
    const active = await this.repo.findOneBy({ vm: dto.vm, state: In(['queued', 'running']) });
    if (active) throw new ConflictException(`VM "${vm.name}" is already being migrated (job ${active.id})`);
    if (vm.powerState !== 'poweredOff') throw new ConflictException(`VM "${vm.name}" is ${vm.powerState}: a cold migration needs it powered off`);
    if (vm.hasSnapshot) throw new ConflictException(`VM "${vm.name}" has snapshots: consolidate or delete them before a cold migration`);

    const [clusters, datastores, networks, vms, folders] = await this.clouds.use(dto.cloud, (client) => {
      const inv = new Inventory(client);
      return Promise.all([inv.clusters(), inv.datastores(), inv.networks(), inv.vms(), inv.vmFolders()]);
    });
    const bad: string[] = [];
    const cluster = dto.placement?.cluster ? clusters.find((c) => c.moid === dto.placement!.cluster) : clusters[0];
    if (!cluster) bad.push(dto.placement?.cluster ? `placement.cluster: no cluster ${dto.placement.cluster} in cloud "${dto.cloud}"` : `cloud "${dto.cloud}" has no cluster`);
    const datastore = dto.placement?.datastore
      ? datastores.find((d) => d.moid === dto.placement!.datastore)
      : datastores.filter((d) => !cluster || cluster.datastores.includes(d.moid)).sort((a, b) => b.freeSpace - a.freeSpace)[0];
    if (!datastore) bad.push(`placement.datastore: no datastore ${dto.placement?.datastore ?? ''} in cloud "${dto.cloud}"`);
    const folder = dto.placement?.folder ? folders.find((f) => f.moid === dto.placement!.folder) : folders.find((f) => f.isRoot && f.datacenter === cluster?.datacenter);
    if (dto.placement?.folder && !folder) bad.push(`placement.folder: no VM folder ${dto.placement.folder} in cloud "${dto.cloud}"`);
    const sourceNets = [...new Set(vm.nics.map((n) => n.network?.name).filter((n): n is string => !!n))];
    const networkMap: Record<string, string> = {};
    for (const src of sourceNets) {
      const target = dto.networkMap?.[src] ?? networks.find((n) => n.name === src)?.moid;
      if (!target) bad.push(`networkMap: no target network for source network "${src}"`);
      else if (!networks.some((n) => n.moid === target)) bad.push(`networkMap.${src}: no network ${target} in cloud "${dto.cloud}"`);
      else networkMap[src] = target;
    }
    for (const k of Object.keys(dto.networkMap ?? {})) if (!sourceNets.includes(k)) bad.push(`networkMap.${k}: VM "${vm.name}" has no NIC on "${k}"`);
    if (datastore && vm.disks.reduce((s, d) => s + d.capacityInBytes, 0) > datastore.freeSpace) {
      bad.push(`placement.datastore: ${datastore.name} has ${datastore.freeSpace} bytes free, the VM needs ${vm.disks.reduce((s, d) => s + d.capacityInBytes, 0)}`);
    }
    if (bad.length) throw new BadRequestException(bad.join('; '));
    const targetName = dto.targetName ?? vm.name;
    const taken = vms.find((v) => v.name === targetName && (!folder || v.folder?.moid === folder.moid));
    if (taken) throw new ConflictException(`a VM named "${targetName}" exists already in the target folder of cloud "${dto.cloud}": choose another targetName`);

    const request: MigrationRequest = {
      vm: vm.moid,
      cloud: dto.cloud,
      kind: 'cold',
      targetName,
      placement: { cluster: cluster!.moid, resourcePool: dto.placement?.resourcePool, datastore: datastore!.moid, folder: folder?.moid },
      networkMap,
      powerOn: dto.powerOn ?? false,
    };
    const job = this.repo.create({
      id: randomUUID(),
      vm: vm.moid,
      vmName: vm.name,
      cloud: dto.cloud,
      kind: 'cold',
      state: 'queued',
      phase: 'checks',
      request,
      record: {},
      bytesDone: 0,
      bytesTotal: vm.disks.reduce((s, d) => s + d.capacityInBytes, 0),
      rateBytesPerSec: 0,
      error: null,
      cancelRequested: false,
      requestedBy,
      finishedAt: null,
    });
    await this.repo.save(job); // durable before it is acknowledged
    void this.runner.pump();
    return jobView(job);
  }

  async list(filter: { vm?: string; state?: string }): Promise<JobView[]> {
    const where: Record<string, string> = {};
    if (filter.vm) where.vm = filter.vm;
    if (filter.state) {
      if (!['queued', 'running', 'done', 'failed', 'cancelled'].includes(filter.state)) throw new BadRequestException(`state must be one of queued, running, done, failed, cancelled`);
      where.state = filter.state;
    }
    return (await this.repo.find({ where, order: { createdAt: 'DESC' } })).map(jobView);
  }

  async get(id: string): Promise<JobView> {
    return jobView(await this.entity(id));
  }

  private async entity(id: string): Promise<MigrationJobEntity> {
    const job = /^[0-9a-f-]{36}$/.test(id) ? await this.repo.findOneBy({ id }) : null;
    if (!job) throw new NotFoundException(`no job "${id}"`);
    return job;
  }

  async cancel(id: string): Promise<JobView> {
    const job = await this.entity(id);
    if (!['queued', 'running'].includes(job.state)) throw new ConflictException(`job ${id} is ${job.state}: nothing to cancel`);
    await this.repo.update({ id }, { cancelRequested: true });
    if (!this.runner.cancel(id)) {
      // Not running in this process (queued): the runner sees cancelRequested when it starts it.
      void this.runner.pump();
    }
    return jobView({ ...job, cancelRequested: true } as MigrationJobEntity);
  }
}

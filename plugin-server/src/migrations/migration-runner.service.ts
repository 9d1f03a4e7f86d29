import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, In, Repository } from 'typeorm';
import { AppliancesService } from '../appliances/appliances.service';
import { CloudsService } from '../clouds/clouds.service';
import { HDM_CONFIG, HdmConfig } from '../config/hdm-config';
import { DATA_SOURCE } from '../database/database.module';
import { PremVcenterService } from '../vms/prem-vcenter.service';
import { ColdMigration, describe } from './cold-migration';
import { MigrationJobEntity } from './migration-job.entity';

/** Cold migrations running at once (the tiers' bound for cold moves). */
export const COLD_CONCURRENCY = 8;

/**
 * The one orchestrator: runs queued jobs (at most COLD_CONCURRENCY at a time) and, at
 * start, picks up every job a previous process left queued or running.
 */
@Injectable()
export class MigrationRunnerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('migrations');
  private readonly repo: Repository<MigrationJobEntity>;
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private stopping = false;

  constructor(
    @Inject(DATA_SOURCE) ds: DataSource,
    @Inject(HDM_CONFIG) private readonly config: HdmConfig,
    private readonly prem: PremVcenterService,
    private readonly clouds: CloudsService,
    private readonly appliances: AppliancesService,
  ) {
    this.repo = ds.getRepository(MigrationJobEntity);
  }

  onApplicationBootstrap(): void {
    // Resume in the background: the server must answer while vCenter is slow to respond.
    setImmediate(() => void this.pump());
  }

  /** Starts queued jobs while there is room. */
  async pump(): Promise<void> {
    if (this.stopping) return;
    const candidates = await this.repo.find({ where: { state: In(['running', 'queued']) }, order: { createdAt: 'ASC' } });
    for (const job of candidates) {
      if (this.running.size >= COLD_CONCURRENCY) break;
      if (this.running.has(job.id)) continue;
      this.launch(job);
    }
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /** Asks a running job to stop; it cleans up and ends as cancelled. */
  cancel(id: string): boolean {
    const r = this.running.get(id);
    if (!r) return false;
    r.abort.abort();
    return true;
  }

  private launch(job: MigrationJobEntity): void {
    const abort = new AbortController();
    if (job.cancelRequested) abort.abort();
    const done = (async () => {
      try {
        const cloud = await this.clouds.get(job.cloud);
        const migration = new ColdMigration(job, {
          prem: await this.prem.client(),
          premThumbprint: this.config.vcenter?.thumbprint,
          cloud: await this.clouds.connect(job.cloud),
          cloudThumbprint: cloud.thumbprint,
          premManager: () => this.appliances.premManager(),
          cloudManager: () => this.appliances.cloudManager(),
          esxiManager: () => this.appliances.esxiManager(),
          repo: this.repo,
          extensionKey: this.config.extensionKey,
          signal: abort.signal,
        });
        await migration.run();
      } catch (err) {
        // Could not even start (vCenter or cloud unreachable): fail the job with the reason.
        this.logger.error(`job ${job.id}: ${describe(err)}`);
        if (!this.stopping) await this.repo.update({ id: job.id }, { state: 'failed', error: describe(err), finishedAt: new Date() });
      } finally {
        this.running.delete(job.id);
        if (!this.stopping) void this.pump();
      }
    })();
    this.running.set(job.id, { abort, done });
  }

  async onApplicationShutdown(): Promise<void> {
    // Leave jobs as they are on disk (running): the next start resumes them.
    this.stopping = true;
  }
}

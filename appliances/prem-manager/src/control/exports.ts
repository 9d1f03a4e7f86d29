import { resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  backoffMs,
  diskKeySchema,
  DiskStatus,
  HttpError,
  HttpStatusError,
  jobIdSchema,
  JobState,
  JobStatus,
  JobJournal,
  JobStore,
  Logger,
  PeerError,
  PinMismatchError,
  Progress,
  LaneLink,
  RateLimiter,
  RateSetting,
  rateSettingSchema,
  rollUp,
  sizeSchema,
  sleep,
  thumbprintSchema,
  TlsIdentity,
  urlSchema,
} from '@hdm/appliance-common';
import { CloudTarget, EsxiSourceRef, exportDisk, SourceKind } from '../data/disk-exporter';

const endpointSchema = z.object({ host: z.string().min(1).max(253), port: z.number().int().min(1).max(65535) });
export const esxiSourceSchema = z.object({
  control: endpointSchema,
  data: endpointSchema,
  /** Datastore path of the disk's descriptor, `[ds] vm/vm.vmdk`. */
  path: z.string().min(1).max(1024),
});

export const exportBodySchema = z.object({
  id: jobIdSchema,
  disks: z
    .array(
      z.object({
        key: diskKeySchema,
        size: sizeSchema,
        /** The export lease's disk URL (NFC, ranged GETs); with `esxi` the fallback when the ESXi Manager is unreachable. */
        sourceUrl: urlSchema.optional(),
        /** Read through the Prem ESXi Manager of the VM's host: allocated extents only. */
        esxi: esxiSourceSchema.optional(),
        /** Delta: the areas changed since the version the cloud holds (CBT QueryChangedDiskAreas), byte offsets. */
        changedAreas: z.array(z.object({ start: z.number().int().nonnegative(), length: z.number().int().positive() })).max(1_000_000).optional(),
        cookie: z.string().max(4096).optional(),
        thumbprint: thumbprintSchema.optional(),
      }),
    )
    .min(1)
    .refine((d) => d.every((x) => x.sourceUrl || x.esxi), 'every disk needs a sourceUrl or an esxi source')
    .refine((d) => new Set(d.map((x) => x.key)).size === d.length, 'disk keys must be unique'),
  cloud: endpointSchema.extend({ expectedRole: z.literal('cloud-manager') }),
  /** Optional bandwidth cap of this migration (changeable with PATCH). */
  limit: rateSettingSchema.optional(),
});
export type ExportBody = z.infer<typeof exportBodySchema>;

interface ExportDisk extends DiskStatus {
  sourceUrl?: string;
  esxi?: EsxiSourceRef;
  /** How the last attempt reads the disk. */
  via?: SourceKind;
  changedAreas?: Array<{ start: number; length: number }>;
  cookie?: string;
  thumbprint?: string;
  attempts: number;
}

export interface ExportJob {
  id: string;
  state: JobState;
  cloud: CloudTarget;
  limit?: RateSetting;
  disks: ExportDisk[];
  error?: string;
  createdAt: string;
  updatedAt: string;
}

export interface ExportTuning {
  /** Attempts per disk (connection drops, peer errors) before the export fails. */
  maxAttempts: number;
  chunkSize?: number;
  window?: number;
  /** A data connection silent this long is given up (and reconnected). Default 60 s. */
  idleTimeoutMs?: number;
  /** Disks of one export sent at once (several TCP streams when one cannot fill the link). Default 2. */
  parallelDisks?: number;
  /** The link's bandwidth setting (all exports share it); changeable with PUT /v1/link. */
  link?: RateSetting;
  /** Directory whose files may be named as `file://` sources (lab, benchmark); none by default. */
  fileDir?: string;
  /** Lanes (connections) per disk: adaptive up to this many when one cannot fill the link. Default 4; 1 = one connection per disk. */
  maxLanes?: number;
  /** A fixed lane count per disk instead (tests, benchmark). */
  lanes?: number;
}

/** Errors a new attempt cannot fix. */
function permanent(err: unknown): boolean {
  if (err instanceof PinMismatchError) return true;
  if (err instanceof HttpStatusError) return err.status >= 400 && err.status < 500;
  if (err instanceof PeerError) return ['unknown-import', 'unknown-disk', 'size-mismatch', 'stream-mismatch', 'import-not-active'].includes(err.code);
  return false;
}

/**
 * The control plane of prem-manager: export jobs, their state machine, persistence and the
 * retry policy. Disks are sent one after the other; a dropped connection is retried with
 * backoff and the disk continues at the durable prefix cloud-manager reports (resume).
 */
export class ExportService {
  private readonly jobs = new Map<string, ExportJob>();
  private readonly running = new Map<string, AbortController>();
  private readonly rates = new Map<string, number>();
  /** Live progress detail by `${id}/${key}`. */
  private readonly live = new Map<string, Progress>();
  private readonly limiters = new Map<string, RateLimiter>();
  readonly link: RateLimiter;
  /** The link as the lane adaptation sees it: wire bytes of every disk, one lane trial at a time. */
  private readonly laneLink = new LaneLink();
  private readonly journal: JobJournal<ExportJob>;

  constructor(
    store: JobStore<ExportJob>,
    private readonly identity: TlsIdentity,
    private readonly log: Logger,
    private readonly tuning: ExportTuning = { maxAttempts: 6 },
  ) {
    this.link = new RateLimiter(tuning.link);
    for (const job of store.loadAll()) {
      if (job.state === 'waiting' || job.state === 'running') {
        // We were killed mid-export: report it honestly; a re-POST restarts the unfinished disks.
        job.state = 'failed';
        job.error = 'interrupted: prem-manager restarted; POST the export again to restart unfinished disks';
        for (const d of job.disks) if (d.state === 'running' || d.state === 'waiting') Object.assign(d, { state: 'failed', error: 'interrupted' });
        store.save(job);
      }
      this.jobs.set(job.id, job);
    }
    this.journal = new JobJournal(store, this.jobs);
  }

  create(body: ExportBody): { status: number; job: JobStatus } {
    const existing = this.jobs.get(body.id);
    if (existing && (existing.state === 'done' || this.running.has(body.id))) {
      throw new HttpError(409, `export ${body.id} already exists and is ${existing.state}`, { state: existing.state });
    }
    for (const d of body.disks) if (d.sourceUrl) this.checkFileSource(d.sourceUrl);
    const now = new Date().toISOString();
    const prior = new Map(existing?.disks.map((d) => [d.key, d]));
    const job: ExportJob = {
      id: body.id,
      state: 'waiting',
      cloud: body.cloud,
      limit: body.limit ?? existing?.limit,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      disks: body.disks.map((d) => {
        const before = prior.get(d.key);
        const keep = before?.state === 'done' && before.size === d.size;
        return {
          key: d.key,
          size: d.size,
          sourceUrl: d.sourceUrl,
          esxi: d.esxi,
          changedAreas: d.changedAreas,
          cookie: d.cookie,
          thumbprint: d.thumbprint,
          attempts: 0,
          state: keep ? 'done' : 'waiting',
          bytesDone: keep ? d.size : 0,
          sha256: keep ? before.sha256 : undefined,
        };
      }),
    };
    this.jobs.set(job.id, job);
    this.journal.save(job);
    this.log.info({ export: job.id, disks: job.disks.length, restarted: !!existing }, existing ? 'export re-posted' : 'export created');
    const ctl = new AbortController();
    this.running.set(job.id, ctl);
    this.limiters.set(job.id, new RateLimiter(job.limit, this.link));
    void this.run(job, ctl.signal).finally(() => {
      this.running.delete(job.id);
      this.rates.delete(job.id);
      this.limiters.delete(job.id);
      for (const d of job.disks) this.live.delete(`${job.id}/${d.key}`);
    });
    return { status: 201, job: this.status(job.id) };
  }

  status(id: string): JobStatus {
    const job = this.jobs.get(id);
    if (!job) throw new HttpError(404, `no export ${id}`);
    const disks = job.disks.map(({ key, size, bytesDone, state, sha256, error, via, lanes }) => {
      const p = this.live.get(`${id}/${key}`);
      const detail = p && state === 'running' ? { bytesRead: p.bytesRead, wireBytes: p.wireBytes, rateBytesPerSec: p.rateBytesPerSec, etaSeconds: p.etaSeconds, lanes: p.lanes } : {};
      return { key, size, bytesDone, state, sha256, error, via, lanes, ...detail };
    });
    const sum = rollUp(disks);
    const running = disks.filter((d) => d.state === 'running');
    const rate = running.reduce((a, d) => a + (d.rateBytesPerSec ?? 0), 0) || (this.rates.get(id) ?? 0);
    const status: JobStatus = { id, state: job.state, ...sum, rateBytesPerSec: rate, disks, error: job.error };
    if (rate > 0 && job.state === 'running') status.etaSeconds = Math.round((sum.bytesTotal - sum.bytesDone) / rate);
    if (running.length) {
      status.bytesRead = running.reduce((a, d) => a + (d.bytesRead ?? 0), 0);
      status.wireBytes = running.reduce((a, d) => a + (d.wireBytes ?? 0), 0);
    }
    if (job.limit) status.limit = job.limit;
    return status;
  }

  /** PATCH /v1/exports/:id {limitMbit, windows?}: the migration's cap, effective at once. */
  setLimit(id: string, limit: RateSetting): JobStatus {
    const job = this.jobs.get(id);
    if (!job) throw new HttpError(404, `no export ${id}`);
    job.limit = limit;
    this.limiters.get(id)?.set(limit);
    this.journal.save(job);
    this.log.info({ export: id, limit }, 'export bandwidth changed');
    return this.status(id);
  }

  /** PUT /v1/link: the cap shared by every export of this prem-manager, effective at once. */
  setLinkLimit(limit: RateSetting): RateSetting {
    this.link.set(limit);
    this.log.info({ limit }, 'link bandwidth changed');
    return limit;
  }

  private checkFileSource(url: string): void {
    if (!/^file:/i.test(url)) return;
    const dir = this.tuning.fileDir;
    const path = resolvePath(fileURLToPath(url));
    if (!dir || !path.startsWith(resolvePath(dir) + sep)) {
      throw new HttpError(400, `file sources are only allowed under the directory given with --file-dir`, { fields: ['disks.sourceUrl'] });
    }
  }

  cancel(id: string): JobStatus {
    const job = this.jobs.get(id);
    if (!job) throw new HttpError(404, `no export ${id}`);
    if (job.state !== 'done' && job.state !== 'failed' && job.state !== 'cancelled') {
      job.state = 'cancelled';
      for (const d of job.disks) if (d.state !== 'done') d.state = 'cancelled';
      this.journal.save(job);
      this.running.get(id)?.abort();
      this.log.info({ export: id }, 'export cancelled');
    }
    return this.status(id);
  }

  async close(): Promise<void> {
    for (const c of this.running.values()) c.abort();
    this.journal.close();
  }

  private async run(job: ExportJob, jobSignal: AbortSignal): Promise<void> {
    const log = this.log.child({ export: job.id });
    job.state = 'running';
    this.journal.save(job);
    // A disk that fails for good stops its siblings; cancel() stops them all.
    const stop = new AbortController();
    const onCancel = (): void => stop.abort();
    jobSignal.addEventListener('abort', onCancel);
    const todo = [...job.disks.entries()].filter(([, d]) => d.state !== 'done');
    const lanes = Math.max(1, Math.min(this.tuning.parallelDisks ?? 2, todo.length));
    let failed = false;
    const lane = async (): Promise<void> => {
      for (let item = todo.shift(); item && !stop.signal.aborted; item = todo.shift()) {
        const ok = await this.runDisk(job, item[0], item[1], stop.signal, log);
        if (!ok && !stop.signal.aborted) {
          failed = true;
          stop.abort();
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: lanes }, lane));
    } finally {
      jobSignal.removeEventListener('abort', onCancel);
    }
    if (jobSignal.aborted || failed) return; // cancel() or the failing disk recorded the state
    job.state = 'done';
    this.journal.save(job);
    log.info('export done');
  }

  /** One disk until done (true), failed for good (false, job marked failed) or aborted (false). */
  private async runDisk(job: ExportJob, index: number, disk: ExportDisk, signal: AbortSignal, log: Logger): Promise<boolean> {
    const liveKey = `${job.id}/${disk.key}`;
    for (;;) {
      if (signal.aborted) return false;
      disk.attempts++;
      const doneBefore = disk.bytesDone;
      Object.assign(disk, { state: 'running', error: undefined });
      this.journal.save(job);
      try {
        const result = await exportDisk(
          this.identity,
          job.cloud,
          { jobId: job.id, stream: index, key: disk.key, size: disk.size, sourceUrl: disk.sourceUrl, esxi: disk.esxi, changedAreas: disk.changedAreas, cookie: disk.cookie, thumbprint: disk.thumbprint },
          {
            signal,
            log: log.child({ disk: disk.key }),
            chunkSize: this.tuning.chunkSize,
            window: this.tuning.window,
            limiter: this.limiters.get(job.id),
            idleTimeoutMs: this.tuning.idleTimeoutMs,
            onSource: (via) => (disk.via = via),
            lanes: { max: this.tuning.maxLanes ?? 4, fixed: this.tuning.lanes, link: this.laneLink },
            progress: (p) => {
              disk.bytesDone = p.bytesDone;
              this.live.set(liveKey, p);
              this.rates.set(job.id, p.rateBytesPerSec);
              this.journal.touch(job.id);
            },
          },
        );
        Object.assign(disk, { state: 'done', bytesDone: disk.size, sha256: result.sha256, lanes: result.stats?.lanes });
        this.live.delete(liveKey);
        this.journal.save(job);
        log.info({ disk: disk.key, sha256: result.sha256, resends: result.resends, attempts: disk.attempts, stats: result.stats }, 'disk exported and verified by cloud-manager');
        return true;
      } catch (err) {
        if (signal.aborted) return false; // cancel() or a sibling's failure recorded the state
        const message = (err as Error).message;
        disk.error = message;
        if (disk.bytesDone > doneBefore) disk.attempts = 1; // progress was made: count failures in a row only
        if (permanent(err) || disk.attempts >= this.tuning.maxAttempts) {
          disk.state = 'failed';
          job.state = 'failed';
          job.error = `disk ${disk.key}: ${message}`;
          this.journal.save(job);
          log.error({ disk: disk.key, attempts: disk.attempts, err: message }, 'export failed');
          return false;
        }
        disk.state = 'waiting';
        this.journal.save(job);
        const delay = backoffMs(disk.attempts - 1);
        log.warn({ disk: disk.key, attempt: disk.attempts, retryInMs: delay, err: message }, 'disk transfer interrupted; reconnecting (the disk continues at what cloud-manager holds durably)');
        try {
          await sleep(delay, signal);
        } catch {
          return false;
        }
      }
    }
  }

}

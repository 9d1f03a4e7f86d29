import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  diskKeySchema,
  DiskStatus,
  HttpError,
  jobIdSchema,
  JobState,
  JobStatus,
  JobJournal,
  JobStore,
  Logger,
  Progress,
  rollUp,
  sizeSchema,
  thumbprintSchema,
  StagingSink,
  urlSchema,
} from '@hdm/appliance-common';

export const importBodySchema = z.object({
  id: jobIdSchema,
  disks: z
    .array(
      z.object({
        key: diskKeySchema,
        size: sizeSchema,
        uploadUrl: urlSchema,
        /** Delta: the previous version of this disk (file:// under --file-dir); changed areas come from prem. */
        baseUrl: urlSchema.optional(),
        cookie: z.string().max(4096).optional(),
        thumbprint: thumbprintSchema.optional(),
      }),
    )
    .min(1)
    .refine((d) => new Set(d.map((x) => x.key)).size === d.length, 'disk keys must be unique'),
});
export type ImportBody = z.infer<typeof importBodySchema>;

interface ImportDisk extends DiskStatus {
  uploadUrl: string;
  baseUrl?: string;
  cookie?: string;
  thumbprint?: string;
  attempts: number;
}

export interface ImportJob {
  id: string;
  state: JobState;
  disks: ImportDisk[];
  error?: string;
  createdAt: string;
  updatedAt: string;
}

/** Refusal of a data connection, sent to prem-manager as an ERROR frame. */
export class DataRefusal extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** What the data path gets for one accepted disk. */
export interface DiskLease {
  stream: number;
  size: number;
  uploadUrl: string;
  /** Delta: the local file holding the previous version of the disk. */
  baseFile?: string;
  cookie?: string;
  thumbprint?: string;
  /** Where this disk is staged (the Cloud Manager's working disk): StagingSink.open(dir, name, size). */
  staging: { dir: string; name: string };
  signal: AbortSignal;
  progress(p: Progress): void;
  done(sha256: string): void;
  failed(err: Error): void;
}

/** Attempts of one disk in a row without new durable bytes before the import fails. */
const MAX_DISK_ATTEMPTS = 5;

/**
 * The control plane of cloud-manager: import jobs, their state machine and persistence.
 * waiting → running (first disk connection) → done (every disk written and hash-confirmed);
 * failed (a disk failed MAX_DISK_ATTEMPTS times) or cancelled (DELETE).
 */
export class ImportService {
  private readonly jobs = new Map<string, ImportJob>();
  /** Active disk receptions by `${id}/${key}`. */
  private readonly active = new Map<string, AbortController>();
  private readonly journal: JobJournal<ImportJob>;

  /**
   * `workDir` holds the staged disk images and their checkpoints (`<workDir>/<import>/<disk>.img|.ckpt`).
   */
  constructor(
    store: JobStore<ImportJob>,
    private readonly log: Logger,
    private readonly workDir: string,
    /** Directory where `file://` upload targets may be written (lab, benchmark); none by default. */
    private readonly fileDir?: string,
  ) {
    for (const job of store.loadAll()) {
      // A disk that was being received when we stopped continues at its durable prefix at its next connection.
      for (const d of job.disks) {
        if (d.state === 'running') {
          const s = this.staging(job.id, d.key);
          Object.assign(d, { state: 'waiting', bytesDone: StagingSink.durableBytes(s.dir, s.name, d.size), error: 'interrupted by a cloud-manager restart' });
        }
      }
      this.jobs.set(job.id, job);
    }
    this.journal = new JobJournal(store, this.jobs);
  }

  create(body: ImportBody): { status: number; job: JobStatus } {
    const existing = this.jobs.get(body.id);
    if (existing && (existing.state === 'done' || (existing.state === 'running' && this.anyActive(existing)))) {
      throw new HttpError(409, `import ${body.id} already exists and is ${existing.state}`, { state: existing.state });
    }
    for (const d of body.disks) {
      for (const url of [d.uploadUrl, d.baseUrl]) {
        if (url === undefined) continue;
        const path = /^file:/i.test(url) ? resolvePath(fileURLToPath(url)) : undefined;
        if (url === d.baseUrl && !path) throw new HttpError(400, 'baseUrl must be a file:// URL', { fields: ['disks.baseUrl'] });
        if (path && (!this.fileDir || !path.startsWith(resolvePath(this.fileDir) + sep))) {
          throw new HttpError(400, 'file targets are only allowed under the directory given with --file-dir', { fields: ['disks.uploadUrl'] });
        }
      }
    }
    const now = new Date().toISOString();
    const prior = new Map(existing?.disks.map((d) => [d.key, d]));
    const job: ImportJob = {
      id: body.id,
      state: 'waiting',
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      disks: body.disks.map((d) => {
        const before = prior.get(d.key);
        const keep = before?.state === 'done' && before.size === d.size;
        // A disk staged in part keeps its durable prefix (same size); anything else starts over.
        const s = this.staging(body.id, d.key);
        if (!keep && before && before.size !== d.size) StagingSink.discard(s.dir, s.name);
        const staged = keep ? d.size : StagingSink.durableBytes(s.dir, s.name, d.size);
        return {
          key: d.key,
          size: d.size,
          uploadUrl: d.uploadUrl,
          baseUrl: d.baseUrl,
          cookie: d.cookie,
          thumbprint: d.thumbprint,
          attempts: 0,
          state: keep ? 'done' : 'waiting',
          bytesDone: staged,
          sha256: keep ? before.sha256 : undefined,
        };
      }),
    };
    this.jobs.set(job.id, job);
    this.journal.save(job);
    this.log.info({ import: job.id, disks: job.disks.length, restarted: !!existing }, existing ? 'import re-posted' : 'import created');
    return { status: 201, job: this.status(job.id) };
  }

  status(id: string): JobStatus {
    const job = this.jobs.get(id);
    if (!job) throw new HttpError(404, `no import ${id}`);
    const disks = job.disks.map(({ key, size, bytesDone, state, sha256, error }) => ({ key, size, bytesDone, state, sha256, error }));
    return { id, state: job.state, ...rollUp(disks), disks, error: job.error };
  }

  stateOf(id: string): JobState | undefined {
    return this.jobs.get(id)?.state;
  }

  cancel(id: string): JobStatus {
    const job = this.jobs.get(id);
    if (!job) throw new HttpError(404, `no import ${id}`);
    if (job.state !== 'done' && job.state !== 'failed') {
      job.state = 'cancelled';
      for (const d of job.disks) if (d.state !== 'done') d.state = 'cancelled';
      for (const d of job.disks) this.active.get(`${id}/${d.key}`)?.abort();
      // Staged bytes of a cancelled import are of no further use (a new POST starts over).
      setTimeout(() => {
        // …unless the import was posted again meanwhile (its staging is new).
        if (this.jobs.get(id)?.state === 'cancelled') rmSync(join(this.workDir, id), { recursive: true, force: true });
      }, 200).unref();
      this.journal.save(job);
      this.log.info({ import: id }, 'import cancelled');
    }
    return this.status(id);
  }

  /** Data path: a prem-manager announced a disk. Returns its lease or refuses. */
  beginDisk(hello: { jobId: string; diskKey: string; size: number; stream: number }): DiskLease {
    const job = this.jobs.get(hello.jobId);
    if (!job) throw new DataRefusal('unknown-import', `no import ${hello.jobId}`);
    if (job.state === 'cancelled' || job.state === 'failed') throw new DataRefusal('import-not-active', `import ${job.id} is ${job.state}`);
    const index = job.disks.findIndex((d) => d.key === hello.diskKey);
    const disk = job.disks[index];
    if (!disk) throw new DataRefusal('unknown-disk', `import ${job.id} has no disk ${hello.diskKey}`);
    if (disk.size !== hello.size) throw new DataRefusal('size-mismatch', `disk ${disk.key} is ${disk.size} bytes in the import, sender has ${hello.size}`);
    if (hello.stream !== index) throw new DataRefusal('stream-mismatch', `disk ${disk.key} is stream ${index}, sender said ${hello.stream}`);
    const activeKey = `${job.id}/${disk.key}`;
    const previous = this.active.get(activeKey);
    if (previous) {
      this.log.warn({ import: job.id, disk: disk.key }, 'new connection for a disk being received: dropping the old one');
      previous.abort();
    }
    const ctl = new AbortController();
    this.active.set(activeKey, ctl);
    disk.attempts++;
    const staging = this.staging(job.id, disk.key);
    const durableAtStart = StagingSink.durableBytes(staging.dir, staging.name, disk.size);
    Object.assign(disk, { state: 'running', bytesDone: durableAtStart, sha256: undefined, error: undefined });
    job.state = 'running';
    job.error = undefined;
    this.journal.save(job);
    const mine = (): boolean => this.active.get(activeKey) === ctl;
    return {
      stream: index,
      size: disk.size,
      uploadUrl: disk.uploadUrl,
      baseFile: disk.baseUrl ? fileURLToPath(disk.baseUrl) : undefined,
      cookie: disk.cookie,
      thumbprint: disk.thumbprint,
      staging,
      signal: ctl.signal,
      progress: (p) => {
        if (!mine()) return;
        disk.bytesDone = p.bytesDone;
        this.journal.touch(job.id);
      },
      done: (sha256) => {
        if (!mine()) return;
        this.active.delete(activeKey);
        Object.assign(disk, { state: 'done', bytesDone: disk.size, sha256 });
        if (job.disks.every((d) => d.state === 'done')) job.state = 'done';
        this.journal.save(job);
        StagingSink.discard(staging.dir, staging.name);
        this.log.info({ import: job.id, disk: disk.key, sha256, jobState: job.state }, 'disk written and verified');
      },
      failed: (err) => {
        if (!mine()) return;
        this.active.delete(activeKey);
        if (job.state === 'cancelled') return;
        disk.error = err.message;
        disk.bytesDone = StagingSink.durableBytes(staging.dir, staging.name, disk.size);
        if (disk.bytesDone > durableAtStart) disk.attempts = 0; // progress was made: not a failure in a row
        if (disk.attempts >= MAX_DISK_ATTEMPTS) {
          disk.state = 'failed';
          job.state = 'failed';
          job.error = `disk ${disk.key} failed ${disk.attempts} times; last: ${err.message}`;
        } else {
          disk.state = 'waiting'; // the sender reconnects and continues at the durable prefix
        }
        this.journal.save(job);
        this.log.warn({ import: job.id, disk: disk.key, attempt: disk.attempts, err: err.message }, 'disk reception failed');
      },
    };
  }

  close(): void {
    for (const c of this.active.values()) c.abort();
    this.journal.close();
  }

  private staging(id: string, key: string): { dir: string; name: string } {
    return { dir: join(this.workDir, id), name: createHash('sha256').update(key).digest('hex').slice(0, 32) };
  }

  private anyActive(job: ImportJob): boolean {
    return job.disks.some((d) => this.active.has(`${job.id}/${d.key}`));
  }

}

import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Job ids become file names: keep them to a safe alphabet. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Jobs as one JSON file each under `<stateDir>/jobs/`, written atomically (temp file, fsync,
 * rename, fsync of the directory), so a kill -9 leaves either the old or the new version.
 * Files are 0600: they hold lease cookies.
 */
export class JobStore<T extends { id: string }> {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'jobs');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  save(job: T): void {
    if (!JOB_ID_PATTERN.test(job.id)) throw new Error(`bad job id ${JSON.stringify(job.id)}`);
    const file = join(this.dir, `${job.id}.json`);
    const tmp = `${file}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(job, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    const dfd = openSync(this.dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  /** Every stored job; leftovers of interrupted writes are removed. */
  loadAll(): T[] {
    const jobs: T[] = [];
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      if (name.includes('.tmp-')) {
        unlinkSync(path);
        continue;
      }
      if (!name.endsWith('.json')) continue;
      jobs.push(JSON.parse(readFileSync(path, 'utf8')) as T);
    }
    return jobs;
  }
}

/**
 * A service's jobs as kept in memory, written through a JobStore: `save` writes at once (state
 * changes), `touch` marks progress that a once-a-second flush writes, so the data path does not
 * fsync per chunk. `close` stops the timer and writes what is pending.
 */
export class JobJournal<T extends { id: string; updatedAt: string }> {
  private readonly dirty = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: JobStore<T>,
    private readonly jobs: ReadonlyMap<string, T>,
    flushMs = 1000,
  ) {
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  save(job: T): void {
    job.updatedAt = new Date().toISOString();
    this.store.save(job);
    this.dirty.delete(job.id);
  }

  touch(id: string): void {
    this.dirty.add(id);
  }

  flush(): void {
    for (const id of [...this.dirty]) {
      const job = this.jobs.get(id);
      if (job) this.save(job);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}

import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LockInfo {
  pid: number;
  startedAt: string;
  /** PIDs of the lab's children, so a later run can clean up after a crash. */
  children: number[];
}

export class LabAlreadyRunningError extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One lab per directory: a lock file naming the owning process. */
export class LabLock {
  readonly file: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'lab.lock');
  }

  read(): LockInfo | undefined {
    if (!existsSync(this.file)) return undefined;
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as LockInfo;
    } catch {
      return { pid: -1, startedAt: 'unknown', children: [] };
    }
  }

  /** Takes the lock; returns the stale lock of a crashed run, if there was one. */
  acquire(): LockInfo | undefined {
    const held = this.read();
    if (held && held.pid > 0 && held.pid !== process.pid && alive(held.pid)) {
      throw new LabAlreadyRunningError(
        `an HDM lab is already running here (pid ${held.pid}, started ${held.startedAt}); ` +
          `use it, or stop it with Ctrl-C in its terminal (or: kill ${held.pid}) before starting another`,
      );
    }
    if (held) unlinkSync(this.file);
    writeFileSync(this.file, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), children: [] }), { flag: 'wx' });
    return held;
  }

  recordChildren(children: number[]): void {
    const info = this.read();
    if (!info || info.pid !== process.pid) return;
    writeFileSync(this.file, JSON.stringify({ ...info, children }));
  }

  release(): void {
    const info = this.read();
    if (info?.pid === process.pid) unlinkSync(this.file);
  }

  /** Kills what a crashed run left behind (SIGKILL: they have no owner to stop them cleanly). */
  static killOrphans(stale: LockInfo): void {
    for (const pid of stale.children) {
      if (alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone meanwhile */
        }
      }
    }
  }
}

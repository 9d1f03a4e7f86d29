import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { DiskExtent } from './datastores';

/** A byte range [start, start + length). */
export interface ByteRange {
  start: number;
  length: number;
}

/**
 * Where an allocation map comes from: `fiemap` = the file system's extent map (holes and
 * unwritten extents left out); `full` = FIEMAP unavailable (tmpfs, filefrag missing), so every
 * byte counts as allocated.
 */
export type ExtentSource = 'fiemap' | 'full';

export interface FileAllocation {
  ranges: ByteRange[];
  source: ExtentSource;
  /** Why the map is `full` (logged). */
  reason?: string;
}

export class FilefragParseError extends Error {}

/** Sorts and merges overlapping or touching ranges; drops empty ones. */
export function mergeRanges(ranges: ByteRange[]): ByteRange[] {
  const sorted = ranges.filter((r) => r.length > 0).sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.start + last.length) last.length = Math.max(last.length, r.start + r.length - last.start);
    else out.push({ ...r });
  }
  return out;
}

const HEADER = /^File size of .* is (\d+) \((\d+) blocks? of (\d+) bytes\)$/;
// `   0:       48..      79:   10608688..  10608719:     32:         48: last,unwritten`
// (the "expected" column may be blank, flags may be empty; delalloc extents have length 0).
const EXTENT = /^\s*\d+:\s*(\d+)\.\.\s*(\d+):\s*\d+\.\.\s*\d+:\s*\d+:(?:\s*\d+:)?\s*(\S*)\s*$/;

/**
 * Parses `filefrag -e` output line by line. Logical offsets are in the block size its header
 * names; a range is counted allocated unless flagged `unwritten` (preallocated, reads as zeros).
 * Delayed-allocation extents hold data not yet on disk: allocated.
 */
export class FilefragParser {
  private blockSize = 0;
  private fileSize = 0;
  private readonly ranges: ByteRange[] = [];

  line(text: string): void {
    const h = HEADER.exec(text);
    if (h) {
      this.fileSize = Number(h[1]);
      this.blockSize = Number(h[3]);
      if (!Number.isSafeInteger(this.fileSize) || !Number.isSafeInteger(this.blockSize) || this.blockSize <= 0) throw new FilefragParseError(`bad header: ${text}`);
      return;
    }
    const e = EXTENT.exec(text);
    if (!e) return; // "Filesystem type is", the column header, "N extents found"
    if (this.blockSize === 0) throw new FilefragParseError('extent line before the "File size of" header');
    const first = Number(e[1]);
    const last = Number(e[2]);
    if (last < first) throw new FilefragParseError(`extent ends before it starts: ${text}`);
    if (e[3]!.split(',').includes('unwritten')) return;
    const start = first * this.blockSize;
    const end = Math.min((last + 1) * this.blockSize, this.fileSize);
    if (!Number.isSafeInteger(end)) throw new FilefragParseError(`extent beyond 2^53: ${text}`);
    if (end > start) this.ranges.push({ start, length: end - start });
  }

  finish(): { fileSize: number; ranges: ByteRange[] } {
    if (this.blockSize === 0) throw new FilefragParseError('no "File size of … blocks of … bytes" header');
    return { fileSize: this.fileSize, ranges: mergeRanges(this.ranges) };
  }
}

export function parseFilefrag(output: string): { fileSize: number; ranges: ByteRange[] } {
  const p = new FilefragParser();
  for (const l of output.split('\n')) p.line(l);
  return p.finish();
}

function defaultFilefrag(): string {
  return ['/usr/sbin/filefrag', '/sbin/filefrag'].find((p) => existsSync(p)) ?? 'filefrag';
}

/**
 * Allocated ranges of files from FIEMAP (`filefrag -e`, e2fsprogs: node has no FIEMAP ioctl nor
 * lseek(SEEK_DATA)), cached per (file, device, inode, mtime, size) so repeated /v1/disks calls and
 * a client's reads cost one scan. Concurrent asks for one file share the scan,
 * which never fails: without a usable map the file counts as allocated whole.
 */
export class AllocationCache {
  private readonly entries = new Map<string, { key: string; value: Promise<FileAllocation> }>();

  constructor(private readonly opts: { filefrag?: string; maxEntries?: number } = {}) {}

  async file(path: string): Promise<FileAllocation> {
    const s = await stat(path, { bigint: true });
    const key = `${s.dev}:${s.ino}:${s.mtimeNs}:${s.size}`;
    const hit = this.entries.get(path);
    if (hit && hit.key === key) return hit.value;
    const value = this.scan(path, Number(s.size));
    this.entries.delete(path);
    this.entries.set(path, { key, value });
    if (this.entries.size > (this.opts.maxEntries ?? 1024)) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }

  /** Forget a file (after this service wrote to it: mtime granularity may hide the change). */
  forget(path: string): void {
    this.entries.delete(path);
  }

  private scan(path: string, size: number): Promise<FileAllocation> {
    const full = (reason: string): FileAllocation => ({ ranges: size > 0 ? [{ start: 0, length: size }] : [], source: 'full', reason });
    // A newline in the name could forge lines of filefrag's output: do not trust it then.
    if (path.includes('\n')) return Promise.resolve(full('file name contains a newline'));
    return new Promise((resolve) => {
      const child = spawn(this.opts.filefrag ?? defaultFilefrag(), ['-e', path], { stdio: ['ignore', 'pipe', 'pipe'] });
      const parser = new FilefragParser();
      let failure: string | undefined;
      let stderr = '';
      createInterface({ input: child.stdout }).on('line', (l) => {
        if (failure) return;
        try {
          parser.line(l);
        } catch (err) {
          failure = (err as Error).message;
        }
      });
      child.stderr.on('data', (d: Buffer) => (stderr += stderr.length < 1000 ? d.toString() : ''));
      child.on('error', (err) => resolve(full(`filefrag: ${err.message}`)));
      child.on('close', (code) => {
        if (code !== 0) return resolve(full(`filefrag exited ${code}: ${stderr.trim()}`));
        if (failure) return resolve(full(`filefrag output not understood: ${failure}`));
        try {
          const r = parser.finish();
          if (r.fileSize !== size) return resolve(full(`file changed during the scan (${r.fileSize} ≠ ${size} bytes)`));
          resolve({ ranges: r.ranges, source: 'fiemap' });
        } catch (err) {
          resolve(full(`filefrag output not understood: ${(err as Error).message}`));
        }
      });
    });
  }
}

export interface DiskAllocation {
  allocated: ByteRange[];
  allocatedBytes: number;
  extentSource: ExtentSource;
  /** Why some extent was counted whole. */
  reasons: string[];
}

/** The allocated ranges of a disk, in disk offsets: each file extent's allocated part, shifted; ZERO extents hold nothing. */
export async function diskAllocation(extents: DiskExtent[], cache: AllocationCache): Promise<DiskAllocation> {
  const ranges: ByteRange[] = [];
  const reasons: string[] = [];
  for (const x of extents) {
    if (x.file === undefined || x.length === 0) continue;
    const a = await cache.file(x.file);
    if (a.reason) reasons.push(a.reason);
    for (const r of a.ranges) {
      const start = Math.max(r.start, x.fileOffset);
      const end = Math.min(r.start + r.length, x.fileOffset + x.length);
      if (end > start) ranges.push({ start: start - x.fileOffset + x.diskOffset, length: end - start });
    }
  }
  const allocated = mergeRanges(ranges);
  return {
    allocated,
    allocatedBytes: allocated.reduce((n, r) => n + r.length, 0),
    extentSource: reasons.length ? 'full' : 'fiemap',
    reasons,
  };
}

import { z } from 'zod';
import { normalizeThumbprint } from '../http/pinned';
import { JOB_ID_PATTERN } from './job-store';

export type JobState = 'waiting' | 'running' | 'done' | 'failed' | 'cancelled';

/** A disk as reported by GET /v1/imports/:id and /v1/exports/:id. */
export interface DiskStatus {
  key: string;
  size: number;
  bytesDone: number;
  state: JobState;
  sha256?: string;
  error?: string;
  /** Progress detail (prem-manager): bytes read from the source, put on the wire, rate and ETA of this disk. */
  bytesRead?: number;
  wireBytes?: number;
  rateBytesPerSec?: number;
  etaSeconds?: number;
  /** prem-manager: how the disk is read (`esxi` through the ESXi Manager, `nfc` the export lease, `file`). */
  via?: string;
  /** prem-manager: connections (lanes) carrying the disk now; once done, the most it used at once. */
  lanes?: number;
}

/** A job as reported by the control APIs (progress fields follow the one Progress shape). */
export interface JobStatus {
  id: string;
  state: JobState;
  bytesDone: number;
  bytesTotal: number;
  rateBytesPerSec?: number;
  /** Seconds left at the current rate (absent while unknown). */
  etaSeconds?: number;
  /** Sums over the disks (prem-manager): bytes read from the sources, bytes on the wire. */
  bytesRead?: number;
  wireBytes?: number;
  /** The bandwidth setting of this job (prem-manager). */
  limit?: { limitMbit: number; windows?: Array<{ from: string; to: string; limitMbit: number }> };
  disks: DiskStatus[];
  error?: string;
}

export const jobIdSchema = z.string().regex(JOB_ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit');
export const diskKeySchema = z.string().min(1).max(256);
export const sizeSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const urlSchema = z
  .string()
  .url()
  .refine((u) => /^(https?|file):\/\//i.test(u), 'must be an http(s) URL (file: only where the service allows a file directory)');
export const thumbprintSchema = z.string().refine((t) => {
  try {
    normalizeThumbprint(t);
    return true;
  } catch {
    return false;
  }
}, 'must be a SHA-1 (or SHA-256) thumbprint in colon hex, e.g. AB:CD:…');

export function rollUp(disks: DiskStatus[]): { bytesDone: number; bytesTotal: number } {
  return { bytesDone: disks.reduce((a, d) => a + d.bytesDone, 0), bytesTotal: disks.reduce((a, d) => a + d.size, 0) };
}

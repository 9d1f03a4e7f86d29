/**
 * Worker thread of ChunkWorkers (chunk-workers.ts): hashes chunks handed over (shared slab slots,
 * or transferred memory; never copied), checks them for all-zero, and optionally probes their
 * compressibility, then answers (handing transferred memory back).
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { isAllZero, sampleRatio } from './chunk-codec';

export interface ChunkJob {
  id: number;
  /** A shared slot (ChunkSlab) or memory transferred with the message. */
  data: ArrayBuffer | SharedArrayBuffer;
  offset: number;
  length: number;
  /** Check for all-zero first (a zero chunk is not hashed). */
  zeroCheck: boolean;
  /** Deflate level for the compressibility probe; none = no probe. */
  probeLevel?: number;
}

export interface ChunkResult {
  id: number;
  /** Transferred memory handed back (absent for a shared slot). */
  data?: ArrayBuffer;
  zero: boolean;
  sha256?: ArrayBuffer;
  sampleRatio?: number;
  error?: string;
}

parentPort?.on('message', (job: ChunkJob) => {
  const buf = Buffer.from(job.data, job.offset, job.length);
  const shared = job.data instanceof SharedArrayBuffer;
  const out: ChunkResult = { id: job.id, data: shared ? undefined : (job.data as ArrayBuffer), zero: false };
  try {
    if (job.zeroCheck && isAllZero(buf)) out.zero = true;
    else {
      const d = createHash('sha256').update(buf).digest();
      out.sha256 = d.buffer.slice(d.byteOffset, d.byteOffset + d.length);
      if (job.probeLevel !== undefined) out.sampleRatio = sampleRatio(buf, job.probeLevel);
    }
  } catch (err) {
    out.error = (err as Error).message;
  }
  parentPort!.postMessage(out, shared ? [] : [job.data as ArrayBuffer]);
});

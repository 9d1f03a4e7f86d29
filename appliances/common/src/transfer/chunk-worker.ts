/**
 * Worker thread of ChunkWorkers (chunk-workers.ts): hashes chunks handed over (shared slab slots,
 * or transferred memory; never copied), checks them for all-zero, and optionally probes their
 * compressibility, then answers (handing transferred memory back).
 */
import { parentPort } from 'node:worker_threads';
import { inspectChunk } from './chunk-codec';

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
    const f = inspectChunk(buf, job.zeroCheck, job.probeLevel);
    out.zero = f.zero;
    out.sampleRatio = f.sampleRatio;
    if (f.sha256) out.sha256 = new Uint8Array(f.sha256).buffer; // a copy of the 32 bytes, its own ArrayBuffer
  } catch (err) {
    out.error = (err as Error).message;
  }
  parentPort!.postMessage(out, shared ? [] : [job.data as ArrayBuffer]);
});

import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ChunkInspection, inspectChunk } from './chunk-codec';
import type { ChunkJob, ChunkResult } from './chunk-worker';

export interface ChunkFacts extends ChunkInspection {
  /** The chunk's bytes: the same memory, handed back by the worker (the Buffer passed in is detached). */
  buf: Buffer;
}

/** Below this, the hand-over costs more than the work: done inline. */
const INLINE_BELOW = 256 << 10;

/**
 * The per-chunk CPU work of the engine (SHA-256, zero check, compressibility probe) on worker
 * threads, so that the main thread keeps to TLS and I/O and both cores work. Chunks in slab
 * slots (ChunkSlab) are shared with the worker; others are transferred to it and back; none is
 * copied. (WebCrypto's digest, used before, copies
 * its input on the calling thread first: measured here it cost the main thread as much as
 * hashing inline.)
 *
 * One pool per process (`ChunkWorkers.shared`), workers started on first use; an idle pool does
 * not keep the process alive.
 */
export class ChunkWorkers {
  private static instance: ChunkWorkers | undefined;
  private readonly workers: Array<{ worker: Worker; busy: number }> = [];
  private readonly jobs = new Map<number, { slot: { worker: Worker; busy: number }; resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  constructor(private readonly size = 2) {}

  static get shared(): ChunkWorkers {
    return (ChunkWorkers.instance ??= new ChunkWorkers());
  }

  /**
   * Zero check (optional), SHA-256 and probe of `buf`. Use the returned `buf`: a Buffer that
   * owns its memory is handed to the worker and comes back as a new Buffer over the same bytes.
   */
  async inspect(buf: Buffer, opts: { zeroCheck?: boolean; probeLevel?: number } = {}): Promise<ChunkFacts> {
    const zeroCheck = opts.zeroCheck ?? true;
    const shared = buf.buffer instanceof SharedArrayBuffer;
    if (buf.length < INLINE_BELOW || (!shared && !ownsMemory(buf))) return { buf, ...inspectChunk(buf, zeroCheck, opts.probeLevel) };
    const length = buf.length;
    const r = await this.run({ id: 0, data: buf.buffer, offset: buf.byteOffset, length, zeroCheck, probeLevel: opts.probeLevel });
    if (r.error) throw new Error(`chunk worker: ${r.error}`);
    return {
      buf: r.data ? Buffer.from(r.data, 0, length) : buf,
      zero: r.zero,
      sha256: r.sha256 ? Buffer.from(r.sha256) : undefined,
      sampleRatio: r.sampleRatio,
    };
  }

  /** SHA-256 only. */
  async sha256(buf: Buffer): Promise<{ buf: Buffer; sha256: Buffer }> {
    const f = await this.inspect(buf, { zeroCheck: false });
    return { buf: f.buf, sha256: f.sha256! };
  }

  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((s) => s.worker.terminate()));
    if (ChunkWorkers.instance === this) ChunkWorkers.instance = undefined;
  }

  private run(job: ChunkJob): Promise<ChunkResult> {
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { slot, resolve, reject });
      if (slot.busy++ === 0) slot.worker.ref(); // a pending job keeps the process alive, an idle pool does not
      slot.worker.postMessage({ ...job, id }, job.data instanceof SharedArrayBuffer ? [] : [job.data]);
    });
  }

  /** The least busy worker; another is started while all are busy and the pool is not full. */
  private pick(): { worker: Worker; busy: number } {
    if (this.workers.length < this.size && this.workers.every((s) => s.busy > 0)) this.start();
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  private start(): void {
    const slot = { worker: new Worker(join(__dirname, 'chunk-worker.js')), busy: 0 };
    slot.worker.on('message', (r: ChunkResult) => {
      const j = this.jobs.get(r.id);
      if (!j) return;
      this.jobs.delete(r.id);
      if (--slot.busy === 0) slot.worker.unref();
      j.resolve(r);
    });
    const fail = (err: Error): void => {
      for (const [id, j] of this.jobs) {
        if (j.slot !== slot) continue;
        this.jobs.delete(id);
        j.reject(err);
      }
      // A dead worker is replaced on the next use.
      const at = this.workers.indexOf(slot);
      if (at >= 0) this.workers.splice(at, 1);
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => fail(new Error(`chunk worker exited (${code})`)));
    slot.worker.unref(); // after the listeners: adding a 'message' listener refs the worker again
    this.workers.push(slot);
  }
}

/** True when `buf` is the whole of a non-shared ArrayBuffer (so it can be transferred). */
function ownsMemory(buf: Buffer): boolean {
  return buf.byteOffset === 0 && buf.buffer.byteLength === buf.length && buf.buffer instanceof ArrayBuffer;
}

import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let h = createHash('sha256');
parentPort.on('message', (m) => {
  if (m === 'digest') { parentPort.postMessage(h.digest('hex')); h = createHash('sha256'); return; }
  h.update(new Uint8Array(m));
});
`;

/**
 * Measured here (2 shared cores): copying a chunk into a transferable buffer and posting it
 * costs the main thread about as much as hashing it (~750 MiB/s), so the engine hashes inline
 * (`useWorker = false`); the worker mode stays for zero-copy sources (SharedArrayBuffer) later.
 *
 * The whole-disk SHA-256, computed on a worker thread so that the main thread (framing, TLS)
 * and the hash use both cores. Bytes are hashed in the order of `update` calls; each call
 * copies its buffer (memcpy, ~10 GB/s) and transfers the copy to the worker.
 * `close()` ends the worker; a hasher that was never used starts no thread.
 */
export class DiskHasher {
  private worker: Worker | undefined;
  private failed: Error | undefined;
  private readonly inline = createHash('sha256');
  private pending: Array<(d: string) => void> = [];

  /** Hashes on the main thread instead (tiny disks, tests). */
  constructor(private readonly useWorker = true) {}

  update(buf: Buffer): void {
    if (!this.useWorker) {
      this.inline.update(buf);
      return;
    }
    const w = this.start();
    const copy = new ArrayBuffer(buf.length);
    new Uint8Array(copy).set(buf);
    w.postMessage(copy, [copy]);
  }

  async digest(): Promise<string> {
    if (!this.useWorker) return this.inline.digest('hex');
    const w = this.start();
    if (this.failed) throw this.failed;
    return new Promise<string>((resolve) => {
      this.pending.push(resolve);
      w.postMessage('digest');
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (!this.worker) {
      this.worker = new Worker(WORKER, { eval: true });
      this.worker.unref();
      this.worker.on('message', (d: string) => this.pending.shift()?.(d));
      this.worker.on('error', (e) => (this.failed = e));
    }
    return this.worker;
  }
}

import { open, type FileHandle } from 'node:fs/promises';
import { ChunkWorkers, DIGEST_BLOCK, DiskDigest, HttpPutSink, Logger } from '@hdm/appliance-common';

/** Pieces read and sent: the disk digest's blocks, so that whole ones are hashed off the main thread. */
const PIECE = DIGEST_BLOCK;

/**
 * Streams a staged disk into its import lease (one PUT, as vCenter's NFC upload takes it)
 * while the disk is still arriving: it follows the staged image's durable prefix, so the
 * upload runs behind the WAN transfer instead of after it. It outlives the data connections
 * of its disk (a broken link only pauses it at the durable prefix) and digests what it sent,
 * which is what the disk's end-to-end check compares. A PUT cannot resume: if it fails, the
 * next session of the disk starts a new uploader from byte 0 (the staged prefix is local).
 */
export class LeaseUploader {
  private durable = 0;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly result: Promise<string>;
  private readonly put: HttpPutSink;
  private stopped = false;

  constructor(
    readonly uploadUrl: string,
    private readonly imagePath: string,
    readonly size: number,
    lease: { cookie?: string; thumbprint?: string },
    private readonly log: Logger,
  ) {
    this.put = new HttpPutSink({ url: uploadUrl, cookie: lease.cookie, thumbprint: lease.thumbprint }, size);
    this.result = this.run();
    this.result.catch((err: Error) => (this.failure ??= err));
  }

  /** Failed (PUT refused or broken): a new uploader is needed. */
  get failed(): boolean {
    return !!this.failure;
  }

  /** The staged image is durable up to `bytes`. */
  advance(bytes: number): void {
    if (bytes <= this.durable) return;
    this.durable = Math.min(bytes, this.size);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Resolves with the disk digest of what the lease received, once the PUT was answered 2xx. */
  finished(): Promise<string> {
    return this.result;
  }

  abort(reason = new Error('upload aborted')): void {
    this.failure ??= reason;
    this.stopped = true;
    void this.put.abort(reason);
    this.wake?.();
  }

  private async run(): Promise<string> {
    const digest = new DiskDigest(this.size);
    let fh: FileHandle | undefined;
    let pos = 0;
    try {
      while (pos < this.size) {
        if (this.stopped) throw this.failure ?? new Error('upload aborted');
        if (pos >= this.durable) {
          await new Promise<void>((r) => (this.wake = r));
          continue;
        }
        fh ??= await open(this.imagePath, 'r');
        const n = Math.min(PIECE - (pos % PIECE), this.durable - pos); // on the digest's 4 MiB grid
        let buf: Buffer = Buffer.allocUnsafe(n);
        let at = 0;
        while (at < n) {
          const { bytesRead } = await fh.read(buf, at, n - at, pos + at);
          if (bytesRead === 0) throw new Error(`staged image ended at ${pos + at} of ${this.size}`);
          at += bytesRead;
        }
        if (n === Math.min(PIECE, this.size - pos) && pos % PIECE === 0) {
          const hashed = await ChunkWorkers.shared.sha256(buf); // a whole block: hashed off the main thread
          buf = hashed.buf;
          digest.add(pos, buf, hashed.sha256);
        } else digest.add(pos, buf);
        await this.put.write(buf);
        pos += n;
      }
      await this.put.finish();
      this.log.info({ bytes: this.size }, 'staged disk uploaded to the lease');
      return digest.digest();
    } catch (err) {
      await this.put.abort(err as Error);
      throw err;
    } finally {
      await fh?.close();
    }
  }
}

import { createHash } from 'node:crypto';
import { DEFAULT_MAX_PAYLOAD, Frame, FrameError, FrameHeader, FrameType, HEADER_SIZE, parseHeader } from './frame';

export interface DecoderOptions {
  maxPayload?: number;
  /**
   * Called for a well-formed frame whose payload does not match its SHA-256. The frame is
   * dropped and decoding continues with the next one (the receiver re-requests the chunk).
   * Without it, such a frame makes `push` throw a FrameError('hash-mismatch').
   */
  onCorrupt?: (error: FrameError) => void;
  /**
   * Leave the payload hash of DATA frames to the consumer (frames come out with
   * `unverified: true`): it can check them off the main thread. Default false.
   */
  deferDataVerify?: boolean;
  /**
   * Where DATA payloads are assembled (a ChunkSlab): `take(n)` gives the buffer, `give(b)` takes
   * back one the decoder dropped (a payload that failed its hash). Default: fresh buffers.
   */
  payloads?: { take(length: number): Buffer; give(buf: Buffer): void };
}

/** Payloads at least this large are filled as their bytes arrive (the TLS records then die young). */
const STREAM_FILL = 64 << 10;

/**
 * Incremental frame decoder: feed it whatever TCP delivers, get complete, verified frames.
 * Buffers at most one header plus one payload (≤ maxPayload). After a structural error
 * (bad magic/version/type/length) the stream cannot be resynchronised: every later push throws.
 */
export class FrameDecoder {
  private readonly maxPayload: number;
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private header: FrameHeader | undefined;
  /** The payload being filled (large frames), and how much of it is. */
  private payload: Buffer | undefined;
  private filled = 0;
  private failed: FrameError | undefined;

  constructor(private readonly opts: DecoderOptions = {}) {
    this.maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** Bytes received but not yet part of a returned frame. */
  get pending(): number {
    return this.buffered + this.filled;
  }

  push(buf: Buffer): Frame[] {
    if (this.failed) throw this.failed;
    if (buf.length > 0) {
      this.chunks.push(buf);
      this.buffered += buf.length;
    }
    const out: Frame[] = [];
    for (;;) {
      if (!this.header) {
        if (this.buffered < HEADER_SIZE) break;
        try {
          this.header = parseHeader(this.take(HEADER_SIZE), this.maxPayload);
        } catch (err) {
          this.failed = err instanceof FrameError ? err : new FrameError('bad-type', String(err));
          throw this.failed;
        }
      }
      const h = this.header;
      let payload: Buffer;
      if (h.length >= STREAM_FILL) {
        this.payload ??= h.type === FrameType.DATA && this.opts.payloads ? this.opts.payloads.take(h.length) : Buffer.allocUnsafe(h.length);
        this.filled = this.fill(this.payload, this.filled);
        if (this.filled < h.length) break;
        payload = this.payload;
        this.payload = undefined;
        this.filled = 0;
      } else {
        if (this.buffered < h.length) break;
        payload = this.take(h.length);
      }
      this.header = undefined;
      if (this.opts.deferDataVerify && h.type === FrameType.DATA) {
        out.push({ type: h.type, flags: h.flags, stream: h.stream, offset: h.offset, payload, sha256: h.sha256, unverified: true });
        continue;
      }
      const digest = createHash('sha256').update(payload).digest();
      if (!digest.equals(h.sha256)) {
        const err = new FrameError(
          'hash-mismatch',
          `payload of frame type ${h.type} stream ${h.stream} offset ${h.offset} (${h.length} bytes) does not match its SHA-256`,
          h,
        );
        this.opts.payloads?.give(payload);
        if (this.opts.onCorrupt) {
          this.opts.onCorrupt(err);
          continue;
        }
        throw err;
      }
      out.push({ type: h.type, flags: h.flags, stream: h.stream, offset: h.offset, payload, sha256: h.sha256 });
    }
    return out;
  }

  /** Call when the byte stream ended: throws FrameError('truncated') if a frame was cut off. */
  end(): void {
    if (this.failed) return;
    if (this.header || this.buffered > 0) {
      const what = this.header
        ? `payload of ${this.header.length} bytes has only ${this.buffered + this.filled}`
        : `${this.buffered} bytes of a ${HEADER_SIZE}-byte header`;
      this.failed = new FrameError('truncated', `stream ended inside a frame: ${what}`, this.header);
      throw this.failed;
    }
  }

  /** Moves buffered bytes into `dst` from `at` on (as many as there are, up to its end); returns the new fill. */
  private fill(dst: Buffer, at: number): number {
    while (at < dst.length && this.chunks.length) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, dst.length - at);
      c.copy(dst, at, 0, k);
      at += k;
      this.buffered -= k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return at;
  }

  /** Removes and returns the first n buffered bytes (n ≤ buffered). */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length === n) {
      this.chunks.shift();
      this.buffered -= n;
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    this.fill(out, 0);
    return out;
  }
}

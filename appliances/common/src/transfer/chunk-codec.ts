import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { constants as zc, deflateRaw, deflateRawSync, inflateRaw } from 'node:zlib';
import { FrameFlags } from '../frames/frame';

const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);

/**
 * Data reduction of DATA frames (negotiated per session through HELLO `features`):
 *
 * | flag    | payload                                   | receiver                                  |
 * |---------|-------------------------------------------|-------------------------------------------|
 * | (none)  | the chunk                                 | writes it                                 |
 * | ZERO    | u32 length                                | the chunk is `length` zero bytes          |
 * | DEFLATE | raw deflate of the chunk                  | inflates (bounded to MAX_CHUNK) and writes|
 * | DEDUP   | SHA-256 (32) + u32 length of an earlier chunk | copies it from what it already wrote  |
 * | KEEP    | u32 length (deltas)                       | leaves its previous version of the bytes  |
 *
 * At most one of the three. The frame header's hash covers the payload as sent (checked by the
 * decoder); the chunk itself is covered by the disk SHA-256 at DISK_DONE, and a DEDUP copy is
 * re-hashed before it is written. Anything the receiver cannot decode (unknown reference,
 * inflate error, wrong length) is NACKed: the sender then resends the plain chunk.
 */
export const CHUNK_FLAGS = FrameFlags.ZERO | FrameFlags.DEFLATE | FrameFlags.DEDUP | FrameFlags.KEEP;

/** Features (HELLO) that enable each encoding. */
export const REDUCTION_FEATURES = ['zero', 'deflate', 'dedup'] as const;

const ZEROS = Buffer.alloc(4 << 20);

export function isAllZero(buf: Buffer): boolean {
  let at = 0;
  while (at < buf.length) {
    const n = Math.min(ZEROS.length, buf.length - at);
    if (!buf.subarray(at, at + n).equals(ZEROS.subarray(0, n))) return false;
    at += n;
  }
  return true;
}

export function zeroBuffer(length: number): Buffer {
  return length <= ZEROS.length ? ZEROS.subarray(0, length) : Buffer.alloc(length);
}

export function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/**
 * Adaptive compression policy, per disk: compress a chunk only when it pays.
 * - Probe: before a chunk is deflated, a 32 KiB sample of it (4 × 8 KiB spread over the chunk)
 *   is deflated inline (~0.2 ms); a chunk whose sample does not shrink below `maxRatio` is sent
 *   plain without a trial. Incompressible data (encrypted, already compressed) thus costs one
 *   small probe per chunk instead of whole-chunk trials that also stall the in-order send.
 * - Ratio: a chunk that passed the probe but does not shrink below `maxRatio` as a whole is
 *   sent plain and the next ones are not tried (back-off doubling to 16 chunks).
 * - CPU: compression runs in libuv's thread pool (zlib async, off the main thread). It pays
 *   only if it delivers logical bytes faster than the link would carry them plain:
 *   min(compressRate, linkRate / ratio) > linkRate. When the measured compression rate is
 *   below the link rate (unshaped links, 2 cores), chunks go plain, with the same back-off.
 */
export class CompressionPolicy {
  private skip = 0;
  private backoff = 1;
  /** Bytes of input per second of one compression job (EWMA). */
  private compressRate = 0;
  private ratio = 1;
  /** Logical-on-wire bytes per second the link currently carries (set by the sender). */
  linkRate = 0;
  tried = 0;
  used = 0;
  /** Chunks whose sample said "incompressible" (not tried). */
  probedOut = 0;
  /** Trials running; while the last one did not pay (or none finished), one at a time. */
  private pending = 0;
  private lastPaid = false;

  constructor(readonly opts: { maxRatio?: number; parallelism?: number; level?: number; enabled?: boolean } = {}) {}

  get enabled(): boolean {
    return this.opts.enabled !== false;
  }

  /** Whether to deflate a chunk whose sample probe (sampleRatio) gave `probe`, when one ran. */
  shouldTry(probe?: number): boolean {
    if (this.opts.enabled === false) return false;
    if (this.skip > 0) {
      this.skip--;
      return false;
    }
    if (probe !== undefined && probe > (this.opts.maxRatio ?? 0.9)) {
      this.probedOut++;
      return false;
    }
    if (this.pending > 0 && !this.lastPaid) return false;
    this.pending++;
    return true;
  }

  /** After a compression attempt: `ms` wall time of the job. Returns whether to use the result. */
  record(inBytes: number, outBytes: number, ms: number): boolean {
    this.tried++;
    this.pending = Math.max(0, this.pending - 1);
    const r = outBytes / Math.max(1, inBytes);
    const rate = inBytes / Math.max(0.05, ms) * 1000;
    this.compressRate = this.compressRate ? this.compressRate * 0.7 + rate * 0.3 : rate;
    this.ratio = this.ratio * 0.7 + r * 0.3;
    const pays = r <= (this.opts.maxRatio ?? 0.9) && this.cpuPays(r);
    this.lastPaid = pays;
    if (pays) {
      this.backoff = 1;
      this.used++;
    } else {
      this.skip = this.backoff;
      this.backoff = Math.min(16, this.backoff * 2);
    }
    return pays;
  }

  private cpuPays(r: number): boolean {
    if (!this.linkRate) return true;
    const parallel = this.opts.parallelism ?? 2;
    return Math.min(this.compressRate * parallel, this.linkRate / r) > this.linkRate * 1.05;
  }

  snapshot(): { compressRate: number; ratio: number; tried: number; used: number } {
    return { compressRate: Math.round(this.compressRate), ratio: Number(this.ratio.toFixed(3)), tried: this.tried, used: this.used };
  }
}

const SAMPLE_PIECES = 4;
const SAMPLE_PIECE = 8 << 10;

/** Deflated size / size of a 32 KiB sample (4 pieces spread over the chunk); small chunks whole. */
export function sampleRatio(chunk: Buffer, level = 1): number {
  let sample = chunk;
  if (chunk.length > SAMPLE_PIECES * SAMPLE_PIECE * 2) {
    const step = Math.floor(chunk.length / SAMPLE_PIECES);
    sample = Buffer.concat(Array.from({ length: SAMPLE_PIECES }, (_, i) => chunk.subarray(i * step, i * step + SAMPLE_PIECE)));
  }
  if (sample.length === 0) return 1;
  return deflateRawSync(sample, { level }).length / sample.length;
}

export async function deflateChunk(buf: Buffer, level = 1): Promise<Buffer> {
  return deflateRawAsync(buf, { level, strategy: zc.Z_DEFAULT_STRATEGY });
}

/** Raised for a DATA payload that cannot be turned back into its chunk: the receiver NACKs it. */
export class ChunkDecodeError extends Error {
  readonly code = 'ERR_HDM_CHUNK_DECODE';
}

/** `hash`: the chunk's SHA-256 when decoding established it (a DEDUP reference). */
export type DecodedChunk = { kind: 'data'; data: Buffer; hash?: Buffer } | { kind: 'zero'; length: number } | { kind: 'keep'; length: number };

/** Looks up the bytes of an earlier chunk by its SHA-256 (the receiver's chunk index). */
export type ChunkLookup = (sha256: Buffer, length: number) => Promise<Buffer | undefined>;

/**
 * Turns a verified DATA frame's payload back into its chunk. `maxChunk` bounds every result
 * (and the inflate output: no decompression bomb). Throws ChunkDecodeError for anything else.
 */
export async function decodeChunk(flags: number, payload: Buffer, maxChunk: number, lookup?: ChunkLookup): Promise<DecodedChunk> {
  const kind = flags & CHUNK_FLAGS;
  if (kind === 0) return { kind: 'data', data: payload };
  if (kind === FrameFlags.ZERO || kind === FrameFlags.KEEP) {
    const name = kind === FrameFlags.ZERO ? 'ZERO' : 'KEEP';
    if (payload.length !== 4) throw new ChunkDecodeError(`${name} payload of ${payload.length} bytes (want 4)`);
    const length = payload.readUInt32BE(0);
    if (length === 0 || length > maxChunk) throw new ChunkDecodeError(`${name} length ${length} outside 1..${maxChunk}`);
    return { kind: kind === FrameFlags.ZERO ? 'zero' : 'keep', length };
  }
  if (kind === FrameFlags.DEFLATE) {
    if (payload.length === 0) throw new ChunkDecodeError('empty DEFLATE payload');
    let data: Buffer;
    try {
      data = await inflateRawAsync(payload, { maxOutputLength: maxChunk });
    } catch (err) {
      throw new ChunkDecodeError(`DEFLATE payload does not inflate: ${(err as Error).message}`);
    }
    if (data.length === 0) throw new ChunkDecodeError('DEFLATE payload inflates to nothing');
    return { kind: 'data', data };
  }
  if (kind === FrameFlags.DEDUP) {
    if (payload.length !== 36) throw new ChunkDecodeError(`DEDUP payload of ${payload.length} bytes (want 36)`);
    const length = payload.readUInt32BE(32);
    if (length === 0 || length > maxChunk) throw new ChunkDecodeError(`DEDUP length ${length} outside 1..${maxChunk}`);
    const want = payload.subarray(0, 32);
    const data = lookup ? await lookup(want, length).catch(() => undefined) : undefined;
    if (!data) throw new ChunkDecodeError(`DEDUP reference ${want.toString('hex').slice(0, 16)}… unknown here`);
    if (data.length !== length || !createHash('sha256').update(data).digest().equals(want)) {
      throw new ChunkDecodeError(`DEDUP reference ${want.toString('hex').slice(0, 16)}… does not match what was written`);
    }
    return { kind: 'data', data, hash: Buffer.from(want) };
  }
  throw new ChunkDecodeError(`more than one chunk encoding in flags 0x${flags.toString(16)}`);
}

/**
 * The receiver's chunk index: SHA-256 of a chunk → where it was written. Shared by the disks
 * of one job (cloud-manager keeps one per import), bounded (oldest entries dropped).
 */
export class ChunkIndex {
  private readonly map = new Map<string, { read: (offset: number, length: number) => Promise<Buffer>; offset: number; length: number }>();

  constructor(private readonly maxEntries = 1 << 20) {}

  get size(): number {
    return this.map.size;
  }

  add(sha256: Buffer, length: number, offset: number, read: (offset: number, length: number) => Promise<Buffer>): void {
    const key = sha256.toString('hex');
    if (this.map.has(key)) return;
    if (this.map.size >= this.maxEntries) this.map.delete(this.map.keys().next().value as string);
    this.map.set(key, { read, offset, length });
  }

  lookup: ChunkLookup = async (sha256, length) => {
    const e = this.map.get(sha256.toString('hex'));
    if (!e || e.length !== length) return undefined;
    return e.read(e.offset, e.length);
  };
}

/** The sender's view of what the receiver has indexed (shared by the disks of one job). */
export class SentChunks {
  private readonly set = new Set<string>();

  constructor(private readonly maxEntries = 1 << 20) {}

  has(sha256: Buffer): boolean {
    return this.set.has(sha256.toString('hex'));
  }

  add(sha256: Buffer): void {
    if (this.set.size >= this.maxEntries) this.set.delete(this.set.values().next().value as string);
    this.set.add(sha256.toString('hex'));
  }

  forget(sha256: Buffer): void {
    this.set.delete(sha256.toString('hex'));
  }
}

import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants as zc, deflateRaw, deflateRawSync, inflateRaw } from 'node:zlib';
import { compress as lz4Compress, uncompress as lz4Uncompress } from 'lz4-napi';
import { FrameFlags } from '../frames/frame';

const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);
const brotliCompressAsync = promisify(brotliCompress);
const brotliDecompressAsync = promisify(brotliDecompress);

/**
 * Data reduction of DATA frames (negotiated per session through HELLO `features`):
 *
 * | flag    | payload                                   | receiver                                  |
 * |---------|-------------------------------------------|-------------------------------------------|
 * | (none)  | the chunk                                 | writes it                                 |
 * | ZERO    | u32 length                                | the chunk is `length` zero bytes          |
 * | DEFLATE | raw deflate of the chunk                  | inflates (bounded to MAX_CHUNK) and writes|
 * | LZ4     | u32 LE size + LZ4 block of the chunk      | size ≤ MAX_CHUNK checked first, decodes   |
 * | BROTLI  | u32 LE size + brotli stream of the chunk  | size ≤ MAX_CHUNK checked first, decodes   |
 * |         |                                           | with output bounded to that size          |
 * | DEDUP   | SHA-256 (32) + u32 length of an earlier chunk | copies it from what it already wrote  |
 * | KEEP    | u32 length (deltas)                       | leaves its previous version of the bytes  |
 *
 * At most one of them. The frame header's hash covers the payload as sent (checked by the
 * decoder); the chunk itself is covered by the disk SHA-256 at DISK_DONE, and a DEDUP copy is
 * re-hashed before it is written. Anything the receiver cannot decode (unknown reference,
 * inflate/LZ4/brotli error, wrong length) is NACKed: the sender then resends the plain chunk.
 */
export const CHUNK_FLAGS = FrameFlags.ZERO | FrameFlags.DEFLATE | FrameFlags.LZ4 | FrameFlags.BROTLI | FrameFlags.DEDUP | FrameFlags.KEEP;

/** Features (HELLO) that enable each encoding. */
export const REDUCTION_FEATURES = ['zero', 'deflate', 'lz4', 'brotli', 'dedup'] as const;

/** Whole-chunk compressors (each is also the HELLO feature that enables it). */
export type Codec = 'lz4' | 'deflate' | 'brotli';

/** Every codec, in the order of preference while the link's capacity is unknown (fastest first). */
export const CODECS: readonly Codec[] = ['lz4', 'brotli', 'deflate'];

/**
 * Levels the policy may climb per codec, fastest first. Brotli: quality 1 is as fast as LZ4 here
 * with deflate-6's ratio, 2 trades ~40 % of that speed for ~9 % less output, 4 halves it again
 * for ~4 % (3 is 2's ratio, slower). lz4-napi (lz4_flex) has no levels; deflate keeps its one
 * configured level (brotli beats it at each speed; it stays for peers without brotli).
 */
export const CODEC_LEVELS: Readonly<Record<Codec, readonly number[]>> = { lz4: [0], deflate: [1], brotli: [1, 2, 4] };

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

/** A codec at one of its levels (CODEC_LEVELS). */
export interface Coding {
  codec: Codec;
  level: number;
}

/** Codings from the cheapest per byte to the dearest (single-core figures on OS images, codec bench). */
function costRank(c: Coding): number {
  if (c.codec === 'lz4') return 0;
  if (c.codec === 'deflate') return 3; // ~80 MB/s: between brotli 2 (~120) and 4 (~50)
  return c.level <= 1 ? 1 : c.level <= 2 ? 2 : 4;
}

interface Estimate {
  /** Input bytes per second of one job (EWMA). */
  rate: number;
  /** Output / input (EWMA). */
  ratio: number;
  n: number;
}

/**
 * Adaptive compression policy, per disk: compress a chunk only when it pays, with the codec
 * and level that move the most logical bytes.
 * - Probe: before a chunk is compressed, a 32 KiB sample of it (4 × 8 KiB spread over the chunk)
 *   is deflated (~0.2 ms, on the chunk workers); a chunk whose sample does not shrink below
 *   `maxRatio` is sent plain without a trial. Incompressible data (encrypted, already
 *   compressed) thus costs one small probe per chunk instead of whole-chunk trials that also
 *   stall the in-order send. The probe is deflate for every codec: it predicts compressibility.
 * - Ratio: a chunk that passed the probe but does not shrink below `maxRatio` as a whole is
 *   sent plain and the next ones are not tried (back-off doubling to 16 chunks).
 * - CPU: compression runs in libuv's thread pool (zlib async / lz4-napi, off the main thread).
 *   Per codec and level, EWMAs of its rate (input bytes per second of one job) and ratio. A
 *   coding delivers min(rate × parallelism, linkRate / ratio) logical bytes per second; it pays
 *   only if that beats the link carrying them plain (× 1.05). When the measured rate is below
 *   the link rate (unshaped links, 2 cores), chunks go plain, with the same back-off.
 * - Choice among the negotiated codecs: the fastest (CODECS order: LZ4 first) while the link
 *   rate is not known (no send has waited for the link: the average wire rate is only a lower
 *   bound then, and a CPU-bound link wants the cheapest codec); once it is, each codec is tried
 *   and the one with the highest throughput by that formula wins (see "cheaper first").
 * - Level: the winner climbs its CODEC_LEVELS while its best level so far leaves CPU headroom
 *   (rate × parallelism ≥ CLIMB_HEADROOM × what the link takes of it: linkRate / ratio), i.e.
 *   while the link, not the CPU, is the limit and a stronger level may cut the wire bytes; each
 *   level is measured, and the highest throughput keeps winning (a level above must beat the
 *   one below by 2 %: ratios are measured on different chunks). So at 200 Mbit/s brotli climbs
 *   to quality 2 or 4, at 1 Gbit/s (CPU-bound) everything stays at the fastest level.
 * - Cheaper first: a codec dearer per byte (costRank) than the cheapest measured one must
 *   promise SWITCH_GAIN × its throughput. A job's measured rate cannot see what the rest of the
 *   pipeline needs (hashing, TLS, reads; a receiver on the same host): at 1 Gbit/s on 2 cores
 *   brotli 1 looked up to ~20 % better than LZ4 on paper (the link takes 119 / 0.37 MB/s of it
 *   vs 119 / 0.48) and made the transfer 25 % slower; at 200 Mbit/s it promises ~30 % more and
 *   delivers it.
 * - Explore: every EXPLORE_EVERY-th compressed chunk goes to the coding measured longest ago
 *   among the other codecs (at their best level) and the winner's neighbouring levels, to keep
 *   their figures current as the data and the load change.
 */
export class CompressionPolicy {
  static readonly EXPLORE_EVERY = 32;
  static readonly CLIMB_HEADROOM = 1.5;
  static readonly SWITCH_GAIN = 1.15;
  private skip = 0;
  private backoff = 1;
  private readonly est = new Map<string, Estimate & { at: number }>();
  /** Codecs offered at the last pick (what record() may fall back on). */
  private offered: Codec[] = ['deflate'];
  private sinceExplore = 0;
  /** Logical-on-wire bytes per second the link currently carries (set by the sender). */
  linkRate = 0;
  /**
   * Whether sends have waited for the link (set by the sender): only then is linkRate the
   * link's capacity rather than a lower bound, and slower codecs and levels considered.
   */
  linkLimited = false;
  tried = 0;
  used = 0;
  /** Chunks whose sample said "incompressible" (not tried). */
  probedOut = 0;
  /** Trials running; while the last one did not pay, one at a time. */
  private pending = 0;
  private lastPaid = false;

  constructor(readonly opts: { maxRatio?: number; parallelism?: number; level?: number; enabled?: boolean } = {}) {}

  get enabled(): boolean {
    return this.opts.enabled !== false;
  }

  /** The levels the policy uses for `codec` (deflate: the configured one). */
  levels(codec: Codec): readonly number[] {
    return codec === 'deflate' ? [this.opts.level ?? 1] : CODEC_LEVELS[codec];
  }

  /** Which of `codecs` (negotiated) to compress a chunk with (its codec only; see pickCoding). */
  pick(probe: number | undefined, codecs: readonly Codec[]): Codec | undefined {
    return this.pickCoding(probe, codecs)?.codec;
  }

  /**
   * Which of `codecs` (negotiated), at which level, to compress a chunk with, or none (send it
   * plain), given its sample probe (sampleRatio) when one ran. A pick must be followed by record().
   */
  pickCoding(probe: number | undefined, codecs: readonly Codec[]): Coding | undefined {
    if (!this.enabled || codecs.length === 0) return undefined;
    if (this.skip > 0) {
      this.skip--;
      return undefined;
    }
    if (probe !== undefined && probe > (this.opts.maxRatio ?? 0.9)) {
      this.probedOut++;
      return undefined;
    }
    // One trial at a time while the last one did not pay; before any result, chunks whose probe
    // said "compressible" are all tried (serialising them sent the first chunks of a disk plain).
    if (this.pending > 0 && !this.lastPaid && (probe === undefined || this.tried > 0)) return undefined;
    this.pending++;
    this.offered = [...codecs];
    return this.choose(codecs);
  }

  private choose(codecs: readonly Codec[]): Coding {
    const ordered = CODECS.filter((c) => codecs.includes(c));
    const fastest = (c: Codec): Coding => ({ codec: c, level: this.levels(c)[0]! });
    // Until the link is known to be full, the cheapest codec (LZ4 measured first when offered).
    if (!this.linkRate || !this.linkLimited || (ordered.includes('lz4') && !this.e({ codec: 'lz4', level: 0 }).n)) return fastest(ordered[0]!);
    const untried = ordered.find((c) => this.levels(c).every((level) => !this.e({ codec: c, level }).n));
    if (untried) return fastest(untried);
    // The best measured level of each codec; a dearer codec must beat a cheaper one by SWITCH_GAIN.
    const tops = ordered.map((c) => this.bestLevel(c)!).sort((x, y) => costRank(x) - costRank(y));
    let best = tops[0]!;
    for (const t of tops.slice(1)) if (this.throughput(t) > this.throughput(best) * CompressionPolicy.SWITCH_GAIN) best = t;
    // Climb: the next level up, untried, while this one leaves CPU headroom over the link.
    const levels = this.levels(best.codec);
    const up = levels[levels.indexOf(best.level) + 1];
    const e = this.e(best);
    if (up !== undefined && !this.e({ codec: best.codec, level: up }).n && e.rate * this.parallelism >= CompressionPolicy.CLIMB_HEADROOM * (this.linkRate / Math.max(0.01, e.ratio))) {
      return { codec: best.codec, level: up };
    }
    if (++this.sinceExplore >= CompressionPolicy.EXPLORE_EVERY) {
      this.sinceExplore = 0;
      const i = levels.indexOf(best.level);
      const others = [
        ...tops.filter((t) => t.codec !== best.codec),
        ...[levels[i - 1], levels[i + 1]].filter((l): l is number => l !== undefined).map((level) => ({ codec: best.codec, level })),
      ];
      // The one measured longest ago (never measured: at = 0).
      let stalest: Coding | undefined;
      for (const o of others) if (!stalest || this.e(o).at < this.e(stalest).at) stalest = o;
      return stalest ?? best;
    }
    return best;
  }

  /** The measured level of `codec` with the highest throughput (a higher one must win by 2 %); none if none was measured. */
  private bestLevel(codec: Codec): Coding | undefined {
    let best: Coding | undefined;
    for (const level of this.levels(codec)) {
      const c = { codec, level };
      if (!this.e(c).n) continue;
      if (!best || this.throughput(c) > this.throughput(best) * 1.02) best = c;
    }
    return best;
  }

  private e(c: Coding): Estimate & { at: number } {
    const key = `${c.codec}:${c.level}`;
    let e = this.est.get(key);
    if (!e) this.est.set(key, (e = { rate: 0, ratio: 1, n: 0, at: 0 }));
    return e;
  }

  private get parallelism(): number {
    return this.opts.parallelism ?? 2;
  }

  /** Logical bytes per second coding `c` would deliver over the link (its measured figures). */
  private throughput(c: Coding): number {
    return this.delivers(c, this.e(c).ratio);
  }

  /** min(rate × parallelism, linkRate / ratio): logical bytes per second with coding `c` at ratio `r`. */
  private delivers(c: Coding, r: number): number {
    const byCpu = this.e(c).rate * this.parallelism;
    return this.linkRate ? Math.min(byCpu, this.linkRate / Math.max(0.01, r)) : byCpu;
  }

  /**
   * After a compression attempt: `ms` wall time of the job, `codec` and `level` what ran
   * (default deflate, and the codec's fastest level). Returns whether to use the result.
   */
  record(inBytes: number, outBytes: number, ms: number, codec: Codec = 'deflate', level = this.levels(codec)[0]!): boolean {
    this.tried++;
    this.pending = Math.max(0, this.pending - 1);
    const coding = { codec, level };
    const r = outBytes / Math.max(1, inBytes);
    const rate = inBytes / Math.max(0.05, ms) * 1000;
    const e = this.e(coding);
    e.rate = e.rate ? e.rate * 0.7 + rate * 0.3 : rate;
    e.ratio = e.n ? e.ratio * 0.7 + r * 0.3 : r;
    e.n++;
    e.at = this.tried;
    const ratioOk = r <= (this.opts.maxRatio ?? 0.9);
    const pays = ratioOk && this.cpuPays(coding, r);
    this.lastPaid = pays;
    if (pays) {
      this.backoff = 1;
      this.used++;
    } else if (!ratioOk || !this.offered.some((c) => {
      const b = this.bestLevel(c);
      return c !== codec && (!b || this.cpuPays(b, this.e(b).ratio));
    })) {
      // Back off, unless only the CPU rate failed and another offered codec may still pay.
      this.skip = this.backoff;
      this.backoff = Math.min(16, this.backoff * 2);
    }
    return pays;
  }

  private cpuPays(c: Coding, r: number): boolean {
    return !this.linkRate || this.delivers(c, r) > this.linkRate * 1.05;
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

/** What the engine learns of a chunk before sending it (on a chunk worker, or inline for small ones). */
export interface ChunkInspection {
  zero: boolean;
  /** SHA-256 of the chunk; absent for a zero chunk (when the zero check ran). */
  sha256?: Buffer;
  /** sampleRatio of the chunk, when a probe level was given. */
  sampleRatio?: number;
}

/** Zero check (optional), SHA-256 and compressibility probe (optional) of one chunk. */
export function inspectChunk(buf: Buffer, zeroCheck: boolean, probeLevel?: number): ChunkInspection {
  if (zeroCheck && isAllZero(buf)) return { zero: true };
  const sha256 = createHash('sha256').update(buf).digest();
  return { zero: false, sha256, sampleRatio: probeLevel === undefined ? undefined : sampleRatio(buf, probeLevel) };
}

/**
 * zlib's async convenience calls work in `chunkSize` output pieces (default 16 KiB), each one a
 * trip from the pool thread to the main thread and back into the pool's queue: a 4 MiB chunk
 * took ~100 trips to compress and ~256 to decode, queued behind reads and other jobs (the
 * measured "rate" of one job fell to a fifth of the codec's). One piece of the whole
 * expected output size makes each job one pass.
 */
function onePass(outBytes: number): number {
  return Math.max(64 << 10, outBytes + 1024);
}

export async function deflateChunk(buf: Buffer, level = 1): Promise<Buffer> {
  return deflateRawAsync(buf, { level, strategy: zc.Z_DEFAULT_STRATEGY, chunkSize: onePass(buf.length) });
}

/** LZ4 block of the chunk with its size prepended (u32 LE), compressed in libuv's pool. */
export async function lz4Chunk(buf: Buffer): Promise<Buffer> {
  return lz4Compress(buf);
}

/** Brotli stream of the chunk (quality `level`, 4 MiB window) with its size prepended (u32 LE), in libuv's pool. */
export async function brotliChunk(buf: Buffer, level = 1): Promise<Buffer> {
  const out = await brotliCompressAsync(buf, {
    chunkSize: onePass(buf.length),
    params: { [zc.BROTLI_PARAM_QUALITY]: level, [zc.BROTLI_PARAM_LGWIN]: 22, [zc.BROTLI_PARAM_SIZE_HINT]: buf.length },
  });
  return Buffer.concat([sizeLE(buf.length), out]);
}

/** The chunk encoded with `c` (the payload of its DATA frame). */
export async function encodeChunk(c: Coding, buf: Buffer): Promise<Buffer> {
  if (c.codec === 'lz4') return lz4Chunk(buf);
  if (c.codec === 'brotli') return brotliChunk(buf, c.level);
  return deflateChunk(buf, c.level);
}

function sizeLE(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n, 0);
  return b;
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
 * (and the inflate / LZ4 / brotli output: no decompression bomb). Throws ChunkDecodeError for anything else.
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
      data = await inflateRawAsync(payload, { maxOutputLength: maxChunk, chunkSize: onePass(maxChunk) });
    } catch (err) {
      throw new ChunkDecodeError(`DEFLATE payload does not inflate: ${(err as Error).message}`);
    }
    if (data.length === 0) throw new ChunkDecodeError('DEFLATE payload inflates to nothing');
    return { kind: 'data', data };
  }
  // lz4-napi allocates the size it reads: bound it before it does. Brotli's output is bounded to it.
  if (kind === FrameFlags.LZ4) return decodeSized('LZ4', payload, maxChunk, (p) => lz4Uncompress(p));
  if (kind === FrameFlags.BROTLI) {
    return decodeSized('BROTLI', payload, maxChunk, (p, length) => brotliDecompressAsync(p.subarray(4), { maxOutputLength: length, chunkSize: onePass(length) }));
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
 * A u32 LE size + encoded chunk payload (LZ4, BROTLI): the size is refused above maxChunk before
 * `decode` runs (it gets the whole payload and that size) and checked against what it returns.
 */
async function decodeSized(name: string, payload: Buffer, maxChunk: number, decode: (payload: Buffer, length: number) => Promise<Buffer>): Promise<DecodedChunk> {
  if (payload.length < 5) throw new ChunkDecodeError(`${name} payload of ${payload.length} bytes`);
  const length = payload.readUInt32LE(0);
  if (length === 0 || length > maxChunk) throw new ChunkDecodeError(`${name} size ${length} outside 1..${maxChunk}`);
  let data: Buffer;
  try {
    data = await decode(payload, length);
  } catch (err) {
    throw new ChunkDecodeError(`${name} payload does not decode: ${(err as Error).message}`);
  }
  if (data.length !== length) throw new ChunkDecodeError(`${name} payload decodes to ${data.length} bytes, not the ${length} it announces`);
  return { kind: 'data', data };
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

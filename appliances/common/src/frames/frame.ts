import { createHash } from 'node:crypto';

/**
 * HDM WAN frame, version 1. Every integer is big-endian.
 *
 * | offset | size | field                                   |
 * |-------:|-----:|-----------------------------------------|
 * |      0 |    4 | magic `HDMF` (0x48444D46)               |
 * |      4 |    1 | version (1)                             |
 * |      5 |    1 | type (FrameType)                        |
 * |      6 |    2 | flags (FrameFlags)                      |
 * |      8 |    4 | stream id (disk index within the job)   |
 * |     12 |    8 | offset (u64, byte offset in the disk)   |
 * |     20 |    4 | payload length (u32, ≤ maxPayload)      |
 * |     24 |   32 | SHA-256 of the payload                  |
 * |     56 |    n | payload                                 |
 *
 * The header itself is protected by the TLS record MAC on the wire; the payload
 * hash is the end-to-end check of the data that travels through buffers and
 * processes on both sides.
 */
export const FRAME_MAGIC = 0x48444d46;
export const FRAME_VERSION = 1;
export const HEADER_SIZE = 56;
/** Default and hard upper bound of one frame's payload. */
export const DEFAULT_MAX_PAYLOAD = 8 * 1024 * 1024;

export enum FrameType {
  HELLO = 1,
  DATA = 2,
  ACK = 3,
  DISK_DONE = 4,
  ERROR = 5,
  CLOSE = 6,
}

export const FrameFlags = {
  NONE: 0,
  /** On ACK: the chunk at `offset` was rejected (hash mismatch); send it again. */
  NACK: 1 << 0,
  /** On HELLO/DISK_DONE: this is the answer of the receiving side. */
  REPLY: 1 << 1,
  /** On DATA: the chunk is zeros; payload = u32 length (feature `zero`). */
  ZERO: 1 << 2,
  /** On DATA: payload = raw deflate of the chunk (feature `deflate`). */
  DEFLATE: 1 << 3,
  /** On DATA: payload = SHA-256 + u32 length of a chunk sent earlier in the job (feature `dedup`). */
  DEDUP: 1 << 4,
  /** On DATA: the receiver's previous version of these bytes stands; payload = u32 length (feature `keep`, deltas). */
  KEEP: 1 << 5,
  /** On DATA: payload = LZ4 block of the chunk, its u32 little-endian size prepended (feature `lz4`). */
  LZ4: 1 << 6,
  /** On DATA: payload = brotli stream of the chunk, its u32 little-endian size prepended (feature `brotli`). */
  BROTLI: 1 << 7,
} as const;

export interface FrameHeader {
  type: FrameType;
  flags: number;
  stream: number;
  offset: number;
  length: number;
  sha256: Buffer;
}

export interface Frame {
  type: FrameType;
  flags: number;
  stream: number;
  /** Byte offset; an integer ≤ Number.MAX_SAFE_INTEGER (2^53 − 1, i.e. 8 PiB). */
  offset: number;
  payload: Buffer;
  /** Set by the decoder: the payload's SHA-256 as carried in the header (and verified). */
  sha256?: Buffer;
  /** Set by a decoder told to defer (DATA frames): `sha256` is NOT checked yet; the consumer must. */
  unverified?: boolean;
}

export type FrameErrorReason =
  | 'bad-magic'
  | 'bad-version'
  | 'bad-type'
  | 'too-large'
  | 'bad-offset'
  | 'truncated'
  | 'hash-mismatch';

/** A frame stream that cannot be decoded, or a frame whose payload does not match its hash. */
export class FrameError extends Error {
  constructor(
    readonly reason: FrameErrorReason,
    message: string,
    /** The header of the frame concerned, when it could be parsed (always for 'hash-mismatch'). */
    readonly header?: FrameHeader,
  ) {
    super(`${reason}: ${message}`);
    this.name = 'FrameError';
  }
}

export function sha256(buf: Buffer): Buffer {
  return createHash('sha256').update(buf).digest();
}

const EMPTY_SHA256 = sha256(Buffer.alloc(0));

export function isFrameType(t: number): t is FrameType {
  return t >= FrameType.HELLO && t <= FrameType.CLOSE;
}

export interface EncodeOptions {
  maxPayload?: number;
  /** A payload hash computed earlier (e.g. kept for a retransmission); computed when absent. */
  sha256?: Buffer;
}

/** Encodes the header of `frame`; send it followed by `frame.payload` (avoids copying large payloads). */
export function encodeHeader(frame: Frame, opts: EncodeOptions = {}): Buffer {
  const max = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  if (!isFrameType(frame.type)) throw new RangeError(`unknown frame type ${frame.type}`);
  if (frame.payload.length > max) throw new RangeError(`payload of ${frame.payload.length} bytes exceeds ${max}`);
  if (!Number.isSafeInteger(frame.offset) || frame.offset < 0) throw new RangeError(`bad offset ${frame.offset}`);
  if (!Number.isInteger(frame.stream) || frame.stream < 0 || frame.stream > 0xffffffff) {
    throw new RangeError(`bad stream id ${frame.stream}`);
  }
  if (!Number.isInteger(frame.flags) || frame.flags < 0 || frame.flags > 0xffff) throw new RangeError(`bad flags ${frame.flags}`);
  const h = Buffer.allocUnsafe(HEADER_SIZE);
  h.writeUInt32BE(FRAME_MAGIC, 0);
  h.writeUInt8(FRAME_VERSION, 4);
  h.writeUInt8(frame.type, 5);
  h.writeUInt16BE(frame.flags, 6);
  h.writeUInt32BE(frame.stream, 8);
  h.writeBigUInt64BE(BigInt(frame.offset), 12);
  h.writeUInt32BE(frame.payload.length, 20);
  const digest = opts.sha256 ?? (frame.payload.length === 0 ? EMPTY_SHA256 : sha256(frame.payload));
  digest.copy(h, 24, 0, 32);
  return h;
}

/** Encodes a whole frame into one buffer. */
export function encodeFrame(frame: Frame, opts: EncodeOptions = {}): Buffer {
  return Buffer.concat([encodeHeader(frame, opts), frame.payload]);
}

/** Parses and validates a header (the buffer holds at least HEADER_SIZE bytes). */
export function parseHeader(buf: Buffer, maxPayload: number): FrameHeader {
  const magic = buf.readUInt32BE(0);
  if (magic !== FRAME_MAGIC) throw new FrameError('bad-magic', `expected 0x${FRAME_MAGIC.toString(16)}, got 0x${magic.toString(16)}`);
  const version = buf.readUInt8(4);
  if (version !== FRAME_VERSION) throw new FrameError('bad-version', `unsupported frame version ${version}`);
  const type = buf.readUInt8(5);
  if (!isFrameType(type)) throw new FrameError('bad-type', `unknown frame type ${type}`);
  const length = buf.readUInt32BE(20);
  if (length > maxPayload) throw new FrameError('too-large', `payload length ${length} exceeds ${maxPayload}`);
  const offset = buf.readBigUInt64BE(12);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new FrameError('bad-offset', `offset ${offset} is out of range`);
  return {
    type,
    flags: buf.readUInt16BE(6),
    stream: buf.readUInt32BE(8),
    offset: Number(offset),
    length,
    sha256: Buffer.from(buf.subarray(24, 56)),
  };
}

/** JSON payloads (HELLO, DISK_DONE, ERROR). */
export function jsonPayload(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function parseJsonPayload(frame: Frame): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(frame.payload.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* fall through */
  }
  throw new FrameError('bad-type', `${FrameType[frame.type]} frame payload is not a JSON object`);
}

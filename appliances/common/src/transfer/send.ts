import { Frame, FrameFlags, FrameType, HEADER_SIZE, parseJsonPayload } from '../frames/frame';
import { LaneController, LaneLink, LANES_FEATURE } from './lanes';
import { Codec, CODECS, CompressionPolicy, encodeChunk, SentChunks, u32 } from './chunk-codec';
import type { RateLimiter } from './rate-limit';
import { ChunkSlab } from './chunk-slab';
import { ChunkWorkers } from './chunk-workers';
import { DiskDigest } from './disk-digest';
import type { Logger } from '../log/logger';
import { FrameChannel, PeerError, ReceiveTimeoutError } from './channel';
import type { DiskSource } from './io';
import { ProgressListener, ProgressMeter } from './progress';

export const MIN_CHUNK = 1 << 20;
export const MAX_CHUNK = 4 << 20;

export interface SendDiskOptions {
  channel: FrameChannel;
  source: DiskSource;
  /** Stream id carried by every frame of this disk. */
  stream: number;
  /** 1–4 MiB; default 4 MiB. */
  chunkSize?: number;
  /** Chunks read or unacknowledged at once (memory bound = window × chunkSize). Default 8. */
  window?: number;
  /** Source reads running at once. Default 4. */
  readConcurrency?: number;
  /** Resends of one chunk the receiver rejected before giving up. Default 5. */
  maxResends?: number;
  /** Give up when the receiver says nothing for this long. Default 60 s. */
  idleTimeoutMs?: number;
  /**
   * Resume: the receiver already holds [0, startOffset) durably (its HELLO reply said so).
   * Those bytes are still read and hashed here (the disk SHA-256 covers the whole disk) but not
   * sent. Default 0.
   */
  startOffset?: number;
  /**
   * Encodings the receiver accepted in its HELLO reply (`zero`, `deflate`, `lz4`, `brotli`, `dedup`); none by
   * default. See chunk-codec.ts.
   */
  features?: string[];
  /** What the receiver has indexed, shared by the disks of one job (feature `dedup`). */
  sentChunks?: SentChunks;
  /** Adaptive compression policy (features `lz4`, `brotli`, `deflate`); a fresh one per disk by default. */
  compression?: CompressionPolicy;
  /** Bandwidth cap (wire bytes) of this migration, chained to the link's. */
  limiter?: RateLimiter;
  /**
   * Delta (feature `keep`, the receiver holds the previous version of the disk): the areas
   * changed since then, as CBT (QueryChangedDiskAreas) reports them. Only they are sent; the
   * rest goes as KEEP frames. The whole disk is still read and hashed.
   */
  changedAreas?: Array<{ start: number; length: number }>;
  /**
   * Feature `lanes` (accepted in the HELLO reply): opens extra lane n (1…) of this disk, a new
   * connection whose HELLO names the lane (lanes.ts). Without it the disk uses `channel` only.
   */
  openLane?: (lane: number, signal: AbortSignal) => Promise<FrameChannel>;
  /** Lane count: adaptive up to `max` (default 4), or `fixed`; `link` is shared by the senders on one link. */
  lanes?: { max?: number; fixed?: number; link?: LaneLink };
  progress?: ProgressListener;
  signal?: AbortSignal;
  log?: Logger;
}

export interface DiskResult {
  bytes: number;
  /** The disk digest (DiskDigest: SHA-256 over the SHA-256 of each 4 MiB block), lowercase hex. */
  sha256: string;
  resends: number;
  /** Sender only: what the reductions did. `wireBytes` = frame headers + payloads of DATA frames. */
  stats?: SendStats;
}

export interface SendStats {
  /** Bytes read from the source (incl. a resumed prefix, which is read for the disk hash). */
  bytesRead: number;
  /** Logical bytes of the chunks sent (excludes the resumed prefix). */
  bytesSent: number;
  wireBytes: number;
  zeroBytes: number;
  dedupBytes: number;
  /** Logical bytes sent deflated, and their size on the wire. */
  deflatedBytes: number;
  deflatedWire: number;
  /** Logical bytes sent LZ4-compressed, and their size on the wire. */
  lz4Bytes: number;
  lz4Wire: number;
  /** Logical bytes sent brotli-compressed, and their size on the wire. */
  brotliBytes: number;
  brotliWire: number;
  resentBytes: number;
  /** Delta: logical bytes left as they were on the receiver (KEEP frames). */
  keptBytes: number;
  /** Most lanes (connections) that carried the disk at once. */
  lanes?: number;
}

interface Prepared {
  buf: Buffer;
  /** SHA-256 of the plain chunk (frame hash when sent plain, dedup key, disk digest block); none for zeros. */
  hash?: Buffer;
  zero: boolean;
  /** The chunk compressed, when that paid (CompressionPolicy). */
  compressed?: { codec: Codec; payload: Buffer };
}

/** How each compressor shows on the wire and in SendStats. */
const CODEC_FRAMES: Record<Codec, { flag: number; bytes: 'deflatedBytes' | 'lz4Bytes' | 'brotliBytes'; wire: 'deflatedWire' | 'lz4Wire' | 'brotliWire' }> = {
  deflate: { flag: FrameFlags.DEFLATE, bytes: 'deflatedBytes', wire: 'deflatedWire' },
  lz4: { flag: FrameFlags.LZ4, bytes: 'lz4Bytes', wire: 'lz4Wire' },
  brotli: { flag: FrameFlags.BROTLI, bytes: 'brotliBytes', wire: 'brotliWire' },
};

export class DiskHashMismatchError extends Error {
  readonly code = 'ERR_HDM_DISK_HASH';
}

interface InFlight {
  offset: number;
  buf: Buffer;
  hash?: Buffer;
  resends: number;
  /** The frame as sent (a lost lane's chunks go out again as they were; a NACK makes it plain). */
  frame: { flags: number; payload: Buffer; hash?: Buffer };
  /** The lane carrying it; none while it waits in the resend queue. */
  lane?: Lane;
  /** Lanes: the chunk becomes a dedup reference once ACKed. */
  indexOnAck: boolean;
}

interface Lane {
  id: number;
  channel: FrameChannel;
  /** Sends not yet taken by the socket (backpressure): the lane gets no new frame meanwhile. */
  sending: number;
  /** Chunks sent on it and not yet acknowledged. */
  inflight: number;
  /** Retired: no new frames; closed once `inflight` is 0. */
  closing: boolean;
  dead: boolean;
}

/**
 * Sends one disk over an established channel: reads chunks (bounded concurrency), sends them
 * in offset order as DATA frames, keeps each until its ACK (window), resends on NACK, hashes the
 * whole disk, then exchanges DISK_DONE and compares the receiver's SHA-256 with its own.
 */
export async function sendDisk(opts: SendDiskOptions): Promise<DiskResult> {
  const { channel, source, stream } = opts;
  const size = source.size;
  const chunkSize = opts.chunkSize ?? MAX_CHUNK;
  if (chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK) throw new RangeError(`chunk size ${chunkSize} not within 1–4 MiB`);
  const window = Math.max(1, opts.window ?? 8);
  const readConcurrency = Math.max(1, Math.min(window, opts.readConcurrency ?? 4));
  const maxResends = opts.maxResends ?? 5;
  const startOffset = opts.startOffset ?? 0;
  if (!Number.isSafeInteger(startOffset) || startOffset < 0 || startOffset > size) throw new RangeError(`bad start offset ${startOffset}`);
  // Chunk grid: the resumed prefix [0, startOffset) in chunks that are only hashed, then the
  // rest from startOffset in chunks that are sent.
  const prefixCount = Math.ceil(startOffset / chunkSize);
  const features = new Set(opts.features ?? []);
  const plan = opts.changedAreas && features.has('keep') ? deltaPlan(startOffset, size, chunkSize, opts.changedAreas) : undefined;
  const sendPieces = plan ? plan.length : Math.ceil((size - startOffset) / chunkSize);
  const chunkCount = prefixCount + sendPieces;
  const chunkAt = (index: number): { offset: number; length: number; keep?: boolean } => {
    if (index < prefixCount) {
      const offset = index * chunkSize;
      return { offset, length: Math.min(chunkSize, startOffset - offset) };
    }
    if (plan) return plan[index - prefixCount]!;
    const offset = startOffset + (index - prefixCount) * chunkSize;
    return { offset, length: Math.min(chunkSize, size - offset) };
  };
  // The listener gets the sender's counters too (read, wire, confirmed written).
  const listener = opts.progress;
  const meter = new ProgressMeter(
    size,
    listener && ((p) => listener({ ...p, bytesRead: stats.bytesRead, wireBytes: stats.wireBytes, bytesWritten: p.bytesDone, lanes: liveLanes().length || 1 })),
  );
  // The disk digest is built from the chunk hashes (computed off the main thread) when chunks
  // are whole 4 MiB blocks; other pieces are hashed inline.
  const diskDigest = new DiskDigest(size);

  let nextRead = 0; // index of the next chunk to read
  let nextSend = 0; // index of the next chunk to send (in order)
  let reading = 0;
  const ready = new Map<number, Prepared>(); // read and prepared, not yet sent
  const policy = opts.compression ?? new CompressionPolicy();
  const sentChunks = features.has('dedup') ? (opts.sentChunks ?? new SentChunks()) : undefined;
  const stats: SendStats = { bytesRead: 0, bytesSent: 0, wireBytes: 0, zeroBytes: 0, dedupBytes: 0, deflatedBytes: 0, deflatedWire: 0, lz4Bytes: 0, lz4Wire: 0, brotliBytes: 0, brotliWire: 0, resentBytes: 0, keptBytes: 0 };
  const wireStart = performance.now();
  let blockedRate = 0;
  let win = { start: wireStart, bytes: 0, waited: 0 };
  /**
   * Off the main thread: zero check, chunk hash and compressibility probe (ChunkWorkers), and
   * compression (zlib async, libuv's pool). Every chunk but a zero one is hashed, also those
   * only read for the disk digest (a resumed prefix, a delta's unchanged areas).
   */
  const workers = ChunkWorkers.shared;
  const slab = ChunkSlab.shared;
  const level = policy.opts.level ?? 1;
  const codecs: Codec[] = CODECS.filter((c) => features.has(c));
  const prepare = async (index: number, raw: Buffer): Promise<Prepared> => {
    stats.bytesRead += raw.length;
    const sending = index >= prefixCount && !chunkAt(index).keep;
    const probe = sending && codecs.length > 0 && policy.enabled;
    const f = await workers.inspect(raw, { probeLevel: probe ? level : undefined });
    const buf = f.buf;
    if (f.zero) return { buf, zero: true };
    let compressed: Prepared['compressed'];
    const coding = probe ? policy.pickCoding(f.sampleRatio, codecs) : undefined;
    if (coding) {
      const t0 = performance.now();
      const out = await encodeChunk(coding, buf);
      if (policy.record(buf.length, out.length, performance.now() - t0, coding.codec, coding.level)) compressed = { codec: coding.codec, payload: out };
    }
    return { buf, hash: f.sha256, zero: false, compressed };
  };
  const unacked = new Map<number, InFlight>(); // by offset
  // Time with two or more chunks unacknowledged: a queue stood before the link (or the
  // receiver), i.e. the sender was not what limited the rate. Called before each change.
  let queuedSince = wireStart;
  const queued = (): void => {
    const now = performance.now();
    if (unacked.size >= 2) win.waited += now - Math.max(queuedSince, win.start);
    queuedSince = now;
  };
  let acked = 0;
  let resends = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let rejectFailed: (e: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => undefined);
  const fail = (err: Error): void => {
    failure ??= err;
    rejectFailed(failure);
    poke();
  };
  const onAbort = (): void => fail(new Error('transfer cancelled'));
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) onAbort();

  const pumpReads = (): void => {
    while (!failure && nextRead < chunkCount && reading < readConcurrency && reading + ready.size + unacked.size < window) {
      const index = nextRead++;
      const { offset, length } = chunkAt(index);
      reading++;
      source.read(offset, length).then((buf) => prepare(index, buf)).then(
        (p) => {
          reading--;
          ready.set(index, p);
          poke();
        },
        (err: Error) => {
          reading--;
          fail(err);
        },
      );
    }
  };

  // Lanes (lanes.ts): lane 0 is `channel`; more only when the receiver accepted `lanes` and the
  // caller can open them. Without them this is the one-connection engine it always was.
  const lanesOn = features.has(LANES_FEATURE) && !!opts.openLane;
  const laneLink = opts.lanes?.link ?? new LaneLink();
  const control = new LaneController({ max: lanesOn ? (opts.lanes?.max ?? 4) : 1, fixed: lanesOn ? opts.lanes?.fixed : undefined, link: laneLink });
  const lanes: Lane[] = [];
  const resendQueue: InFlight[] = []; // chunks of a lane that died, by offset
  const lanesEnd = new AbortController(); // stops lane openings still under way when the disk ends
  let nextLaneId = 1;
  let opening = 0; // lanes being opened
  let finished = false; // every chunk acknowledged
  let doneSent = false;
  stats.lanes = 1;
  let resolveDone: (f: Frame) => void = () => undefined;
  const doneReply = new Promise<Frame>((r) => (resolveDone = r));
  const idleMs = (): number => opts.idleTimeoutMs ?? (doneSent ? 120_000 : 60_000);
  const liveLanes = (): Lane[] => lanes.filter((l) => !l.dead && !l.closing);
  const laneMeter = { start: wireStart, link: laneLink.deliveredBytes, capMs: 0, sourceMs: 0, networkMs: 0 };

  const addLane = (ch: FrameChannel, id: number): void => {
    const lane: Lane = { id, channel: ch, sending: 0, inflight: 0, closing: false, dead: false };
    lanes.push(lane);
    stats.lanes = Math.max(stats.lanes ?? 1, liveLanes().length);
    readLoop(lane).catch((err: Error) => laneFailed(lane, err));
    poke();
  };
  const openLane = (): void => {
    const id = nextLaneId++;
    opening++;
    opts.openLane!(id, lanesEnd.signal).then(
      (ch) => {
        opening--;
        if (failure || finished) return ch.destroy();
        opts.log?.info({ stream, lane: id, lanes: liveLanes().length + 1 }, 'lane opened');
        addLane(ch, id);
      },
      (err: Error) => {
        opening--;
        if (failure || finished) return;
        opts.log?.warn({ stream, lane: id, err: err.message }, 'could not open a lane');
        control.failed();
      },
    );
  };
  /** The least loaded lane that can take a frame now (its socket is not backpressured). */
  const pickLane = (): Lane | undefined => {
    let best: Lane | undefined;
    for (const l of lanes) if (!l.dead && !l.closing && l.sending === 0 && (!best || l.inflight < best.inflight)) best = l;
    return best;
  };
  /** A retired lane closes (CLOSE frame) once nothing of it is unacknowledged. */
  const closeIfRetired = (lane: Lane | undefined): void => {
    if (lane && lane.closing && lane.inflight === 0 && !lane.dead) {
      lane.dead = true;
      void lane.channel.close();
    }
  };
  /** Back into the resend queue (kept in offset order), on no lane. */
  const requeue = (c: InFlight): void => {
    c.lane = undefined;
    resendQueue.push(c);
    resendQueue.sort((a, b) => a.offset - b.offset);
  };
  const laneFailed = (lane: Lane, err: Error): void => {
    if (lane.id === 0 || err instanceof PeerError) return fail(err); // the session itself: the caller resumes at the durable prefix
    if (lane.dead || finished || failure) return;
    lane.dead = true;
    lane.channel.destroy();
    // Its unacknowledged chunks go out again on the other lanes (the receiver drops or re-ACKs a copy it already has).
    for (const c of unacked.values()) if (c.lane === lane) requeue(c);
    lane.inflight = 0;
    opts.log?.warn({ stream, lane: lane.id, requeued: resendQueue.length, err: err.message }, 'lane lost; its chunks go out on the other lanes');
    if (control.fixed && nextLaneId < 4 * control.fixed) openLane(); // a replacement, but no endless churn
    else control.failed();
    poke();
  };

  /** Puts one DATA frame on a lane (after the rate limiter); does not wait for the socket. */
  const transmit = async (lane: Lane, c: InFlight, resent: boolean): Promise<void> => {
    const n = HEADER_SIZE + c.frame.payload.length;
    const t0 = performance.now();
    await opts.limiter?.take(n, opts.signal);
    const waited = performance.now() - t0;
    laneMeter.capMs += waited;
    if (unacked.size < 2) win.waited += waited; // with two or more in flight, queued() counts this time already
    if (lane.dead) return requeue(c); // died while we waited for the cap
    stats.wireBytes += n;
    if (resent) stats.resentBytes += c.buf.length;
    c.lane = lane;
    lane.inflight++;
    lane.sending++;
    win.bytes += n;
    lane.channel.send({ type: FrameType.DATA, flags: c.frame.flags, stream, offset: c.offset, payload: c.frame.payload }, c.frame.hash).then(
      () => {
        lane.sending--;
        poke();
      },
      (err: Error) => laneFailed(lane, err),
    );
  };

  /** Every 0.5 s: the link rate for the compression policy. */
  const measure = (): void => {
    // Link rate for the compression policy: the larger of the average wire rate (a lower
    // bound: it includes stretches with nothing to send) and the wire rate of 0.5 s windows
    // in which sends mostly waited for the link (cap or socket backpressure) or two chunks or
    // more were in flight (a queue stood before the link): the link was full then. While
    // compression keeps the link from filling, no window qualifies and the last figure stands
    // (not the compressor's own output rate).
    const now = performance.now();
    if (now - win.start >= 500) {
      if (win.waited >= (now - win.start) * 0.5) {
        const r = win.bytes / (now - win.start) * 1000;
        blockedRate = blockedRate ? blockedRate * 0.5 + r * 0.5 : r;
        policy.linkLimited = true;
      }
      win = { start: now, bytes: 0, waited: 0 };
    }
    const secs = (now - wireStart) / 1000;
    if (secs > 0.5) policy.linkRate = Math.max(stats.wireBytes / secs, blockedRate);
  };

  /**
   * The lane decision, every 1 s, taken on an ACK: windows then start and end on an ACK, so a
   * window's rate is whole chunks over the time they took (closing on a clock tick would miscount
   * by up to a chunk: ±16 % of a second at 200 Mbit/s, more than the gain a lane must show).
   */
  const decideLanes = (): void => {
    const now = performance.now();
    if (!lanesOn || now - laneMeter.start < 1000) return;
    const decision = control.decide({
      ms: now - laneMeter.start,
      linkBytes: laneLink.deliveredBytes - laneMeter.link,
      capMs: laneMeter.capMs,
      sourceMs: laneMeter.sourceMs,
      networkMs: laneMeter.networkMs,
    });
    Object.assign(laneMeter, { start: now, link: laneLink.deliveredBytes, capMs: 0, sourceMs: 0, networkMs: 0 });
    if (decision === 'add') openLane();
    if (decision === 'remove') {
      const last = liveLanes().filter((l) => l.id > 0).pop();
      if (last) {
        last.closing = true;
        opts.log?.info({ stream, lane: last.id }, 'lane retired: it did not raise the link rate');
        closeIfRetired(last);
      }
    }
  };

  // Dispatcher of DATA frames in offset order (resends of a lost lane first); runs
  // concurrently with each lane's reader below.
  const sendLoop = async (): Promise<void> => {
    for (;;) {
      if (failure || (nextSend >= chunkCount && acked >= sendPieces)) return;
      pumpReads();
      const p = ready.get(nextSend);
      if (p && nextSend < prefixCount) {
        // Resumed prefix: only hashed for the disk digest.
        ready.delete(nextSend);
        const { offset } = chunkAt(nextSend++);
        if (p.zero) diskDigest.addZeros(offset, p.buf.length);
        else diskDigest.add(offset, p.buf, p.hash);
        slab.give(p.buf);
        meter.add(p.buf.length);
        continue;
      }
      const lane = pickLane();
      const resend = resendQueue[0];
      if (!lane || (!resend && !p)) {
        const t = performance.now();
        await new Promise<void>((r) => (wake = r));
        const waited = performance.now() - t;
        // What the sender waited for: a lane's socket (network), its source (reads, hashing,
        // compression), or ACKs with the window full (network).
        if (!lane) {
          laneMeter.networkMs += waited;
          if (unacked.size < 2) win.waited += waited;
        } else if (reading > 0) laneMeter.sourceMs += waited;
        else laneMeter.networkMs += waited;
        measure();
        continue;
      }
      if (resend) {
        resendQueue.shift();
        await transmit(lane, resend, true);
        measure();
        continue;
      }
      const buf = p!.buf;
      ready.delete(nextSend);
      const { offset, keep } = chunkAt(nextSend);
      nextSend++;
      if (p!.zero) diskDigest.addZeros(offset, buf.length);
      else diskDigest.add(offset, buf, p!.hash);
      // The plain chunk is kept until ACKed: a NACK (transit damage, or an encoding the receiver
      // could not resolve) resends it plain.
      const hash = p!.hash;
      stats.bytesSent += buf.length;
      let flags = 0;
      let payload = buf;
      let payloadHash = hash;
      let indexOnAck = false;
      if (keep) {
        flags = FrameFlags.KEEP;
        payload = u32(buf.length);
        payloadHash = undefined;
        stats.keptBytes += buf.length;
        stats.bytesSent -= buf.length;
      } else if (p!.zero && features.has('zero')) {
        flags = FrameFlags.ZERO;
        payload = u32(buf.length);
        payloadHash = undefined;
        stats.zeroBytes += buf.length;
      } else if (sentChunks && hash && sentChunks.has(hash)) {
        flags = FrameFlags.DEDUP;
        payload = Buffer.concat([hash, u32(buf.length)]);
        payloadHash = undefined;
        stats.dedupBytes += buf.length;
      } else {
        if (p!.compressed) {
          const c = CODEC_FRAMES[p!.compressed.codec];
          flags = c.flag;
          payload = p!.compressed.payload;
          payloadHash = undefined;
          stats[c.bytes] += buf.length;
          stats[c.wire] += payload.length;
        }
        // One lane delivers in order, so a later chunk may refer to this one at once; while
        // several lanes (or one being opened) reorder, the reference waits until the receiver
        // wrote (ACKed) it. A reference that still arrives first costs a NACK and a plain resend.
        if (sentChunks && hash) {
          if (opening > 0 || liveLanes().length > 1) indexOnAck = true;
          else sentChunks.add(hash);
        }
      }
      queued();
      const c: InFlight = { offset, buf, hash, resends: 0, frame: { flags, payload, hash: payloadHash }, indexOnAck };
      unacked.set(offset, c);
      await transmit(lane, c, false);
      measure();
    }
  };

  /** One lane's incoming frames: ACK / NACK of its chunks, and on lane 0 the DISK_DONE reply. */
  const readLoop = async (lane: Lane): Promise<void> => {
    const { channel: ch } = lane;
    for (;;) {
      let item;
      try {
        item = await Promise.race([ch.receive(idleMs()), failed]);
      } catch (err) {
        if (lane.closing && lane.inflight === 0) return; // retired, or the disk is done
        // Silence is only suspicious while this lane owes us something.
        if (err instanceof ReceiveTimeoutError && lane.inflight === 0 && !(lane.id === 0 && doneSent)) continue;
        throw err;
      }
      if (item.kind === 'corrupt') throw item.error;
      const f = item.frame;
      if (f.type === FrameType.ERROR) {
        const e = parseJsonPayload(f);
        throw new PeerError(String(e.code ?? 'error'), String(e.message ?? ''));
      }
      if (f.type === FrameType.DISK_DONE && lane.id === 0 && doneSent) {
        resolveDone(f);
        return;
      }
      if (f.type === FrameType.CLOSE) throw new Error('receiver closed the connection mid-disk');
      if (f.type !== FrameType.ACK || f.stream !== stream) throw new Error(`unexpected ${FrameType[f.type]} frame for stream ${f.stream} while sending`);
      const c = unacked.get(f.offset);
      if (!c) continue; // duplicate ACK
      if (f.flags & FrameFlags.NACK) {
        if (c.lane !== lane) continue; // a copy on another lane is under way
        if (++c.resends > maxResends) throw new Error(`chunk at ${c.offset} rejected ${c.resends} times`);
        resends++;
        opts.log?.warn({ stream, offset: c.offset }, 'receiver rejected a chunk; resending');
        lane.inflight--;
        c.lane = undefined;
        c.frame = { flags: 0, payload: c.buf, hash: c.hash };
        await transmit(lane, c, true);
        continue;
      }
      queued();
      unacked.delete(f.offset);
      if (c.lane) c.lane.inflight--;
      else {
        // On no lane: queued for a resend, or between queue and lane (transmit waiting for the cap).
        const queuedAt = resendQueue.indexOf(c);
        if (queuedAt >= 0) resendQueue.splice(queuedAt, 1);
      }
      slab.give(c.buf); // ACKed: written on the other side, never resent
      laneLink.deliveredBytes += HEADER_SIZE + c.frame.payload.length;
      if (c.indexOnAck && c.hash) sentChunks?.add(c.hash);
      acked++;
      meter.add(c.buf.length);
      closeIfRetired(c.lane);
      decideLanes();
      poke();
    }
  };

  try {
    addLane(channel, 0);
    if (control.fixed) for (let i = 1; i < control.fixed; i++) openLane();
    await sendLoop().catch((e: Error) => fail(e));
    // On failure the caller destroys lane 0, which also ends a send blocked on backpressure.
    if (failure) throw failure;
    finished = true;
    for (const l of lanes) {
      if (l.id === 0) continue;
      l.closing = true;
      closeIfRetired(l);
    }
    const digest = diskDigest.digest();
    doneSent = true;
    await channel.sendJson(FrameType.DISK_DONE, { sha256: digest, bytes: size }, 0, stream, size);
    const f = await Promise.race([doneReply, failed]);
    if (!(f.flags & FrameFlags.REPLY)) throw new Error('expected DISK_DONE reply, got DISK_DONE');
    const theirs = String(parseJsonPayload(f).sha256 ?? '');
    if (theirs !== digest) throw new DiskHashMismatchError(`disk SHA-256 differs: sent ${digest}, receiver wrote ${theirs}`);
    meter.set(size);
    return { bytes: size, sha256: digest, resends, stats };
  } catch (err) {
    if (!(err instanceof PeerError) && !channel.closed) await channel.sendError('send-failed', (err as Error).message, stream);
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    lanesEnd.abort();
    control.dispose();
    for (const l of lanes) if (l.id > 0 && !l.dead && !finished) l.channel.destroy();
  }
}

/**
 * The pieces of [from, size) for a delta: changed areas (merged, clipped) and the unchanged
 * rest (KEEP), both cut at multiples of chunkSize, so that whole pieces line up with the disk
 * digest's blocks and their chunk hashes serve it (unchanged pieces are still read and hashed).
 */
export function deltaPlan(from: number, size: number, chunkSize: number, areas: Array<{ start: number; length: number }>): Array<{ offset: number; length: number; keep: boolean }> {
  const merged: Array<[number, number]> = [];
  for (const a of [...areas].filter((x) => x.length > 0).sort((x, y) => x.start - y.start)) {
    const s = Math.max(from, a.start);
    const e = Math.min(size, a.start + a.length);
    if (e <= s) continue;
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  const out: Array<{ offset: number; length: number; keep: boolean }> = [];
  let pos = from;
  let i = 0;
  while (pos < size) {
    const area = merged[i];
    const gridEnd = (Math.floor(pos / chunkSize) + 1) * chunkSize;
    if (area && pos >= area[0]) {
      const end = Math.min(area[1], gridEnd);
      out.push({ offset: pos, length: end - pos, keep: false });
      pos = end;
      if (pos >= area[1]) i++;
    } else {
      const end = Math.min(area ? area[0] : size, gridEnd, size);
      out.push({ offset: pos, length: end - pos, keep: true });
      pos = end;
    }
  }
  return out;
}

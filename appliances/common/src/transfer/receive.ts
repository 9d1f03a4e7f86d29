import { ChunkSlab } from './chunk-slab';
import { ChunkWorkers } from './chunk-workers';
import { DiskDigest } from './disk-digest';
import { Frame, FrameFlags, FrameType, parseJsonPayload } from '../frames/frame';
import type { Logger } from '../log/logger';
import { FrameChannel, Incoming, PeerError } from './channel';
import type { DiskSink } from './io';
import { ChunkDecodeError, ChunkIndex, decodeChunk, DecodedChunk, zeroBuffer } from './chunk-codec';
import { ProgressListener, ProgressMeter } from './progress';
import type { LaneJoin } from './lanes';
import { DiskHashMismatchError, DiskResult, MAX_CHUNK } from './send';

export interface ReceiveDiskOptions {
  channel: FrameChannel;
  sink: DiskSink;
  stream: number;
  size: number;
  /**
   * Resume: bytes [0, startOffset) are already durable in the sink (agreed in the HELLO
   * exchange); the sender continues there. The sink must then return the whole disk's SHA-256
   * from finish() (StagingSink does). Default 0.
   */
  startOffset?: number;
  /** The job's chunk index (feature `dedup`; needs a sink that can `read`). */
  index?: ChunkIndex;
  /** Feature `lanes`: where extra lanes of this disk join this reception (one sink, one pending map, one dedup index). */
  lanes?: LaneJoin;
  /** Bytes of out-of-order chunks held while waiting for a resent one (or a slower lane). Default 64 MiB. */
  maxBuffered?: number;
  idleTimeoutMs?: number;
  progress?: ProgressListener;
  signal?: AbortSignal;
  log?: Logger;
}

/** A lane (connection) of the disk being received; `ended` settles the promise LaneJoin.join gave. */
interface RLane {
  id: number;
  channel: FrameChannel;
  dead: boolean;
  ended: () => void;
}

/**
 * Receives one disk: every DATA payload is checked against its SHA-256 (off the main thread);
 * a chunk that fails is NACKed (re-requested) and never written. Chunks go to the sink in
 * offset order and are ACKed only after the sink accepted them. On DISK_DONE the sink is
 * finished and the disk digest of what was written is answered, and compared with the sender's.
 *
 * Two stages: the intake starts each frame's hash check as soon as the frame arrives, the
 * acceptor takes frames in arrival order and writes them; so the checks of the next frames run
 * while one is being written.
 */
export async function receiveDisk(opts: ReceiveDiskOptions): Promise<DiskResult> {
  const { channel, sink, stream, size } = opts;
  const maxBuffered = opts.maxBuffered ?? 64 << 20;
  const idleMs = opts.idleTimeoutMs ?? 60_000;
  const meter = new ProgressMeter(size, opts.progress);
  // The disk digest of the accepted stream, from the verified chunk hashes. Valid while the
  // stream covers the disk from 0 (no resume) and holds every byte (no KEEP frame); otherwise
  // the sink's finish() supplies the digest (StagingSink re-reads its image).
  const digest = new DiskDigest(size);
  const slab = ChunkSlab.shared;
  const pending = new Map<number, { chunk: DecodedChunk; lane: RLane }>();
  const chunkLength = (c: DecodedChunk): number => (c.kind === 'data' ? c.data.length : c.length);
  const startOffset = opts.startOffset ?? 0;
  if (!Number.isSafeInteger(startOffset) || startOffset < 0 || startOffset > size) throw new RangeError(`bad start offset ${startOffset}`);
  let streamHash = startOffset === 0;
  const index = opts.index && sink.read ? opts.index : undefined;
  const readBack = sink.read?.bind(sink);
  let pendingBytes = 0;
  let next = startOffset;
  if (startOffset > 0) meter.set(startOffset);
  let rejected = 0;
  let cancelled = false;
  // Lanes (feature `lanes`): lane 0 is `channel`; extra lanes join through opts.lanes. Their
  // frames meet in one intake, one pending map, one sink; each chunk is ACKed (or NACKed) on
  // the lane it last arrived on.
  const lanes: RLane[] = [];
  let over = false;
  const endLane = (lane: RLane): void => {
    if (lane.dead) return;
    lane.dead = true;
    lane.ended();
  };
  const onAbort = (): void => {
    cancelled = true;
    channel.destroy(new Error('transfer cancelled'));
    for (const l of lanes) if (l.id > 0) l.channel.destroy();
  };
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) onAbort();

  /** ACK / NACK on a lane; an extra lane that is gone takes no answer (the sender re-sends its chunks on another). */
  const answer = async (lane: RLane, offset: number, flags: number): Promise<void> => {
    const sent = lane.channel.send({ type: FrameType.ACK, flags, stream, offset, payload: Buffer.alloc(0) });
    if (lane.id > 0) await sent.catch(() => endLane(lane));
    else await sent;
  };
  const nack = async (lane: RLane, offset: number): Promise<void> => {
    rejected++;
    await answer(lane, offset, FrameFlags.NACK);
  };

  const accept = async (offset: number, c: DecodedChunk, lane: RLane): Promise<void> => {
    const length = chunkLength(c); // before the bytes travel to a hash worker and back (c.data is then detached)
    if (c.kind === 'keep') {
      // Delta: the sink holds the previous version (a staged image seeded from the base disk).
      if (!sink.skip || !sink.hashesOnFinish) throw new Error('KEEP frame but this sink holds no previous version of the disk');
      streamHash = false;
      await sink.skip(c.length);
    } else if (c.kind === 'zero') {
      if (sink.writeZeros) await sink.writeZeros(c.length);
      else await sink.write(zeroBuffer(c.length));
      if (streamHash) digest.addZeros(offset, c.length);
    } else {
      let data = c.data;
      let hash = c.hash;
      if (!hash) ({ buf: data, sha256: hash } = await ChunkWorkers.shared.sha256(data));
      await sink.write(data);
      if (streamHash) digest.add(offset, data, hash);
      if (index && readBack) index.add(hash, data.length, offset, readBack);
      slab.give(data); // written and digested: the slot (if it is one) may carry the next chunk
    }
    next = offset + length;
    meter.set(next);
    await answer(lane, offset, 0);
  };

  // Intake: frames of every lane in arrival order, each with its hash check already running.
  // `check` resolves to the verified payload (the same bytes, back from a hash worker) or undefined.
  type Arrival = { item: Incoming; lane: RLane; check?: Promise<Buffer | undefined> } | { failed: Error };
  const arrivals: Arrival[] = [];
  const INTAKE_AHEAD = 6;
  let wakeAcceptor: (() => void) | undefined;
  let intakeWaiters: Array<() => void> = [];
  const wakeIntakes = (): void => {
    const ws = intakeWaiters;
    intakeWaiters = [];
    for (const w of ws) w();
  };
  const intake = async (lane: RLane): Promise<void> => {
    try {
      while (!over && !lane.dead) {
        if (arrivals.length >= INTAKE_AHEAD) {
          await new Promise<void>((r) => intakeWaiters.push(r));
          continue;
        }
        const item = await lane.channel.receive(idleMs);
        const f = item.kind === 'frame' ? item.frame : undefined;
        if (lane.id > 0 && f?.type === FrameType.CLOSE) return endLane(lane); // retired by the sender
        const check = f?.unverified ? verifyPayload(f) : undefined;
        check?.catch(() => undefined);
        arrivals.push({ item, lane, check });
        wakeAcceptor?.();
        if (f && (f.type === FrameType.DISK_DONE || f.type === FrameType.ERROR || f.type === FrameType.CLOSE)) return;
      }
    } catch (err) {
      if (lane.id > 0) {
        // An extra lane that breaks loses nothing: what it carried unacknowledged comes again on another.
        if (!over) opts.log?.warn({ stream, lane: lane.id, err: (err as Error).message }, 'lane lost');
        lane.channel.destroy();
        return endLane(lane);
      }
      arrivals.push({ failed: err as Error });
      wakeAcceptor?.();
    }
  };
  const addLane = (ch: FrameChannel, id: number): Promise<void> => {
    return new Promise<void>((ended) => {
      const lane: RLane = { id, channel: ch, dead: false, ended };
      if (over) return endLane(lane);
      lanes.push(lane);
      opts.log?.info({ stream, lane: id }, 'lane joined');
      void intake(lane);
    });
  };
  const nextArrival = async (): Promise<{ item: Incoming; lane: RLane; check?: Promise<Buffer | undefined> }> => {
    while (!arrivals.length) await new Promise<void>((r) => (wakeAcceptor = r));
    wakeAcceptor = undefined;
    const a = arrivals.shift()!;
    wakeIntakes();
    if ('failed' in a) throw a.failed;
    return a;
  };

  void addLane(channel, 0);
  opts.lanes?.attach(addLane);
  try {
    for (;;) {
      const { item, lane, check } = await nextArrival();
      if (item.kind === 'corrupt') {
        const h = item.error.header!;
        if (h.type !== FrameType.DATA || h.stream !== stream) throw item.error;
        opts.log?.warn({ stream, offset: h.offset, length: h.length }, 'chunk failed its SHA-256: rejected, re-requesting');
        await nack(lane, h.offset);
        continue;
      }
      let f = item.frame;
      if (check) {
        const payload = await check;
        if (!payload) {
          slab.give(f.payload);
          opts.log?.warn({ stream, offset: f.offset }, 'chunk failed its SHA-256: rejected, re-requesting');
          await nack(lane, f.offset);
          continue;
        }
        f = { ...f, payload, unverified: false };
      }
      if (f.type === FrameType.ERROR) {
        const e = parseJsonPayload(f);
        throw new PeerError(String(e.code ?? 'error'), String(e.message ?? ''));
      }
      if (f.type === FrameType.CLOSE) throw new Error('sender closed the connection mid-disk');
      if (f.stream !== stream) throw new Error(`frame for stream ${f.stream}, expected ${stream}`);
      if (f.type === FrameType.DATA) {
        const held = pending.get(f.offset);
        if (f.offset < next || held) {
          // A copy of a chunk we hold: its lane may have died after sending it, so the answer
          // goes where the sender now expects it (a written chunk is ACKed again, never rewritten).
          slab.give(f.payload);
          if (held) held.lane = lane;
          else await answer(lane, f.offset, 0);
          continue;
        }
        let chunk: DecodedChunk;
        try {
          const d = await decodeChunk(f.flags, f.payload, MAX_CHUNK, index?.lookup);
          chunk = d.kind === 'data' && f.flags === 0 ? { ...d, hash: f.sha256 } : d;
          if (chunk.kind !== 'data' || chunk.data !== f.payload) slab.give(f.payload); // decoded into other bytes
        } catch (err) {
          slab.give(f.payload);
          if (!(err instanceof ChunkDecodeError)) throw err;
          opts.log?.warn({ stream, offset: f.offset, flags: f.flags, err: err.message }, 'chunk could not be decoded: re-requesting it plain');
          await nack(lane, f.offset);
          continue;
        }
        const length = chunkLength(chunk);
        const end = f.offset + length;
        if (length === 0 || length > MAX_CHUNK || end > size) {
          throw new Error(`DATA frame ${f.offset}+${length} outside the disk (${size} bytes)`);
        }
        if (f.offset === next) {
          await accept(f.offset, chunk, lane);
          let h: { chunk: DecodedChunk; lane: RLane } | undefined;
          while ((h = pending.get(next))) {
            pending.delete(next);
            pendingBytes -= chunkLength(h.chunk);
            await accept(next, h.chunk, h.lane);
          }
        } else {
          pendingBytes += length;
          if (pendingBytes > maxBuffered) throw new Error(`more than ${maxBuffered} bytes out of order`);
          pending.set(f.offset, { chunk, lane });
        }
        continue;
      }
      if (f.type === FrameType.DISK_DONE && lane.id === 0) {
        if (next !== size) throw new Error(`DISK_DONE after ${next} of ${size} bytes`);
        const theirs = String(parseJsonPayload(f).sha256 ?? '');
        if (streamHash) sink.skipFinishHash?.();
        // The sink's digest when it gives one (what it read back or delivered: the end-to-end check
        // then covers the cloud copy); else that of the stream received.
        const committed = await sink.finish();
        if (!streamHash && typeof committed !== 'string') throw new Error('resumed disk but the sink gave no digest of the whole disk');
        const mine = typeof committed === 'string' ? committed : digest.digest();
        await channel.sendJson(FrameType.DISK_DONE, { sha256: mine, bytes: size, match: mine === theirs }, FrameFlags.REPLY, stream, size);
        if (mine !== theirs) throw new DiskHashMismatchError(`disk digest differs: sender ${theirs}, written ${mine}`);
        return { bytes: size, sha256: mine, resends: rejected };
      }
      throw new Error(`unexpected ${FrameType[f.type]} frame while receiving`);
    }
  } catch (err) {
    await sink.abort(err as Error).catch(() => undefined);
    if (cancelled) throw new Error('transfer cancelled');
    if (!(err instanceof PeerError) && !channel.closed) await channel.sendError('receive-failed', (err as Error).message, stream);
    throw err;
  } finally {
    over = true;
    opts.lanes?.detach();
    for (const l of lanes) endLane(l);
    wakeIntakes();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Checks a DATA payload the channel left unverified against its header's SHA-256 (on a chunk
 * worker): the payload (handed back by the worker), or undefined when it does not match.
 */
async function verifyPayload(f: Frame): Promise<Buffer | undefined> {
  const { buf, sha256 } = await ChunkWorkers.shared.sha256(f.payload);
  return f.sha256 && sha256.equals(f.sha256) ? buf : undefined;
}

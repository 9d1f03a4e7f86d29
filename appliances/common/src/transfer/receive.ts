import { createHash, webcrypto } from 'node:crypto';
import { DiskHasher } from './hasher';
import { FrameFlags, FrameType, parseJsonPayload } from '../frames/frame';
import type { Logger } from '../log/logger';
import { FrameChannel, PeerError } from './channel';
import type { DiskSink } from './io';
import { ChunkDecodeError, ChunkIndex, decodeChunk, DecodedChunk, zeroBuffer } from './chunk-codec';
import { ProgressListener, ProgressMeter } from './progress';
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
  /** Bytes of out-of-order chunks held while waiting for a resent one. Default 64 MiB. */
  maxBuffered?: number;
  idleTimeoutMs?: number;
  progress?: ProgressListener;
  signal?: AbortSignal;
  log?: Logger;
}

/**
 * Receives one disk: every DATA payload was checked against its SHA-256 by the decoder; a
 * chunk that fails is NACKed (re-requested) and never written. Chunks go to the sink in offset
 * order and are ACKed only after the sink accepted them. On DISK_DONE the sink is finished and
 * the SHA-256 of what was written is answered, and compared with the sender's.
 */
export async function receiveDisk(opts: ReceiveDiskOptions): Promise<DiskResult> {
  const { channel, sink, stream, size } = opts;
  const maxBuffered = opts.maxBuffered ?? 64 << 20;
  const meter = new ProgressMeter(size, opts.progress);
  // Whole-disk SHA-256 of the accepted stream (inline; see DiskHasher). Valid while the stream covers
  // the disk from 0 (no resume) and holds every byte (no KEEP frame); otherwise the sink's
  // finish() supplies the digest (StagingSink re-reads its image).
  const diskHash = new DiskHasher(false);
  type Chunk = DecodedChunk & { hash?: Buffer };
  const pending = new Map<number, Chunk>();
  const chunkLength = (c: Chunk): number => (c.kind === 'data' ? c.data.length : c.length);
  let streamHash = (opts.startOffset ?? 0) === 0;
  const index = opts.index && sink.read ? opts.index : undefined;
  const readBack = sink.read?.bind(sink);
  let pendingBytes = 0;
  const startOffset = opts.startOffset ?? 0;
  if (!Number.isSafeInteger(startOffset) || startOffset < 0 || startOffset > size) throw new RangeError(`bad start offset ${startOffset}`);
  let next = startOffset;
  if (startOffset > 0) meter.set(startOffset);
  let rejected = 0;
  let cancelled = false;
  const onAbort = (): void => {
    cancelled = true;
    channel.destroy(new Error('transfer cancelled'));
  };
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) onAbort();

  const accept = async (offset: number, c: Chunk): Promise<void> => {
    if (c.kind === 'keep') {
      // Delta: the sink holds the previous version (a staged image seeded from the base disk).
      if (!sink.skip || !sink.hashesOnFinish) throw new Error('KEEP frame but this sink holds no previous version of the disk');
      streamHash = false;
      await sink.skip(c.length);
    } else if (c.kind === 'zero') {
      if (sink.writeZeros) await sink.writeZeros(c.length);
      else await sink.write(zeroBuffer(c.length));
      if (streamHash) diskHash.update(zeroBuffer(c.length));
    } else {
      await sink.write(c.data);
      if (streamHash) diskHash.update(c.data);
      if (index && readBack) index.add(c.hash ?? createHash('sha256').update(c.data).digest(), c.data.length, offset, readBack);
    }
    next = offset + chunkLength(c);
    meter.set(next);
    await channel.send({ type: FrameType.ACK, flags: 0, stream, offset, payload: Buffer.alloc(0) });
  };

  try {
    for (;;) {
      const item = await channel.receive(opts.idleTimeoutMs ?? 60_000);
      if (item.kind === 'corrupt') {
        const h = item.error.header!;
        if (h.type !== FrameType.DATA || h.stream !== stream) throw item.error;
        rejected++;
        opts.log?.warn({ stream, offset: h.offset, length: h.length }, 'chunk failed its SHA-256: rejected, re-requesting');
        await channel.send({ type: FrameType.ACK, flags: FrameFlags.NACK, stream, offset: h.offset, payload: Buffer.alloc(0) });
        continue;
      }
      const f = item.frame;
      if (f.unverified) {
        // The channel left this DATA payload's SHA-256 to us: checked in libuv's pool, off the main thread.
        const digest = Buffer.from(await webcrypto.subtle.digest('SHA-256', f.payload));
        if (!f.sha256 || !digest.equals(f.sha256)) {
          rejected++;
          opts.log?.warn({ stream, offset: f.offset, length: f.payload.length }, 'chunk failed its SHA-256: rejected, re-requesting');
          await channel.send({ type: FrameType.ACK, flags: FrameFlags.NACK, stream, offset: f.offset, payload: Buffer.alloc(0) });
          continue;
        }
      }
      if (f.type === FrameType.ERROR) {
        const e = parseJsonPayload(f);
        throw new PeerError(String(e.code ?? 'error'), String(e.message ?? ''));
      }
      if (f.type === FrameType.CLOSE) throw new Error('sender closed the connection mid-disk');
      if (f.stream !== stream) throw new Error(`frame for stream ${f.stream}, expected ${stream}`);
      if (f.type === FrameType.DATA) {
        if (f.offset < next || pending.has(f.offset)) continue; // duplicate of an accepted chunk
        let chunk: Chunk;
        try {
          const d = await decodeChunk(f.flags, f.payload, MAX_CHUNK, index?.lookup);
          chunk = d.kind === 'data' && f.flags === 0 ? { ...d, hash: f.sha256 } : d;
        } catch (err) {
          if (!(err instanceof ChunkDecodeError)) throw err;
          rejected++;
          opts.log?.warn({ stream, offset: f.offset, flags: f.flags, err: err.message }, 'chunk could not be decoded: re-requesting it plain');
          await channel.send({ type: FrameType.ACK, flags: FrameFlags.NACK, stream, offset: f.offset, payload: Buffer.alloc(0) });
          continue;
        }
        const length = chunkLength(chunk);
        const end = f.offset + length;
        if (length === 0 || length > MAX_CHUNK || end > size) {
          throw new Error(`DATA frame ${f.offset}+${length} outside the disk (${size} bytes)`);
        }
        if (f.offset === next) {
          await accept(f.offset, chunk);
          let c: Chunk | undefined;
          while ((c = pending.get(next))) {
            pending.delete(next);
            pendingBytes -= chunkLength(c);
            await accept(next, c);
          }
        } else {
          pendingBytes += length;
          if (pendingBytes > maxBuffered) throw new Error(`more than ${maxBuffered} bytes out of order`);
          pending.set(f.offset, chunk);
        }
        continue;
      }
      if (f.type === FrameType.DISK_DONE) {
        if (next !== size) throw new Error(`DISK_DONE after ${next} of ${size} bytes`);
        const theirs = String(parseJsonPayload(f).sha256 ?? '');
        if (streamHash) sink.skipFinishHash?.();
        const committed = await sink.finish();
        if (!streamHash && typeof committed !== 'string') throw new Error('resumed disk but the sink gave no SHA-256 of the whole disk');
        const digest = streamHash ? await diskHash.digest() : (committed as string);
        await channel.sendJson(FrameType.DISK_DONE, { sha256: digest, bytes: size, match: digest === theirs }, FrameFlags.REPLY, stream, size);
        if (digest !== theirs) throw new DiskHashMismatchError(`disk SHA-256 differs: sender ${theirs}, written ${digest}`);
        return { bytes: size, sha256: digest, resends: rejected };
      }
      throw new Error(`unexpected ${FrameType[f.type]} frame while receiving`);
    }
  } catch (err) {
    await sink.abort(err as Error).catch(() => undefined);
    if (cancelled) throw new Error('transfer cancelled');
    if (!(err instanceof PeerError) && !channel.closed) await channel.sendError('receive-failed', (err as Error).message, stream);
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    void diskHash.close();
  }
}

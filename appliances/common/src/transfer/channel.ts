import type { Duplex } from 'node:stream';
import { DecoderOptions, FrameDecoder } from '../frames/decoder';
import { encodeHeader, Frame, FrameError, FrameType, jsonPayload } from '../frames/frame';

export type Incoming = { kind: 'frame'; frame: Frame } | { kind: 'corrupt'; error: FrameError };

export class ChannelClosedError extends Error {
  readonly code = 'ERR_HDM_CHANNEL_CLOSED';
}

/** receive() got no frame within its timeout (the connection is still open). */
export class ReceiveTimeoutError extends Error {
  readonly code = 'ERR_HDM_RECEIVE_TIMEOUT';
}

/** The peer sent an ERROR frame. */
export class PeerError extends Error {
  constructor(readonly code: string, message: string) {
    super(`peer error ${code}: ${message}`);
  }
}

/**
 * Frames over a byte stream (a TLS socket): `send` honours the socket's backpressure,
 * `receive` hands out decoded frames in order. Reading pauses while `maxQueued` frames wait,
 * so a slow consumer (a slow sink) slows the sender down through TCP.
 */
export class FrameChannel {
  private readonly decoder: FrameDecoder;
  private readonly queue: Incoming[] = [];
  private readonly waiters: Array<{ resolve: (i: Incoming) => void; reject: (e: Error) => void }> = [];
  private ended: Error | undefined;
  private readonly maxQueued: number;

  /** `deferDataVerify`: DATA payload hashes are left to the consumer (receiveDisk checks them off the main thread). */
  constructor(readonly socket: Duplex, opts: { maxPayload?: number; maxQueued?: number; deferDataVerify?: boolean; payloads?: DecoderOptions['payloads'] } = {}) {
    this.maxQueued = opts.maxQueued ?? 8;
    this.decoder = new FrameDecoder({
      maxPayload: opts.maxPayload,
      deferDataVerify: opts.deferDataVerify,
      payloads: opts.payloads,
      onCorrupt: (error) => this.enqueue({ kind: 'corrupt', error }),
    });
    socket.on('data', (buf: Buffer) => {
      if (this.ended) return;
      try {
        for (const frame of this.decoder.push(buf)) this.enqueue({ kind: 'frame', frame });
      } catch (err) {
        this.terminate(err as Error);
        socket.destroy();
      }
    });
    socket.on('end', () => {
      try {
        this.decoder.end();
        this.terminate(new ChannelClosedError('connection closed by peer'));
      } catch (err) {
        this.terminate(err as Error);
      }
    });
    socket.on('error', (err) => this.terminate(err));
    socket.on('close', () => this.terminate(new ChannelClosedError('connection closed')));
  }

  get closed(): boolean {
    return !!this.ended;
  }

  /** Writes one frame; resolves when the socket can take more (backpressure). */
  send(frame: Frame, sha256?: Buffer): Promise<void> {
    if (this.ended) return Promise.reject(this.ended);
    const header = encodeHeader(frame, { sha256 });
    return new Promise((resolve, reject) => {
      this.socket.write(header);
      const ok = frame.payload.length === 0 ? true : this.socket.write(frame.payload);
      if (ok || this.socket.writableLength < 8 << 20) {
        resolve();
        return;
      }
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(this.ended ?? new ChannelClosedError('connection closed while sending'));
      };
      const cleanup = (): void => {
        this.socket.removeListener('drain', onDrain);
        this.socket.removeListener('close', onClose);
      };
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

  sendJson(type: FrameType, value: unknown, flags = 0, stream = 0, offset = 0): Promise<void> {
    return this.send({ type, flags, stream, offset, payload: jsonPayload(value) });
  }

  /** Sends ERROR {code, message} (best effort, never waits for backpressure). */
  async sendError(code: string, message: string, stream = 0): Promise<void> {
    this.sendJson(FrameType.ERROR, { code, message: message.slice(0, 2000) }, 0, stream).catch(() => undefined);
  }

  /** The next incoming frame (or corrupt-frame report); rejects once the connection is gone. */
  receive(timeoutMs?: number): Promise<Incoming> {
    const item = this.queue.shift();
    if (item) {
      if (this.queue.length < this.maxQueued && this.socket.isPaused()) this.socket.resume();
      return Promise.resolve(item);
    }
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const w = {
        resolve: (i: Incoming) => {
          if (timer) clearTimeout(timer);
          resolve(i);
        },
        reject: (e: Error) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      };
      if (timeoutMs) {
        timer = setTimeout(() => {
          const at = this.waiters.indexOf(w);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(new ReceiveTimeoutError(`no frame from peer within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.waiters.push(w);
    });
  }

  /** Closes the connection: CLOSE frame, then end. */
  async close(): Promise<void> {
    if (this.ended) return;
    await this.send({ type: FrameType.CLOSE, flags: 0, stream: 0, offset: 0, payload: Buffer.alloc(0) }).catch(() => undefined);
    this.socket.end();
  }

  destroy(err?: Error): void {
    this.terminate(err ?? new ChannelClosedError('connection destroyed'));
    this.socket.destroy();
  }

  private enqueue(item: Incoming): void {
    const w = this.waiters.shift();
    if (w) {
      w.resolve(item);
      return;
    }
    this.queue.push(item);
    if (this.queue.length >= this.maxQueued) this.socket.pause();
  }

  private terminate(err: Error): void {
    if (this.ended) return;
    this.ended = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}

import { fileURLToPath } from 'node:url';
import type * as tls from 'node:tls';
import {
  acceptHello,
  DiskHello,
  ChunkIndex,
  ChunkSlab,
  createMtlsServer,
  FrameChannel,
  LaneJoin,
  LANES_FEATURE,
  Logger,
  readHello,
  RECEIVER_FEATURES,
  receiveDisk,
  StagingSink,
  TlsIdentity,
} from '@hdm/appliance-common';
import { DataRefusal, DiskLease, ImportService } from '../control/imports';
import { LeaseUploader } from './lease-uploader';

/**
 * The data path of cloud-manager: prem-manager connects over mTLS (role prem-manager), names
 * an import and a disk in its HELLO; we answer with the durable prefix we already hold (resume),
 * receive the rest into the staged image (the Cloud Manager's working disk, StagingSink), and
 * once complete upload it with one streaming PUT to the cloud lease URL. One connection carries
 * one disk.
 */
export class DataServer {
  readonly server: tls.Server;
  /** The session of each disk (`import/disk`): a new one waits until the one it replaces closed its staged image. */
  private readonly sessions = new Map<string, Promise<void>>();
  /** The lease upload of each disk (`import/disk`), kept across its data connections. */
  private readonly uploads = new Map<string, LeaseUploader>();
  /** Where extra lanes of a disk being received join it (`import/disk`). */
  private readonly lanes = new Map<string, LaneJoin>();

  constructor(identity: TlsIdentity, private readonly imports: ImportService, private readonly log: Logger) {
    this.server = createMtlsServer({ ...identity, allowedRoles: ['prem-manager'], log, name: 'data' }, (socket) => void this.session(socket));
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', reject);
        resolve({ host, port: (this.server.address() as { port: number }).port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async session(socket: tls.TLSSocket): Promise<void> {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    const channel = new FrameChannel(socket, { deferDataVerify: true, payloads: ChunkSlab.shared });
    let hello;
    try {
      hello = await readHello(channel);
    } catch (err) {
      this.log.warn({ remote, err: (err as Error).message }, 'data connection without a valid HELLO');
      await channel.sendError('bad-hello', (err as Error).message);
      socket.end();
      return;
    }
    if (hello.lane) {
      await this.joinLane(channel, socket, hello);
      return;
    }
    let lease;
    try {
      lease = this.imports.beginDisk(hello);
    } catch (err) {
      const code = err instanceof DataRefusal ? err.code : 'refused';
      this.log.warn({ remote, import: hello.jobId, disk: hello.diskKey, code, err: (err as Error).message }, 'refused disk');
      await channel.sendError(code, (err as Error).message, hello.stream);
      socket.end();
      return;
    }
    const log = this.log.child({ import: hello.jobId, disk: hello.diskKey });
    const key = `${hello.jobId}/${hello.diskKey}`;
    const previous = this.sessions.get(key);
    let release: () => void = () => undefined;
    const mine = new Promise<void>((r) => (release = r));
    this.sessions.set(key, mine);
    try {
      // beginDisk aborted the previous reception; its sink checkpoints and closes before we reopen the image.
      await previous;
      await this.receive(channel, socket, hello, lease, key, log);
    } finally {
      release();
      if (this.sessions.get(key) === mine) this.sessions.delete(key);
    }
  }

  private async receive(channel: FrameChannel, socket: tls.TLSSocket, hello: DiskHello, lease: DiskLease, key: string, log: Logger): Promise<void> {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    log.info({ remote, size: lease.size }, 'receiving disk');
    let sink: StagingSink | undefined;
    let upload: LeaseUploader | undefined;
    let lanes: LaneJoin | undefined;
    try {
      const fileTarget = /^file:/i.test(lease.uploadUrl) ? fileURLToPath(lease.uploadUrl) : undefined;
      if (!fileTarget) upload = this.uploaderFor(key, lease, log);
      // Cancelled (not just replaced by a newer connection of the same disk): the PUT is dropped too.
      lease.signal.addEventListener('abort', () => this.dropUploadIfEnded(hello.jobId, key));
      sink = await StagingSink.open(lease.staging.dir, lease.staging.name, lease.size, {
        renameTo: fileTarget,
        seedFrom: lease.baseFile,
        onDurable: (bytes) => upload?.advance(bytes),
        // The upload has followed the durable prefix; it ends with the PUT's answer and its digest.
        commit: upload ? () => upload!.finished() : undefined,
      });
      upload?.advance(sink.resumeFrom);
      lanes = new LaneJoin(lease.stream, lease.size);
      this.lanes.set(key, lanes);
      const startOffset = await acceptHello(channel, 'cloud-manager', hello, {
        resumeFrom: sink.resumeFrom,
        features: lease.baseFile ? [...RECEIVER_FEATURES, 'keep'] : RECEIVER_FEATURES,
        session: lanes.session,
      });
      if (startOffset > 0) log.info({ resumeFrom: startOffset }, 'resuming disk at its durable prefix');
      const result = await receiveDisk({ channel, sink, stream: lease.stream, size: lease.size, startOffset, index: new ChunkIndex(), lanes, signal: lease.signal, progress: lease.progress, log });
      this.uploads.delete(key);
      lease.done(result.sha256);
      await channel.close();
    } catch (err) {
      await sink?.abort().catch(() => undefined);
      // A failed PUT cannot continue: the next session starts a new one.
      if (upload?.failed) this.uploads.delete(key);
      lease.failed(err as Error);
      this.dropUploadIfEnded(hello.jobId, key);
      channel.destroy();
    } finally {
      if (lanes && this.lanes.get(key) === lanes) this.lanes.delete(key);
    }
  }

  /**
   * An extra lane (feature `lanes`): joins the reception of its disk if that is running and the
   * HELLO carries its session token (a lane of an older attempt is refused, the sender goes on
   * with the lanes it has). Ends when the reception drops it or the disk is done.
   */
  private async joinLane(channel: FrameChannel, socket: tls.TLSSocket, hello: DiskHello): Promise<void> {
    const key = `${hello.jobId}/${hello.diskKey}`;
    const lanes = this.lanes.get(key);
    if (!lanes || hello.session !== lanes.session || hello.stream !== lanes.stream || hello.size !== lanes.size) {
      this.log.warn({ import: hello.jobId, disk: hello.diskKey, lane: hello.lane }, 'refused lane: no reception of that session');
      await channel.sendError('unknown-lane-session', `no reception of disk ${hello.diskKey} with that session`, hello.stream);
      socket.end();
      return;
    }
    try {
      await acceptHello(channel, 'cloud-manager', hello, { features: [LANES_FEATURE] });
      const ended = lanes.join(channel, hello.lane!);
      if (ended) await ended;
      await channel.close();
    } catch {
      channel.destroy();
    }
  }

  /** An import that was cancelled or failed for good needs its lease upload no more. */
  private dropUploadIfEnded(importId: string, key: string): void {
    const state = this.imports.stateOf(importId);
    if (state !== 'cancelled' && state !== 'failed') return;
    this.uploads.get(key)?.abort(new Error(`import ${state}`));
    this.uploads.delete(key);
  }

  /** The disk's running upload, or a new one (none yet, the last one failed, or the import was re-posted with new lease URLs). */
  private uploaderFor(key: string, lease: DiskLease, log: Logger): LeaseUploader {
    const current = this.uploads.get(key);
    if (current && !current.failed && current.uploadUrl === lease.uploadUrl && current.size === lease.size) return current;
    current?.abort(new Error('replaced by a new upload'));
    const image = StagingSink.imagePath(lease.staging.dir, lease.staging.name);
    const u = new LeaseUploader(lease.uploadUrl, image, lease.size, { cookie: lease.cookie, thumbprint: lease.thumbprint }, log);
    this.uploads.set(key, u);
    return u;
  }
}

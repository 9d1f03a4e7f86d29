import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import {
  connectMtls,
  openDiskSession,
  SENDER_FEATURES,
  DiskSource,
  EsxiDiskSource,
  FileSource,
  HttpRangeSource,
  RateLimiter,
  Logger,
  ProgressListener,
  sendDisk,
  TlsIdentity,
  DiskResult,
  FrameChannel,
  LaneLink,
  LANES_FEATURE,
} from '@hdm/appliance-common';

export interface CloudTarget {
  host: string;
  port: number;
  expectedRole: string;
}

/** How a disk is read: through the ESXi Manager, the NFC export lease, or a local file (lab, bench). */
export type SourceKind = 'esxi' | 'nfc' | 'file';

export interface EsxiSourceRef {
  control: { host: string; port: number };
  data: { host: string; port: number };
  /** Datastore path of the descriptor, `[ds] vm/vm.vmdk`. */
  path: string;
}

export interface ExportDiskRequest {
  jobId: string;
  stream: number;
  key: string;
  size: number;
  /** The export lease's disk URL or (lab, bench) a file:// URL. */
  sourceUrl?: string;
  /** Read through the Prem ESXi Manager (allocated extents only); sourceUrl is the fallback when it is unreachable. */
  esxi?: EsxiSourceRef;
  changedAreas?: Array<{ start: number; length: number }>;
  cookie?: string;
  thumbprint?: string;
}

/**
 * The data path of prem-manager for one disk and one attempt: mTLS connection to cloud-manager,
 * HELLO naming the import and disk, then the disk read from the export lease URL (ranged GETs)
 * and streamed with sendDisk. The caller retries with backoff; each attempt continues at the
 * durable prefix cloud-manager reports in its HELLO reply (resume).
 */
export async function exportDisk(
  identity: TlsIdentity,
  cloud: CloudTarget,
  disk: ExportDiskRequest,
  opts: {
    signal: AbortSignal;
    progress: ProgressListener;
    log: Logger;
    chunkSize?: number;
    window?: number;
    limiter?: RateLimiter;
    idleTimeoutMs?: number;
    /** Lanes (connections) per disk: adaptive up to `max`, or `fixed`; `link` is shared by every disk on the link. */
    lanes?: { max: number; fixed?: number; link?: LaneLink };
    onSource?: (via: SourceKind) => void;
  },
): Promise<DiskResult> {
  const wantsLanes = !!opts.lanes && Math.max(opts.lanes.max, opts.lanes.fixed ?? 0) > 1;
  const { source, via } = await openSource(disk, identity, opts.log);
  opts.onSource?.(via);
  // Every connection of this disk (the first and each extra lane) is made the same way.
  const connect = async (): Promise<TLSSocket> => {
    const s = await connectMtls({ ...identity, host: cloud.host, port: cloud.port, expectedRole: cloud.expectedRole });
    s.setNoDelay(true);
    return s;
  };
  const hello = { role: 'prem-manager', jobId: disk.jobId, stream: disk.stream, diskKey: disk.key, size: disk.size };
  let socket: TLSSocket;
  try {
    socket = await connect();
  } catch (err) {
    await source.close();
    throw err;
  }
  const onAbort = (): void => void socket.destroy(new Error('transfer cancelled'));
  opts.signal.addEventListener('abort', onAbort);
  try {
    const { channel, reply } = await openDiskSession(socket, {
      ...hello,
      features: wantsLanes ? SENDER_FEATURES : SENDER_FEATURES.filter((f) => f !== LANES_FEATURE),
    });
    if (reply.resumeFrom) opts.log.info({ resumeFrom: reply.resumeFrom }, 'cloud-manager holds a durable prefix: resuming there');
    // An extra lane: one more mTLS connection whose HELLO names the job, the disk, the lane and the session.
    const openLane = async (lane: number, signal: AbortSignal): Promise<FrameChannel> => {
      const s = await connect();
      const stop = (): void => void s.destroy(new Error('lane no longer needed'));
      signal.addEventListener('abort', stop);
      if (signal.aborted) stop();
      s.once('close', () => signal.removeEventListener('abort', stop));
      return (await openDiskSession(s, { ...hello, lane, session: reply.session, features: [LANES_FEATURE] })).channel;
    };
    try {
      const result = await sendDisk({
        channel,
        source,
        stream: disk.stream,
        startOffset: reply.resumeFrom,
        features: reply.features,
        limiter: opts.limiter,
        idleTimeoutMs: opts.idleTimeoutMs,
        changedAreas: disk.changedAreas,
        openLane: reply.session ? openLane : undefined,
        lanes: opts.lanes,
        chunkSize: opts.chunkSize,
        window: opts.window,
        progress: opts.progress,
        signal: opts.signal,
        log: opts.log,
      });
      await channel.close();
      return result;
    } catch (err) {
      channel.destroy();
      throw err;
    }
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    socket.destroy();
    await source.close();
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET']);

/**
 * The ESXi Manager of the VM's host (allocated extents only), else the lease URL (ranged GETs)
 * or, where the service allows it (--file-dir, checked at POST), a local file.
 */
async function openSource(disk: ExportDiskRequest, identity: TlsIdentity, log: Logger): Promise<{ source: DiskSource; via: SourceKind }> {
  if (disk.esxi) {
    try {
      const opening = EsxiDiskSource.open({ identity, control: disk.esxi.control, data: disk.esxi.data, path: disk.esxi.path, expectedRole: 'esxi-manager' });
      return { source: await sized(opening, disk.size, 'the ESXi Manager reports'), via: 'esxi' };
    } catch (err) {
      if (!disk.sourceUrl || !UNREACHABLE.has((err as { code?: string }).code ?? '')) throw err;
      log.warn({ err: (err as Error).message }, 'ESXi Manager unreachable: reading the disk through the export lease (NFC) instead');
    }
  }
  if (!disk.sourceUrl) throw new Error('no source for the disk');
  if (/^file:/i.test(disk.sourceUrl)) return { source: await sized(FileSource.open(fileURLToPath(disk.sourceUrl)), disk.size, 'the source file has'), via: 'file' };
  return { source: new HttpRangeSource({ url: disk.sourceUrl, cookie: disk.cookie, thumbprint: disk.thumbprint }, disk.size, { maxSockets: 4 }), via: 'nfc' };
}

async function sized(opening: Promise<DiskSource>, size: number, what: string): Promise<DiskSource> {
  const src = await opening;
  if (src.size !== size) {
    await src.close();
    throw new Error(`${what} ${src.size} bytes, the export says ${size}`);
  }
  return src;
}

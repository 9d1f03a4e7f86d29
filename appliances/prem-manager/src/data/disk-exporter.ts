import { fileURLToPath } from 'node:url';
import {
  connectMtls,
  openDiskSession,
  SENDER_FEATURES,
  DiskSource,
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

export interface ExportDiskRequest {
  jobId: string;
  stream: number;
  key: string;
  size: number;
  sourceUrl: string;
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
  },
): Promise<DiskResult> {
  const wantsLanes = !!opts.lanes && Math.max(opts.lanes.max, opts.lanes.fixed ?? 0) > 1;
  const source = await openSource(disk);
  let socket;
  try {
    socket = await connectMtls({ ...identity, host: cloud.host, port: cloud.port, expectedRole: cloud.expectedRole });
  } catch (err) {
    await source.close();
    throw err;
  }
  socket.setNoDelay(true);
  const onAbort = (): void => void socket.destroy(new Error('transfer cancelled'));
  opts.signal.addEventListener('abort', onAbort);
  try {
    const { channel, reply } = await openDiskSession(socket, {
      role: 'prem-manager',
      jobId: disk.jobId,
      stream: disk.stream,
      diskKey: disk.key,
      size: disk.size,
      features: wantsLanes ? SENDER_FEATURES : SENDER_FEATURES.filter((f) => f !== LANES_FEATURE),
    });
    if (reply.resumeFrom) opts.log.info({ resumeFrom: reply.resumeFrom }, 'cloud-manager holds a durable prefix: resuming there');
    // An extra lane: one more mTLS connection whose HELLO names the job, the disk, the lane and the session.
    const openLane = async (lane: number, signal: AbortSignal): Promise<FrameChannel> => {
      const s = await connectMtls({ ...identity, host: cloud.host, port: cloud.port, expectedRole: cloud.expectedRole });
      s.setNoDelay(true);
      const stop = (): void => void s.destroy(new Error('lane no longer needed'));
      signal.addEventListener('abort', stop);
      if (signal.aborted) stop();
      s.once('close', () => signal.removeEventListener('abort', stop));
      const hello = { role: 'prem-manager', jobId: disk.jobId, stream: disk.stream, diskKey: disk.key, size: disk.size, lane, session: reply.session, features: [LANES_FEATURE] };
      return (await openDiskSession(s, hello)).channel;
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

/** The lease URL (ranged GETs) or, where the service allows it (--file-dir, checked at POST), a local file. */
async function openSource(disk: ExportDiskRequest): Promise<DiskSource> {
  if (/^file:/i.test(disk.sourceUrl)) {
    const src = await FileSource.open(fileURLToPath(disk.sourceUrl));
    if (src.size !== disk.size) {
      await src.close();
      throw new Error(`source file has ${src.size} bytes, the export says ${disk.size}`);
    }
    return src;
  }
  return new HttpRangeSource({ url: disk.sourceUrl, cookie: disk.cookie, thumbprint: disk.thumbprint }, disk.size, { maxSockets: 4 });
}

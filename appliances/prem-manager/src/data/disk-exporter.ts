import {
  connectMtls,
  helloAsSender,
  HttpRangeSource,
  Logger,
  ProgressListener,
  sendDisk,
  TlsIdentity,
  DiskResult,
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
  cookie?: string;
  thumbprint?: string;
}

/**
 * The data path of prem-manager for one disk and one attempt: mTLS connection to cloud-manager,
 * HELLO naming the import and disk, then the disk read from the export lease URL (ranged GETs)
 * and streamed with sendDisk. The caller retries with backoff; each attempt restarts at 0.
 */
export async function exportDisk(
  identity: TlsIdentity,
  cloud: CloudTarget,
  disk: ExportDiskRequest,
  opts: { signal: AbortSignal; progress: ProgressListener; log: Logger; chunkSize?: number; window?: number },
): Promise<DiskResult> {
  const source = new HttpRangeSource({ url: disk.sourceUrl, cookie: disk.cookie, thumbprint: disk.thumbprint }, disk.size, { maxSockets: 4 });
  const socket = await connectMtls({ ...identity, host: cloud.host, port: cloud.port, expectedRole: cloud.expectedRole });
  socket.setNoDelay(true);
  const onAbort = (): void => void socket.destroy(new Error('transfer cancelled'));
  opts.signal.addEventListener('abort', onAbort);
  try {
    const channel = await helloAsSender(socket, { role: 'prem-manager', jobId: disk.jobId, stream: disk.stream, diskKey: disk.key, size: disk.size });
    try {
      const result = await sendDisk({
        channel,
        source,
        stream: disk.stream,
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

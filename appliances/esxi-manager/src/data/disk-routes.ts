import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ControlServer, HttpError, Logger } from '@hdm/appliance-common';
import type { AllocationCache } from '../vmdk/allocation';
import type { DiskResolver, ResolvedDisk } from '../vmdk/datastores';
import { parseContentRange, parseRange } from './ranges';
import { readDisk, writeDisk } from './disk-io';

/** The disk named by `?path=` (a datastore path, URL-encoded). */
export function diskParam(query: URLSearchParams, resolver: DiskResolver): Promise<ResolvedDisk> {
  const path = query.get('path');
  if (!path) throw new HttpError(400, 'query parameter path ("[datastore] dir/disk.vmdk") is required');
  return resolver.resolve(path);
}

/**
 * `GET|HEAD /v1/disk?path=` with `Range: bytes=a-b` → 206 with exactly those bytes (200 and the
 * whole disk without Range). Served on the data port (prem-manager's bulk reads) and on the
 * VMDK read port.
 */
export function registerDiskReads(server: ControlServer, resolver: DiskResolver): void {
  const read = async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> => {
    const disk = await diskParam(query, resolver);
    const range = parseRange(req.headers.range, disk.size);
    const [start, end] = range ? [range.start, range.end + 1] : [0, disk.size];
    res.writeHead(range ? 206 : 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': end - start,
      'Accept-Ranges': 'bytes',
      ...(range ? { 'Content-Range': `bytes ${start}-${end - 1}/${disk.size}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    await pipeline(Readable.from(readDisk(disk.extents, start, end), { objectMode: false }), res);
  };
  server.streamRoute('GET', '/v1/disk', read).streamRoute('HEAD', '/v1/disk', read);
}

/**
 * `PUT /v1/disk?path=` with `Content-Range: bytes a-b/size` and Content-Length b-a+1: writes in
 * place, fdatasync, then 204. A client that goes away mid-body gets no answer: nothing of that
 * body is acknowledged.
 */
export function registerDiskWrites(server: ControlServer, resolver: DiskResolver, cache: AllocationCache, log: Logger): void {
  server.streamRoute('PUT', '/v1/disk', async (req, res, query) => {
    const disk = await diskParam(query, resolver);
    const range = parseContentRange(req.headers['content-range'], disk.size);
    const length = range.end - range.start + 1;
    const declared = req.headers['content-length'];
    if (declared === undefined) throw new HttpError(411, 'Content-Length is required');
    if (Number(declared) !== length) throw new HttpError(400, `Content-Length ${declared} does not match Content-Range (${length} bytes)`);
    let files: string[];
    try {
      files = await writeDisk(disk.extents, range.start, range.end + 1, req);
    } catch (err) {
      if (err instanceof HttpError || !req.destroyed) throw err;
      log.warn({ path: disk.path, start: range.start, length, reason: (err as Error).message }, 'write client went away mid-body: nothing acknowledged');
      throw new HttpError(400, 'connection lost mid-body');
    } finally {
      // The allocation changed (or may have): the next /v1/disks scans again.
      for (const x of disk.extents) if (x.file) cache.forget(x.file);
    }
    log.debug({ path: disk.path, start: range.start, length, files }, 'wrote');
    res.writeHead(204).end();
  });
}

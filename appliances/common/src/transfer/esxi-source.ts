import * as https from 'node:https';
import { z } from 'zod';
import { agentFor, redact, type HttpEndpoint } from '../http/pinned';
import type { TlsIdentity } from '../mtls/mtls';
import { formatHostPort, type HostPort } from '../service/config';
import { ChunkSlab } from './chunk-slab';
import { HttpRangeSource, HttpStatusError, type DiskSource } from './io';

/** What esxi-manager's `GET /v1/disks?path=` answers (appliances/esxi-manager/src/control/api.ts). */
const diskInfoSchema = z
  .object({
    path: z.string(),
    size: z.number().int().nonnegative(),
    allocated: z.array(z.object({ start: z.number().int().nonnegative(), length: z.number().int().positive() })),
    allocatedBytes: z.number().int().nonnegative(),
    extentSource: z.enum(['fiemap', 'full']),
  })
  .refine((d) => d.allocated.every((r, i) => r.start + r.length <= d.size && (i === 0 || d.allocated[i - 1]!.start + d.allocated[i - 1]!.length <= r.start)), {
    message: 'allocated ranges must be sorted, disjoint and inside the disk',
  });

export type EsxiDiskInfo = z.infer<typeof diskInfoSchema>;

export interface EsxiDiskSourceOptions {
  /** This service's certificate (prem-manager): esxi-manager admits clients by role. */
  identity: TlsIdentity;
  /** esxi-manager's control API (product ports 5000-5010). */
  control: HostPort;
  /** esxi-manager's data listener (product ports 12000-12010). */
  data: HostPort;
  /** Datastore path of the disk, `[datastore] dir/disk.vmdk`. */
  path: string;
  /** The role the server's certificate must carry. */
  expectedRole?: 'esxi-manager';
  maxSockets?: number;
  retries?: number;
  timeoutMs?: number;
}

/**
 * A disk served by the Prem ESXi Manager. open() learns the size and the allocated ranges
 * (FIEMAP on the ESXi side); read() zero-fills holes locally and fetches only allocated bytes,
 * with ranged GETs over keep-alive mTLS connections (the server's role checked after each
 * handshake, before a request byte is written). Holes never cross the network.
 */
export class EsxiDiskSource implements DiskSource {
  /** Bytes fetched over the network so far (successful ranged GETs). */
  bytesFetched = 0;

  private constructor(readonly info: EsxiDiskInfo, private readonly range: HttpRangeSource) {}

  static async open(o: EsxiDiskSourceOptions): Promise<EsxiDiskSource> {
    const mtls = { identity: o.identity, expectedRole: o.expectedRole ?? 'esxi-manager' };
    const query = `path=${encodeURIComponent(o.path)}`;
    const body = await getJson({ url: `https://${formatHostPort(o.control)}/v1/disks?${query}`, mtls }, o.timeoutMs ?? 60_000);
    const parsed = diskInfoSchema.safeParse(body);
    if (!parsed.success) throw new Error(`esxi-manager answered an unexpected disk description for ${o.path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const range = new HttpRangeSource({ url: `https://${formatHostPort(o.data)}/v1/disk?${query}`, mtls }, parsed.data.size, {
      maxSockets: o.maxSockets ?? 4,
      retries: o.retries,
      timeoutMs: o.timeoutMs,
    });
    return new EsxiDiskSource(parsed.data, range);
  }

  get size(): number {
    return this.info.size;
  }

  /** Bytes the disk holds (the rest are holes, read as zeros). */
  get allocatedBytes(): number {
    return this.info.allocatedBytes;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.size) throw new RangeError(`read ${offset}+${length} beyond ${this.size}`);
    const out = ChunkSlab.shared.take(length);
    const end = offset + length;
    const fetches: Promise<void>[] = [];
    let at = offset;
    const ranges = this.info.allocated;
    for (let i = firstEndingAfter(ranges, offset); i < ranges.length && ranges[i]!.start < end; i++) {
      const s = Math.max(ranges[i]!.start, offset);
      const e = Math.min(ranges[i]!.start + ranges[i]!.length, end);
      out.fill(0, at - offset, s - offset);
      fetches.push(this.range.readInto(out, s - offset, s, e - s).then(() => void (this.bytesFetched += e - s)));
      at = e;
    }
    out.fill(0, at - offset, length);
    // Settle all before giving the slot back: a fetch still running must not write into a reused slot.
    const failed = (await Promise.allSettled(fetches)).find((r) => r.status === 'rejected');
    if (failed) {
      ChunkSlab.shared.give(out);
      throw (failed as PromiseRejectedResult).reason;
    }
    return out;
  }

  close(): Promise<void> {
    return this.range.close();
  }
}

/** Index of the first range that ends after `offset` (ranges sorted and disjoint). */
function firstEndingAfter(ranges: ReadonlyArray<{ start: number; length: number }>, offset: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid]!.start + ranges[mid]!.length <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function getJson(ep: HttpEndpoint, timeoutMs: number): Promise<unknown> {
  const agent = agentFor(ep, 1);
  return new Promise<unknown>((resolve, reject) => {
    const req = https.request(ep.url, { method: 'GET', agent, headers: { Accept: 'application/json' }, timeout: timeoutMs });
    req.on('timeout', () => req.destroy(new Error(`GET ${redact(ep.url)} timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += text.length < 1 << 24 ? d : ''));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new HttpStatusError(res.statusCode ?? 0, 'GET', ep.url, text));
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(new Error(`GET ${redact(ep.url)}: not JSON: ${(err as Error).message}`));
        }
      });
    });
    req.end();
  }).finally(() => agent.destroy());
}

import { IncomingMessage } from 'http';
import { Readable } from 'stream';
import { readBody } from '../soap/transport';
import { VimClient } from '../soap/vim-client';

/** A datastore path split: `[prem-ds] app-01/app-01-flat.vmdk` → { datastore: 'prem-ds', path: 'app-01/app-01-flat.vmdk' }. */
export interface DatastorePath {
  datastore: string;
  path: string;
}

/** Parses `[ds] dir/file`; throws on anything else. */
export function parseDatastorePath(dsPath: string): DatastorePath {
  const m = /^\[([^\]]+)\]\s*(.*)$/.exec(dsPath.trim());
  if (!m) throw new Error(`not a datastore path (want "[datastore] dir/file"): ${dsPath}`);
  return { datastore: m[1], path: m[2].replace(/^\/+/, '') };
}

/** A /folder request answered with an unexpected status. */
export class DatastoreFileError extends Error {
  constructor(readonly dsPath: string, readonly method: string, readonly status: number, body: string) {
    super(`${method} ${dsPath}: HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'DatastoreFileError';
  }
}

/** Byte range, inclusive on both ends (HTTP semantics); `end` omitted = to the end of the file. */
export interface ByteRange {
  start: number;
  end?: number;
}

/**
 * Datastore file access through vCenter's `/folder/<path>?dcPath=<dc>&dsName=<ds>` HTTP endpoint,
 * authenticated by the session cookie and on the client's transport (same TLS pin, same agent).
 * Not a managed object: the HTTP side of the datastore browser. Used by tests and the lab to write
 * and read disk bytes; the migration data path uses the transfer engine instead.
 */
export class DatastoreFiles {
  /** @param datacenterPath inventory path of the datacenter (Inventory.datacenters()[i].path) */
  constructor(readonly client: VimClient, readonly datacenterPath: string) {}

  /** The /folder URL of `dsPath` (relative to the /sdk host). */
  url(dsPath: string): string {
    const { datastore, path } = parseDatastorePath(dsPath);
    const q = new URLSearchParams({ dcPath: this.datacenterPath, dsName: datastore });
    return `/folder/${path.split('/').map(encodeURIComponent).join('/')}?${q.toString()}`;
  }

  /** GET (optionally a byte range) as a stream; rejects with DatastoreFileError (404 = no such file). */
  async download(dsPath: string, range?: ByteRange, opts: { signal?: AbortSignal } = {}): Promise<IncomingMessage> {
    const headers: Record<string, string> = {};
    if (range) headers.Range = `bytes=${range.start}-${range.end ?? ''}`;
    const res = await this.client.transport.request(this.url(dsPath), { method: 'GET', headers, signal: opts.signal });
    const ok = range ? res.statusCode === 206 || (res.statusCode === 200 && range.start === 0) : res.statusCode === 200;
    if (!ok) throw new DatastoreFileError(dsPath, 'GET', res.statusCode ?? 0, (await readBody(res, 4096)).toString('utf8'));
    return res;
  }

  /** Reads the whole file (or range) into memory: for small files and tests. */
  async read(dsPath: string, range?: ByteRange): Promise<Buffer> {
    return readBody(await this.download(dsPath, range), Number.MAX_SAFE_INTEGER);
  }

  /** PUT `body` (`size` bytes) to `dsPath`, creating or replacing the file. */
  async upload(dsPath: string, body: Readable | Buffer, size: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const res = await this.client.transport.request(this.url(dsPath), {
      method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size }, body, signal: opts.signal,
    });
    const text = (await readBody(res, 4096)).toString('utf8');
    if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) throw new DatastoreFileError(dsPath, 'PUT', res.statusCode ?? 0, text);
  }

  /** HEAD: `{ size }` in bytes, or undefined when the file does not exist. */
  async stat(dsPath: string): Promise<{ size: number } | undefined> {
    const res = await this.client.transport.request(this.url(dsPath), { method: 'HEAD' });
    res.resume();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw new DatastoreFileError(dsPath, 'HEAD', res.statusCode ?? 0, '');
    return { size: Number(res.headers['content-length'] ?? 0) };
  }
}

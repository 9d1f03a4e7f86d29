import { open, type FileHandle } from 'node:fs/promises';
import type * as http from 'node:http';
import { agentFor, cookieHeader, HttpEndpoint, redact, requestFn } from '../http/pinned';
import { ChunkSlab } from './chunk-slab';

/** Random-access reader of a disk image. */
export interface DiskSource {
  readonly size: number;
  /**
   * Reads exactly `length` bytes at `offset` (offset + length ≤ size). The buffer may be a
   * ChunkSlab slot: the engine gives it back when the chunk is done.
   */
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** Sequential writer of a disk image: chunks arrive in offset order, from 0 to size. */
export interface DiskSink {
  /** Resolves once the sink accepted the chunk (handed to the file / the HTTP connection). */
  write(chunk: Buffer): Promise<void>;
  /**
   * All bytes written: flush and confirm (HTTP response 2xx, fsync). A sink that hashed what it
   * committed (StagingSink) returns that SHA-256 (hex); the receiver then uses it as the
   * end-to-end digest instead of its own running hash (required when resuming).
   */
  finish(): Promise<void | string>;
  /** Optional: advance over `length` bytes leaving what the sink holds there (zeros of a hole, or a delta's base). */
  skip?(length: number): Promise<void>;
  /** Optional: `length` zero bytes, written efficiently (a hole where possible). */
  writeZeros?(length: number): Promise<void>;
  /** Optional: read back bytes already written (the receiver's dedup index copies from them). */
  read?(offset: number, length: number): Promise<Buffer>;
  /** True when finish() can return the SHA-256 of the whole disk (needed for resumes and deltas). */
  readonly hashesOnFinish?: boolean;
  /** The receiver hashed the whole stream itself: finish() need not hash (it may return nothing). */
  skipFinishHash?(): void;
  /** Drop the partial copy. */
  abort(reason?: Error): Promise<void>;
}

export class HttpStatusError extends Error {
  constructor(readonly status: number, method: string, url: string, body: string) {
    super(`${method} ${redact(url)} answered HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
  }
}

/** Errors a retry cannot fix: the peer is not who it must be. */
const PERMANENT_CODES = new Set(['ERR_HDM_PIN_MISMATCH', 'ERR_HDM_PEER_ROLE']);

/** Reads a lease disk URL with `Range: bytes=a-b` GETs (206), over pinned keep-alive connections. */
export class HttpRangeSource implements DiskSource {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;

  constructor(
    private readonly ep: HttpEndpoint,
    readonly size: number,
    private readonly opts: { maxSockets?: number; timeoutMs?: number; retries?: number } = {},
  ) {
    this.agent = agentFor(ep, opts.maxSockets ?? 4);
    this.request = requestFn(ep.url);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const out = ChunkSlab.shared.take(length);
    try {
      await this.readInto(out, 0, offset, length);
    } catch (err) {
      ChunkSlab.shared.give(out);
      throw err;
    }
    return out;
  }

  /** Reads `length` bytes at `offset` into `out` at `at`, retrying transient failures. */
  async readInto(out: Buffer, at: number, offset: number, length: number): Promise<void> {
    if (offset < 0 || length < 0 || offset + length > this.size) throw new RangeError(`read ${offset}+${length} beyond ${this.size}`);
    if (length === 0) return;
    const retries = this.opts.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.readOnce(out.subarray(at, at + length), offset);
      } catch (err) {
        const status = err instanceof HttpStatusError ? err.status : 0;
        const permanent = (status >= 400 && status < 500) || PERMANENT_CODES.has((err as { code?: string }).code ?? '');
        if (permanent || attempt >= retries) throw err;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }

  private readOnce(out: Buffer, offset: number): Promise<void> {
    const length = out.length;
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { Range: `bytes=${offset}-${offset + length - 1}` };
      const cookie = cookieHeader(this.ep.cookie);
      if (cookie) headers.Cookie = cookie;
      const req = this.request(this.ep.url, { method: 'GET', agent: this.agent, headers, timeout: this.opts.timeoutMs ?? 60_000 });
      req.on('timeout', () => req.destroy(new Error(`GET ${redact(this.ep.url)} timed out`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const whole = res.statusCode === 200 && offset === 0 && length === this.size;
        if (res.statusCode !== 206 && !whole) {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d.length < 1000 ? d : ''));
          res.on('end', () => reject(new HttpStatusError(res.statusCode ?? 0, 'GET', this.ep.url, body)));
          res.on('error', reject);
          return;
        }
        let at = 0;
        res.on('data', (d: Buffer) => {
          if (at + d.length > length) {
            req.destroy(new Error(`GET ${redact(this.ep.url)} returned more than the ${length} bytes asked`));
            return;
          }
          d.copy(out, at);
          at += d.length;
        });
        res.on('end', () => (at === length ? resolve() : reject(new Error(`GET ${redact(this.ep.url)} range ${offset}+${length}: got ${at} bytes`))));
        res.on('error', reject);
      });
      req.end();
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

/**
 * Uploads a disk with one streaming PUT (Content-Length = disk size), as an ImportVApp lease
 * expects. A PUT cannot resume: after a failure the copy restarts from 0 with a new sink.
 */
export class HttpPutSink implements DiskSink {
  private readonly req: http.ClientRequest;
  private readonly response: Promise<void>;
  private failure: Error | undefined;
  private readonly agent: http.Agent;

  constructor(ep: HttpEndpoint, size: number, opts: { timeoutMs?: number } = {}) {
    this.agent = agentFor(ep, 1);
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) };
    const cookie = cookieHeader(ep.cookie);
    if (cookie) headers.Cookie = cookie;
    this.req = requestFn(ep.url)(ep.url, { method: 'PUT', agent: this.agent, headers, timeout: opts.timeoutMs ?? 120_000 });
    this.req.on('timeout', () => this.req.destroy(new Error(`PUT ${redact(ep.url)} timed out`)));
    this.response = new Promise<void>((resolve, reject) => {
      this.req.on('error', (err) => {
        this.failure ??= err;
        reject(err);
      });
      this.req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += body.length < 1000 ? d : ''));
        res.on('end', () => {
          if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) resolve();
          else {
            this.failure ??= new HttpStatusError(res.statusCode ?? 0, 'PUT', ep.url, body);
            reject(this.failure);
          }
        });
        res.on('error', reject);
      });
    });
    this.response.catch(() => undefined); // observed through write/finish
  }

  write(chunk: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.req.write(chunk, (err) => (err ? reject(this.failure ?? err) : this.failure ? reject(this.failure) : resolve()));
    });
  }

  async finish(): Promise<void> {
    if (this.failure) throw this.failure;
    this.req.end();
    try {
      await this.response;
    } finally {
      this.agent.destroy();
    }
  }

  async abort(reason?: Error): Promise<void> {
    this.failure ??= reason ?? new Error('aborted');
    this.req.destroy();
    this.agent.destroy();
  }
}

export class FileSource implements DiskSource {
  private constructor(private readonly fh: FileHandle, readonly size: number) {}

  static async open(path: string): Promise<FileSource> {
    const fh = await open(path, 'r');
    return new FileSource(fh, (await fh.stat()).size);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buf = ChunkSlab.shared.take(length);
    let at = 0;
    while (at < length) {
      const { bytesRead } = await this.fh.read(buf, at, length - at, offset + at);
      if (bytesRead === 0) throw new Error(`unexpected end of file at ${offset + at}`);
      at += bytesRead;
    }
    return buf;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** Writes sequentially to a file; finish() fsyncs. */
export class FileSink implements DiskSink {
  private constructor(private readonly fh: FileHandle) {}

  static async create(path: string): Promise<FileSink> {
    return new FileSink(await open(path, 'w'));
  }

  async write(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) at += (await this.fh.write(chunk, at, chunk.length - at)).bytesWritten;
  }

  async finish(): Promise<void> {
    await this.fh.sync();
    await this.fh.close();
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

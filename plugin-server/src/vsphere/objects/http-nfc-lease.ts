import { IncomingMessage } from 'http';
import { Readable } from 'stream';
import {
  HttpNfcLeaseDeviceUrl, HttpNfcLeaseInfo, HttpNfcLeaseManifestEntry, HttpNfcLeaseState, LocalizedMethodFault,
  ManagedObjectReference,
} from '../generated';
import { waitForProperties, WaitForPropertiesOptions } from '../property/wait-for-properties';
import { readBody } from '../soap/transport';
import { VimClient } from '../soap/vim-client';
import { ManagedObject } from './managed-object';

/** The lease went to state `error` (or ended) instead of `ready`; `fault` is the lease's error. */
export class HttpNfcLeaseError extends Error {
  readonly faultName: string;

  constructor(readonly lease: ManagedObjectReference, readonly state: HttpNfcLeaseState | undefined,
    readonly fault: LocalizedMethodFault | undefined) {
    const faultName = fault?.fault?._type ?? 'SystemError';
    super(fault?.localizedMessage || `lease ${lease.value} is ${state ?? 'gone'} instead of ready${fault ? `: ${faultName}` : ''}`);
    this.name = 'HttpNfcLeaseError';
    this.faultName = faultName;
  }
}

/** An NFC transfer answered with a non-2xx status. */
export class NfcTransferError extends Error {
  constructor(readonly url: string, readonly status: number, body: string) {
    super(`NFC ${url}: HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'NfcTransferError';
  }
}

/** A device URL with `*` replaced by the vCenter host (see HttpNfcLease.info). */
export type NfcDeviceUrl = HttpNfcLeaseDeviceUrl;

/**
 * HttpNfcLease: the permission to move disk bytes of an ImportVApp/ExportVm over HTTPS.
 * Lifecycle: `waitReady()` (state initializing → ready, or HttpNfcLeaseError) → transfers on the
 * device URLs while `keepAlive()` reports progress (vCenter aborts a lease that hears nothing for
 * `info.leaseTimeout` seconds) → `complete()` (import: the VM becomes usable; export: the VM is
 * released) or `abort(fault)`. The data path (reading/writing the URLs at speed) belongs to the
 * transfer engine; `upload`/`download` here are plain single-stream helpers on the one transport.
 */
export class HttpNfcLease extends ManagedObject {
  constructor(client: VimClient, ref: ManagedObjectReference) {
    super(client, ref);
  }

  /** Current `state` (initializing, ready, done, error). */
  async state(): Promise<HttpNfcLeaseState> {
    return (await this.properties(['state'])).state as HttpNfcLeaseState;
  }

  /** Waits until the lease is ready and returns its info; rejects with HttpNfcLeaseError on error/done. */
  async waitReady(opts: WaitForPropertiesOptions = {}): Promise<HttpNfcLeaseInfo> {
    const outcome = await waitForProperties(this.client, this.ref, ['state', 'error'], (v) => {
      const state = v.state as HttpNfcLeaseState | undefined;
      if (state === undefined || state === 'initializing') return undefined;
      return { state, error: v.error as LocalizedMethodFault | undefined };
    }, opts);
    if (outcome.state !== 'ready') throw new HttpNfcLeaseError(this.ref, outcome.state, outcome.error);
    return this.info();
  }

  /**
   * The lease info with device URLs rewritten: vCenter answers URLs whose host is `*`, meaning
   * "the host you are talking to", so `*` becomes the /sdk host[:port].
   */
  async info(): Promise<HttpNfcLeaseInfo> {
    const info = (await this.properties(['info'])).info as HttpNfcLeaseInfo | undefined;
    if (!info) throw new HttpNfcLeaseError(this.ref, undefined, undefined);
    return { ...info, deviceUrl: (info.deviceUrl ?? []).map((d) => ({ ...d, url: this.resolveUrl(d.url) })) };
  }

  /** A device URL with host `*` → the same URL on the vCenter host[:port]; other URLs unchanged. */
  resolveUrl(url: string): string {
    return url.replace(/^(https?:\/\/)\*(?=[:/])/, `$1${this.client.transport.host}`);
  }

  /** HttpNfcLeaseProgress: percent 0–100; also the keep-alive of the lease. */
  async progress(percent: number): Promise<void> {
    await this.client.invoke('HttpNfcLeaseProgress', { _this: this.ref, percent: Math.max(0, Math.min(100, Math.round(percent))) });
  }

  /**
   * Reports `getPercent()` every `everyMs` (default 10 s; keep it well under leaseTimeout) until the
   * returned stop function is called. A failed report goes to `onError` and the loop continues.
   */
  keepAlive(getPercent: () => number, everyMs = 10_000, onError?: (e: unknown) => void): () => void {
    let stopped = false;
    let inFlight = false;
    const timer = setInterval(() => {
      if (stopped || inFlight) return;
      inFlight = true;
      this.progress(getPercent()).catch((e) => onError?.(e)).finally(() => { inFlight = false; });
    }, everyMs);
    timer.unref?.();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }

  /** HttpNfcLeaseGetManifest (export): SHA-1 and size per device, after the transfer. */
  getManifest(): Promise<HttpNfcLeaseManifestEntry[]> {
    return this.client.invoke('HttpNfcLeaseGetManifest', { _this: this.ref });
  }

  /** HttpNfcLeaseComplete: the transfer succeeded (import: the VM is kept). */
  async complete(): Promise<void> {
    await this.client.invoke('HttpNfcLeaseComplete', { _this: this.ref });
  }

  /** HttpNfcLeaseAbort, optionally with the fault that made us give up (import: the VM is deleted). */
  async abort(fault?: LocalizedMethodFault): Promise<void> {
    await this.client.invoke('HttpNfcLeaseAbort', { _this: this.ref, fault });
  }

  /**
   * Uploads one import file to `device.url` (from info()): a disk is POSTed as
   * `application/x-vnd.vmware-streamVmdk` (what vCenter expects for ImportVApp disks), other files
   * are PUT with `Overwrite: t`, as govmomi's nfc.Lease.Upload does. Resolves when the server
   * acknowledged the whole body.
   */
  async upload(device: Pick<HttpNfcLeaseDeviceUrl, 'url' | 'sslThumbprint' | 'disk'>, body: Readable | Buffer, size: number,
    opts: { signal?: AbortSignal } = {}): Promise<void> {
    const disk = device.disk !== false;
    const res = await this.client.transport.request(device.url, {
      method: disk ? 'POST' : 'PUT',
      headers: {
        'Content-Type': disk ? 'application/x-vnd.vmware-streamVmdk' : 'application/octet-stream',
        'Content-Length': size,
        ...(disk ? {} : { Overwrite: 't' }),
      },
      body,
      thumbprint: device.sslThumbprint || undefined,
      withSession: true,
      signal: opts.signal,
    });
    const text = (await readBody(res, 4096)).toString('utf8');
    if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) throw new NfcTransferError(device.url, res.statusCode ?? 0, text);
  }

  /** Opens an export device URL for reading; the caller consumes the stream (rejects on non-2xx). */
  async download(device: Pick<HttpNfcLeaseDeviceUrl, 'url' | 'sslThumbprint'>, opts: { signal?: AbortSignal } = {}): Promise<IncomingMessage> {
    const res = await this.client.transport.request(device.url, {
      method: 'GET', thumbprint: device.sslThumbprint || undefined, withSession: true, signal: opts.signal,
    });
    if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
      throw new NfcTransferError(device.url, res.statusCode ?? 0, (await readBody(res, 4096)).toString('utf8'));
    }
    return res;
  }
}

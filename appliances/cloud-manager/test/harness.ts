import { createHash, randomBytes } from 'node:crypto';
import * as https from 'node:https';
import * as net from 'node:net';
import { TestCa, TestCert } from '@hdm/appliance-common';

// Moved to common (esxi-manager's tests start services too); re-exported for the specs here.
export { controlClient, startService, waitFor, type Service } from '@hdm/appliance-common';

export const MiB = 1 << 20;

export function sha256hex(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/**
 * Stands in for the two vCenter lease endpoints, over HTTPS with a self-signed certificate:
 * GET with Range (206) serves export disks; PUT stores an uploaded disk (whole, Content-Length).
 * Both demand the session cookie.
 */
export class LeaseStandIn {
  readonly server: https.Server;
  readonly cert: TestCert;
  readonly disks = new Map<string, Buffer>();
  readonly stored = new Map<string, Buffer>();
  readonly putAttempts = new Map<string, number>();
  /** Bytes of the PUT in progress received so far, by disk name. */
  readonly putReceived = new Map<string, number>();
  /** Delay added to each ranged GET (to make a transfer last long enough to interrupt it). */
  getDelayMs = 0;
  url = '';

  constructor(readonly cookie = `vmware_soap_session="${randomBytes(8).toString('hex')}"`) {
    this.cert = new TestCa('vcsa.lab self-signed').issue('vcsa.lab', { altNames: ['127.0.0.1'], usage: 'server' });
    this.server = https.createServer({ cert: this.cert.certPem, key: this.cert.keyPem }, (req, res) => {
      if (req.headers.cookie !== this.cookie) return void res.writeHead(403).end('no session');
      const name = decodeURIComponent((req.url ?? '').replace(/^\/nfc\//, ''));
      if (req.method === 'GET') {
        const disk = this.disks.get(name);
        const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (!disk) return void res.writeHead(404).end();
        if (!m) return void res.writeHead(200, { 'Content-Length': disk.length }).end(disk);
        const a = Number(m[1]);
        const b = Math.min(Number(m[2]), disk.length - 1);
        setTimeout(() => {
          res.writeHead(206, { 'Content-Range': `bytes ${a}-${b}/${disk.length}`, 'Content-Length': b - a + 1 });
          res.end(disk.subarray(a, b + 1));
        }, this.getDelayMs);
        return;
      }
      if (req.method === 'PUT') {
        this.putAttempts.set(name, (this.putAttempts.get(name) ?? 0) + 1);
        const expected = Number(req.headers['content-length']);
        const parts: Buffer[] = [];
        this.putReceived.set(name, 0);
        req.on('data', (d: Buffer) => {
          parts.push(d);
          this.putReceived.set(name, this.putReceived.get(name)! + d.length);
        });
        req.on('end', () => {
          const body = Buffer.concat(parts);
          if (body.length !== expected) return void res.writeHead(400).end('short upload');
          this.stored.set(name, body);
          res.writeHead(200).end();
        });
        return;
      }
      res.writeHead(405).end();
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `https://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/nfc`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A TCP relay standing for the WAN; `cut()` drops every live connection once. */
export class WanRelay {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** Bytes relayed prem → cloud (the "wire" of the data path), over every connection. */
  bytesUp = 0;

  /** `target` may be changed (a restarted cloud-manager on a new port): new connections go there. */
  constructor(public target: { host: string; port: number }) {
    this.server = net.createServer((inbound) => {
      const outbound = net.connect(this.target.port, this.target.host);
      inbound.on('data', (d: Buffer) => (this.bytesUp += d.length));
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  cut(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    return n;
  }

  stop(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEADER_SIZE } from '../frames/frame';
import { memoryLogger } from '../log/logger';
import { TestCa } from '../testing/test-ca';
import { PinMismatchError } from '../http/pinned';
import { FrameChannel } from './channel';
import { diskDigestOf } from './disk-digest';
import { DiskSink, FileSink, FileSource, HttpPutSink, HttpRangeSource, DiskSource } from './io';
import { Progress } from './progress';
import { receiveDisk } from './receive';
import { sendDisk } from './send';

const MiB = 1 << 20;
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-transfer-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A connected TCP pair on loopback, optionally through a tampering relay (sender → receiver direction). */
async function socketPair(tamper?: (chunk: Buffer, at: number) => void): Promise<{ a: net.Socket; b: net.Socket; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const a = net.connect(port, '127.0.0.1');
  const inner = await accepted;
  server.close();
  if (!tamper) return { a, b: inner, close: () => (a.destroy(), inner.destroy()) };
  // Relay: a → inner ==(tamper)==> b2 ; replies b2 → inner → a
  const server2 = net.createServer();
  await new Promise<void>((r) => server2.listen(0, '127.0.0.1', r));
  const port2 = (server2.address() as net.AddressInfo).port;
  const accepted2 = new Promise<net.Socket>((r) => server2.once('connection', r));
  const out = net.connect(port2, '127.0.0.1');
  const b = await accepted2;
  server2.close();
  let at = 0;
  inner.on('data', (d: Buffer) => {
    const copy = Buffer.from(d);
    tamper(copy, at);
    at += d.length;
    out.write(copy);
  });
  out.on('data', (d: Buffer) => inner.write(d));
  return { a, b, close: () => [a, inner, out, b].forEach((s) => s.destroy()) };
}

const sha = diskDigestOf;

async function roundTrip(data: Buffer, opts: { chunkSize?: number; window?: number; tamper?: (c: Buffer, at: number) => void; sink?: DiskSink; source?: DiskSource } = {}) {
  const src = join(dir, `src-${randomBytes(4).toString('hex')}`);
  const dst = `${src}.out`;
  writeFileSync(src, data);
  const pair = await socketPair(opts.tamper);
  const source = opts.source ?? (await FileSource.open(src));
  const sink = opts.sink ?? (await FileSink.create(dst));
  const progress: Progress[] = [];
  const { log, lines } = memoryLogger();
  try {
    const [sent, received] = await Promise.all([
      sendDisk({ channel: new FrameChannel(pair.a), source, stream: 3, chunkSize: opts.chunkSize ?? MiB, window: opts.window ?? 4, progress: (p) => progress.push(p), log }),
      receiveDisk({ channel: new FrameChannel(pair.b), sink, stream: 3, size: source.size, log }),
    ]);
    return { sent, received, dst, progress, lines };
  } finally {
    await source.close();
    pair.close();
  }
}

describe('sendDisk / receiveDisk', () => {
  it('copies a disk (size not a multiple of the chunk) with matching SHA-256 and progress', async () => {
    const data = randomBytes(5 * MiB + 12345);
    const { sent, received, dst, progress } = await roundTrip(data);
    assert.equal(sent.sha256, sha(data));
    assert.equal(received.sha256, sha(data));
    assert.ok(readFileSync(dst).equals(data));
    const last = progress[progress.length - 1]!;
    assert.equal(last.bytesDone, data.length);
    assert.equal(last.bytesTotal, data.length);
    assert.ok(progress.every((p, i) => i === 0 || p.bytesDone >= progress[i - 1]!.bytesDone));
  });

  it('copies an empty disk', async () => {
    const { sent, received } = await roundTrip(Buffer.alloc(0));
    assert.equal(sent.sha256, sha(Buffer.alloc(0)));
    assert.equal(received.bytes, 0);
  });

  it('rejects a chunk corrupted on the way, re-requests it and never writes it', async () => {
    const data = randomBytes(4 * MiB);
    let flipped = 0;
    const target = 2 * (HEADER_SIZE + MiB) + HEADER_SIZE + 777; // inside the third DATA payload
    const { sent, received, dst, lines } = await roundTrip(data, {
      tamper: (c, at) => {
        if (!flipped && target >= at && target < at + c.length) {
          c[target - at] ^= 0x40;
          flipped++;
        }
      },
    });
    assert.equal(flipped, 1);
    assert.equal(sent.resends, 1);
    assert.equal(received.resends, 1);
    assert.ok(readFileSync(dst).equals(data));
    assert.ok(lines.some((l) => /failed its SHA-256/.test(String(l.msg))));
  });

  it('fails both sides with the reason when the sink fails', async () => {
    const data = randomBytes(3 * MiB);
    let n = 0;
    const sink: DiskSink = {
      write: async () => {
        if (++n === 2) throw new Error('datastore full');
      },
      finish: async () => undefined,
      abort: async () => undefined,
    };
    await assert.rejects(roundTrip(data, { sink }), /datastore full/);
  });

  it('fails when the source fails', async () => {
    const source: DiskSource = { size: 3 * MiB, read: async () => Promise.reject(new Error('NFC lease expired')), close: async () => undefined };
    await assert.rejects(roundTrip(Buffer.alloc(0), { source }), /NFC lease expired/);
  });

  it('refuses chunk sizes outside 1–4 MiB', async () => {
    await assert.rejects(roundTrip(randomBytes(10), { chunkSize: 1000 }), RangeError);
  });
});

describe('HTTP range source and PUT sink with thumbprint pin', () => {
  const ca = new TestCa();
  const leaf = ca.issue('vcenter.lab', { altNames: ['127.0.0.1'] });
  const disk = randomBytes(3 * MiB + 5);
  let server: https.Server;
  let base: string;
  const requests: Array<{ method?: string; cookie?: string; range?: string }> = [];
  let stored: Buffer | undefined;

  before(async () => {
    server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
      requests.push({ method: req.method, cookie: req.headers.cookie, range: req.headers.range });
      if (req.method === 'PUT') {
        const parts: Buffer[] = [];
        req.on('data', (d: Buffer) => parts.push(d));
        req.on('end', () => {
          stored = Buffer.concat(parts);
          res.end();
        });
        return;
      }
      if (req.url?.includes('missing')) return void res.writeHead(404).end('no such lease file');
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!m) return void res.writeHead(416).end();
      const a = Number(m[1]);
      const b = Number(m[2]);
      res.writeHead(206, { 'Content-Range': `bytes ${a}-${b}/${disk.length}`, 'Content-Length': b - a + 1 });
      res.end(disk.subarray(a, b + 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(() => server.close());

  it('reads ranges with the cookie over a pinned connection and writes one PUT', async () => {
    const src = new HttpRangeSource({ url: `${base}/disk-0.vmdk`, cookie: 'vmware_soap_session="abc"', thumbprint: leaf.sha1.toLowerCase() }, disk.length);
    const sink = new HttpPutSink({ url: `${base}/upload/disk-0.vmdk`, cookie: 'xyz', thumbprint: leaf.sha1 }, disk.length);
    const pair = await socketPair();
    try {
      await Promise.all([
        sendDisk({ channel: new FrameChannel(pair.a), source: src, stream: 0, chunkSize: MiB }),
        receiveDisk({ channel: new FrameChannel(pair.b), sink, stream: 0, size: disk.length }),
      ]);
    } finally {
      pair.close();
      await src.close();
    }
    assert.ok(stored?.equals(disk));
    const gets = requests.filter((r) => r.method === 'GET');
    assert.equal(gets.length, 4);
    assert.ok(gets.every((r) => r.cookie === 'vmware_soap_session="abc"'));
    assert.equal(requests.find((r) => r.method === 'PUT')?.cookie, 'vmware_soap_session=xyz');
  });

  it('refuses a certificate whose thumbprint differs before sending anything', async () => {
    requests.length = 0;
    const other = ca.issue('other').sha1;
    const src = new HttpRangeSource({ url: `${base}/disk`, cookie: 'secret', thumbprint: other }, disk.length);
    await assert.rejects(src.read(0, 10), PinMismatchError);
    await src.close();
    assert.equal(requests.length, 0, 'no request (and no cookie) reached the server');
  });

  it('reports HTTP errors with the status', async () => {
    const src = new HttpRangeSource({ url: `${base}/missing`, thumbprint: leaf.sha1 }, disk.length);
    await assert.rejects(src.read(0, 10), /HTTP 404: no such lease file/);
    await assert.rejects(src.read(disk.length - 1, 2), RangeError);
    await src.close();
  });
});

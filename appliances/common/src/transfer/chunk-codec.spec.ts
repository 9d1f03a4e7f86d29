import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { FrameDecoder } from '../frames/decoder';
import { encodeFrame, FrameFlags, FrameType } from '../frames/frame';
import { FrameChannel } from './channel';
import { ChunkDecodeError, ChunkIndex, CompressionPolicy, decodeChunk, deflateChunk, isAllZero, u32 } from './chunk-codec';
import { DiskSource } from './io';
import { receiveDisk } from './receive';
import { deltaPlan, sendDisk } from './send';
import { diskDigestOf } from './disk-digest';
import { StagingSink } from './staging';

const MiB = 1 << 20;
const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();
const ALL = ['zero', 'deflate', 'dedup'];

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-codec-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function pair(): Promise<{ a: net.Socket; b: net.Socket; wire: () => number }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const a = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const b = await accepted;
  server.close();
  let n = 0;
  b.on('data', (d: Buffer) => (n += d.length));
  return { a, b, wire: () => n };
}

const memSource = (data: Buffer): DiskSource => ({ size: data.length, read: async (o, l) => Buffer.from(data.subarray(o, o + l)), close: async () => undefined });

async function transfer(name: string, data: Buffer, features: string[], compression?: CompressionPolicy) {
  const sink = await StagingSink.open(dir, name, data.length);
  const p = await pair();
  try {
    const [sent, received] = await Promise.all([
      sendDisk({ channel: new FrameChannel(p.a), source: memSource(data), stream: 0, chunkSize: MiB, features, compression }),
      receiveDisk({ channel: new FrameChannel(p.b), sink, stream: 0, size: data.length, index: new ChunkIndex() }),
    ]);
    return { sent, received, wire: p.wire(), image: readFileSync(join(dir, `${name}.img`)) };
  } finally {
    p.a.destroy();
    p.b.destroy();
  }
}

describe('data reduction: zero, dedup, adaptive deflate', () => {
  it('sends zero chunks as ZERO frames, repeats as DEDUP references, text deflated; bit-identical', async () => {
    const text = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n'.repeat(20000)).subarray(0, MiB);
    const rnd = randomBytes(MiB);
    const data = Buffer.concat([text, Buffer.alloc(3 * MiB), rnd, rnd, rnd, Buffer.alloc(100)]);
    const { sent, received, wire, image } = await transfer('mix', data, ALL);
    assert.equal(received.sha256, diskDigestOf(data));
    assert.equal(sent.sha256, received.sha256);
    assert.ok(image.equals(data));
    const st = sent.stats!;
    assert.equal(st.zeroBytes, 3 * MiB + 100);
    assert.equal(st.dedupBytes, 2 * MiB);
    assert.equal(st.deflatedBytes, MiB);
    assert.ok(st.deflatedWire < MiB / 10, `text deflated to ${st.deflatedWire}`);
    assert.ok(wire < 1.2 * MiB, `${wire} bytes on the wire for ${data.length} logical`);
    assert.equal(st.resentBytes, 0);
  });

  it('without negotiated features everything goes plain', async () => {
    const data = Buffer.concat([Buffer.alloc(2 * MiB), Buffer.alloc(MiB, 1)]);
    const { sent, wire, image } = await transfer('plain', data, []);
    assert.ok(image.equals(data));
    assert.equal(sent.stats!.zeroBytes + sent.stats!.dedupBytes + sent.stats!.deflatedBytes, 0);
    assert.ok(wire >= data.length);
  });

  it('a DEDUP reference the receiver does not know is NACKed and resent plain', async () => {
    const data = randomBytes(2 * MiB);
    // The receiver's index is empty and its sink cannot read back: every reference misses.
    const rnd = data.subarray(0, MiB);
    const twice = Buffer.concat([rnd, rnd]);
    const sink = await StagingSink.open(dir, 'miss', twice.length);
    const p = await pair();
    try {
      const [sent, received] = await Promise.all([
        sendDisk({ channel: new FrameChannel(p.a), source: memSource(twice), stream: 0, chunkSize: MiB, features: ALL }),
        receiveDisk({ channel: new FrameChannel(p.b), sink, stream: 0, size: twice.length /* no index */ }),
      ]);
      assert.equal(received.sha256, diskDigestOf(twice));
      assert.equal(sent.stats!.dedupBytes, MiB);
      assert.equal(sent.stats!.resentBytes, MiB, 'the reference was resent plain');
      assert.equal(sent.resends, 1);
    } finally {
      p.a.destroy();
      p.b.destroy();
    }
  });

  it('adaptive: incompressible data is probed with back-off, not deflated chunk by chunk', async () => {
    const policy = new CompressionPolicy();
    const data = randomBytes(40 * MiB);
    const { sent, image } = await transfer('random', data, ALL, policy);
    assert.ok(image.equals(data));
    assert.equal(sent.stats!.deflatedBytes, 0);
    assert.ok(policy.tried <= 8, `tried ${policy.tried} of 40 chunks`);
  });

  it('adaptive: skips compression when the link is faster than the compressor', () => {
    const policy = new CompressionPolicy({ parallelism: 2 });
    policy.linkRate = 10_000 * MiB; // a very fast link
    assert.equal(policy.record(MiB, MiB / 4, 20), false, '100 MiB/s per thread cannot feed it');
    const slow = new CompressionPolicy({ parallelism: 2 });
    slow.linkRate = 25 * MiB; // 200 Mbit/s
    assert.equal(slow.record(MiB, MiB / 4, 20), true);
  });

  it('isAllZero', () => {
    assert.equal(isAllZero(Buffer.alloc(9 * MiB)), true);
    const b = Buffer.alloc(5 * MiB);
    b[5 * MiB - 1] = 1;
    assert.equal(isAllZero(b), false);
    assert.equal(isAllZero(Buffer.alloc(0)), true);
  });
});

describe('deltas (CBT changed areas, KEEP frames)', () => {
  it('plans changed areas in chunk-sized pieces and the rest as KEEP', () => {
    const plan = deltaPlan(0, 10 * MiB, MiB, [{ start: 3 * MiB + 5, length: 10 }, { start: 3 * MiB + 10, length: 2 * MiB }, { start: 9 * MiB, length: 5 * MiB }]);
    assert.equal(plan.reduce((a, p) => a + p.length, 0), 10 * MiB);
    plan.forEach((p, i) => i && assert.equal(p.offset, plan[i - 1]!.offset + plan[i - 1]!.length));
    assert.ok(plan.every((p) => p.length <= MiB && p.length > 0));
    // No piece crosses a chunk-grid boundary (whole pieces are the disk digest's blocks).
    assert.ok(plan.every((p) => Math.floor(p.offset / MiB) === Math.floor((p.offset + p.length - 1) / MiB)));
    const sent = plan.filter((p) => !p.keep);
    assert.deepEqual(sent[0], { offset: 3 * MiB + 5, length: MiB - 5, keep: false });
    assert.equal(sent.reduce((a, p) => a + p.length, 0), 2 * MiB + 5 + MiB);
    assert.deepEqual(deltaPlan(4 * MiB, 5 * MiB, MiB, [{ start: 0, length: 4 * MiB }]), [{ offset: 4 * MiB, length: MiB, keep: true }]);
  });

  it('sends only the changed 64 KiB blocks over a seeded staging image; the disk hash covers everything', async () => {
    const base = randomBytes(16 * MiB);
    const next = Buffer.from(base);
    const areas: Array<{ start: number; length: number }> = [];
    for (const block of [3, 70, 71, 200, 255]) {
      randomBytes(65536).copy(next, block * 65536);
      areas.push({ start: block * 65536, length: 65536 });
    }
    next.fill(0, 8 * MiB, 8 * MiB + 65536); // a changed area that is now zeros: written, not left as the base
    areas.push({ start: 8 * MiB, length: 65536 });
    writeFileSync(join(dir, 'base.img'), base);
    const sink = await StagingSink.open(dir, 'delta', next.length, { seedFrom: join(dir, 'base.img') });
    const p = await pair();
    try {
      const [sent, received] = await Promise.all([
        sendDisk({ channel: new FrameChannel(p.a), source: memSource(next), stream: 0, chunkSize: MiB, features: [...ALL, 'keep'], changedAreas: areas }),
        receiveDisk({ channel: new FrameChannel(p.b), sink, stream: 0, size: next.length, index: new ChunkIndex() }),
      ]);
      assert.equal(received.sha256, diskDigestOf(next));
      assert.equal(sent.sha256, received.sha256);
      assert.ok(readFileSync(join(dir, 'delta.img')).equals(next));
      assert.equal(sent.stats!.keptBytes, next.length - 6 * 65536);
      assert.ok(p.wire() < 6 * 65536 + 64 * 1024, `${p.wire()} bytes on the wire for a 16 MiB disk with 384 KiB changed`);
    } finally {
      p.a.destroy();
      p.b.destroy();
    }
  });

  it('a KEEP frame into a sink without a previous version fails the disk instead of writing garbage', async () => {
    const data = randomBytes(2 * MiB);
    const sink = await StagingSink.open(dir, 'nobase', data.length);
    const p = await pair();
    try {
      const r = await Promise.allSettled([
        sendDisk({ channel: new FrameChannel(p.a), source: memSource(data), stream: 0, chunkSize: MiB, features: ['keep'], changedAreas: [] }),
        receiveDisk({ channel: new FrameChannel(p.b), sink, stream: 0, size: data.length }),
      ]);
      // Without a base the staged image holds zeros where KEEP said "as before": the end-to-end hash catches it.
      assert.equal(r[0].status, 'rejected');
      assert.equal(r[1].status, 'rejected');
    } finally {
      p.a.destroy();
      p.b.destroy();
    }
  });
});

describe('decodeChunk (fuzz)', () => {
  const MAX = 64 * 1024;
  it('never returns more than maxChunk and rejects malformed payloads only with ChunkDecodeError', async () => {
    const index = new ChunkIndex();
    const known = randomBytes(1000);
    index.add(sha(known), known.length, 0, async () => known);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 0xffff }),
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
          fc.integer({ min: 0, max: 2 * MAX }).map((n) => u32(n)),
          fc.integer({ min: 0, max: 2 * MAX }).map((n) => Buffer.concat([sha(known), u32(n)])),
          fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.concat([sha(Buffer.from(a)), u32(a.length)])),
        ),
        async (flags, payload) => {
          try {
            const d = await decodeChunk(flags, payload, MAX, index.lookup);
            const len = d.kind === 'data' ? d.data.length : d.length;
            assert.ok(len <= MAX);
            if (d.kind === 'data' && flags & FrameFlags.DEDUP) assert.ok(d.data.equals(known));
          } catch (err) {
            assert.ok(err instanceof ChunkDecodeError, String(err));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses a decompression bomb (inflates beyond maxChunk)', async () => {
    const bomb = await deflateChunk(Buffer.alloc(4 * MAX));
    await assert.rejects(decodeChunk(FrameFlags.DEFLATE, bomb, MAX), ChunkDecodeError);
    const ok = await deflateChunk(Buffer.alloc(MAX, 7));
    const d = await decodeChunk(FrameFlags.DEFLATE, ok, MAX);
    assert.ok(d.kind === 'data' && d.data.equals(Buffer.alloc(MAX, 7)));
  });

  it('arbitrary DATA frames with the new flags survive the frame decoder split anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            flags: fc.constantFrom(FrameFlags.ZERO, FrameFlags.DEFLATE, FrameFlags.DEDUP, FrameFlags.ZERO | FrameFlags.DEDUP, 0xffff),
            offset: fc.maxSafeNat(),
            payload: fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)),
          }),
          { maxLength: 8 },
        ),
        fc.integer({ min: 1, max: 97 }),
        (frames, step) => {
          const bytes = Buffer.concat(frames.map((f) => encodeFrame({ type: FrameType.DATA, stream: 1, ...f })));
          const dec = new FrameDecoder();
          const out = [];
          for (let at = 0; at < bytes.length; at += step) out.push(...dec.push(bytes.subarray(at, at + step)));
          dec.end();
          assert.deepEqual(out.map((f) => [f.flags, f.offset, f.payload.toString('hex')]), frames.map((f) => [f.flags, f.offset, f.payload.toString('hex')]));
        },
      ),
    );
  });
});

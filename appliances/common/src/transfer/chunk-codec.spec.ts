import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type * as net from 'node:net';
import { loopbackPair } from '../testing/loopback';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { FrameDecoder } from '../frames/decoder';
import { encodeFrame, Frame, FrameFlags, FrameType } from '../frames/frame';
import { FrameChannel } from './channel';
import { compressSync } from 'lz4-napi';
import { brotliChunk, CHUNK_FLAGS, ChunkDecodeError, ChunkIndex, CODEC_LEVELS, CompressionPolicy, decodeChunk, deflateChunk, isAllZero, lz4Chunk, u32 } from './chunk-codec';
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
  const { a, b } = await loopbackPair();
  let n = 0;
  b.on('data', (d: Buffer) => (n += d.length));
  return { a, b, wire: () => n };
}

const memSource = (data: Buffer): DiskSource => ({ size: data.length, read: async (o, l) => Buffer.from(data.subarray(o, o + l)), close: async () => undefined });

async function transfer(name: string, data: Buffer, features: string[], compression?: CompressionPolicy, tamper?: (f: Frame) => Frame) {
  const sink = await StagingSink.open(dir, name, data.length);
  const p = await pair();
  const channel = new FrameChannel(p.a);
  if (tamper) {
    const send = channel.send.bind(channel);
    channel.send = (f, h) => {
      const t = tamper(f);
      return send(t, t === f ? h : undefined);
    };
  }
  try {
    const [sent, received] = await Promise.all([
      sendDisk({ channel, source: memSource(data), stream: 0, chunkSize: MiB, features, compression }),
      receiveDisk({ channel: new FrameChannel(p.b), sink, stream: 0, size: data.length, index: new ChunkIndex() }),
    ]);
    return { sent, received, wire: p.wire(), image: readFileSync(join(dir, `${name}.img`)) };
  } finally {
    p.a.destroy();
    p.b.destroy();
  }
}

/**
 * 8 MiB of text with only `codec` negotiated; its frames are damaged by each of `damage` in turn.
 * Every damaged frame must be NACKed and resent plain, and only plain resends written.
 */
async function damagedFramesResentPlain(name: string, codec: 'lz4' | 'brotli', damage: ((payload: Buffer) => Buffer)[]): Promise<void> {
  const flag = codec === 'lz4' ? FrameFlags.LZ4 : FrameFlags.BROTLI;
  const text = Buffer.from('0123456789abcdef the lazy dog\n'.repeat(400000)).subarray(0, 8 * MiB);
  let n = 0;
  const { sent, received, image } = await transfer(name, text, [codec], undefined, (f) => {
    if (f.type !== FrameType.DATA || !(f.flags & flag)) return f;
    return { ...f, payload: damage[n++ % damage.length]!(Buffer.from(f.payload)) };
  });
  assert.ok(image.equals(text), 'only the plain resends were written');
  assert.equal(received.sha256, diskDigestOf(text));
  const st = sent.stats!;
  assert.ok(n >= damage.length, `${n} ${codec} frames damaged (each way once at least)`);
  assert.equal(codec === 'lz4' ? st.lz4Bytes : st.brotliBytes, n * MiB);
  assert.equal(st.resentBytes, n * MiB);
  assert.equal(sent.resends, n);
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

  for (const [codec, name] of [['lz4', 'LZ4'], ['brotli', 'BROTLI']] as const) {
    it(`${codec}: text goes as ${name} frames over a socket pair; bit-identical`, async () => {
      const text = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n'.repeat(160000)).subarray(0, 8 * MiB);
      const data = Buffer.concat([text, Buffer.alloc(MiB), randomBytes(MiB), Buffer.alloc(77, 3)]);
      const { sent, received, image } = await transfer(codec, data, ['zero', codec, 'dedup']);
      assert.ok(image.equals(data));
      assert.equal(received.sha256, diskDigestOf(data));
      assert.equal(sent.sha256, received.sha256);
      const st = sent.stats!;
      const [bytes, wire, others] = codec === 'lz4' ? [st.lz4Bytes, st.lz4Wire, st.deflatedBytes + st.brotliBytes] : [st.brotliBytes, st.brotliWire, st.deflatedBytes + st.lz4Bytes];
      assert.equal(others, 0, `only ${codec} was negotiated`);
      assert.ok(bytes >= 4 * MiB, `${bytes} bytes sent as ${name}`);
      assert.ok(wire < bytes / 10, `text ${name}-compressed to ${wire}`);
      assert.equal(st.resentBytes, 0);
    });
  }

  it('LZ4 and deflate both negotiated: every compressed chunk goes one way or the other; bit-identical', async () => {
    const text = Buffer.from('lorem ipsum dolor sit amet, consectetur adipiscing elit 42\n'.repeat(200000)).subarray(0, 8 * MiB);
    const { sent, image } = await transfer('both', text, ['zero', 'lz4', 'deflate']);
    assert.ok(image.equals(text));
    const compressed = sent.stats!.lz4Bytes + sent.stats!.deflatedBytes;
    assert.ok(compressed >= 4 * MiB, `${compressed} bytes compressed`);
    assert.ok(sent.stats!.wireBytes < 5 * MiB);
  });

  it('a corrupt or oversized LZ4 payload is NACKed and resent plain, never written', async () => {
    await damagedFramesResentPlain('lz4bad', 'lz4', [
      (p) => (p.writeUInt32LE(64 << 20, 0), p), // announces more than MAX_CHUNK: refused before anything is allocated
      (p) => p.subarray(0, p.length >> 1), // truncated block
      (p) => (p.writeUInt32LE(p.readUInt32LE(0) + 1, 0), p), // announces one byte more than the block holds
      (p) => p.fill(0xff, 4), // garbage after the size
    ]);
  });

  it('adaptive: LZ4 on a fast link, deflate on a slow one (measured rates)', () => {
    const both = ['lz4', 'deflate'] as const;
    const run = (linkRate: number): string[] => {
      const policy = new CompressionPolicy({ parallelism: 2 });
      // The link rate is not known yet: LZ4 first.
      const first = policy.pick(0.4, both);
      assert.equal(first, 'lz4');
      policy.record(4 * MiB, 2 * MiB, 10, 'lz4'); // ~420 MB/s, ratio 0.5
      policy.linkRate = linkRate;
      policy.linkLimited = true;
      const second = policy.pick(0.4, both);
      assert.equal(second, 'deflate', 'deflate is tried once the link rate is known');
      policy.record(4 * MiB, 0.42 * 4 * MiB, 48, 'deflate'); // ~87 MB/s, ratio 0.42
      const picks: string[] = [];
      for (let i = 0; i < 20; i++) {
        const c = policy.pick(0.4, both);
        assert.ok(c);
        picks.push(c);
        policy.record(4 * MiB, c === 'lz4' ? 2 * MiB : 0.42 * 4 * MiB, c === 'lz4' ? 10 : 48, c);
      }
      return picks;
    };
    assert.deepEqual(new Set(run(125e6)), new Set(['lz4']), '1 Gbit/s');
    assert.deepEqual(new Set(run(25e6)), new Set(['deflate']), '200 Mbit/s');
    // Incompressible per the probe: nothing is tried.
    const policy = new CompressionPolicy();
    assert.equal(policy.pick(0.99, both), undefined);
    assert.equal(policy.probedOut, 1);
  });

  it('adaptive: an exploratory codec that loses on CPU does not make the other back off', () => {
    const policy = new CompressionPolicy({ parallelism: 2 });
    policy.pick(0.4, ['lz4', 'deflate']);
    policy.record(4 * MiB, 2 * MiB, 10, 'lz4');
    policy.linkRate = 125e6;
    policy.linkLimited = true;
    assert.equal(policy.pick(0.4, ['lz4', 'deflate']), 'deflate');
    assert.equal(policy.record(4 * MiB, 0.42 * 4 * MiB, 200, 'deflate'), false, '21 MB/s × 2 cannot feed 1 Gbit/s');
    assert.equal(policy.pick(0.4, ['lz4', 'deflate']), 'lz4', 'no back-off: LZ4 still pays');
  });

  it('all three codecs negotiated: every compressed chunk goes one of the ways; bit-identical', async () => {
    const text = Buffer.from('lorem ipsum dolor sit amet, consectetur adipiscing elit 42\n'.repeat(200000)).subarray(0, 8 * MiB);
    const { sent, image } = await transfer('all3', text, ['zero', 'lz4', 'brotli', 'deflate']);
    assert.ok(image.equals(text));
    const st = sent.stats!;
    assert.ok(st.lz4Bytes + st.deflatedBytes + st.brotliBytes >= 4 * MiB, 'compressed');
    assert.ok(st.wireBytes < 5 * MiB);
  });

  it('a corrupt or oversized BROTLI payload is NACKed and resent plain, never written', async () => {
    await damagedFramesResentPlain('brbad', 'brotli', [
      (p) => (p.writeUInt32LE(64 << 20, 0), p), // announces more than MAX_CHUNK: refused before decoding
      (p) => p.subarray(0, p.length >> 1), // truncated stream
      (p) => (p.writeUInt32LE(p.readUInt32LE(0) + 1, 0), p), // announces one byte more than the stream holds
      (p) => (p.writeUInt32LE(p.readUInt32LE(0) - 1, 0), p), // one byte less: the bounded decode stops, refused
      (p) => p.fill(0xff, 4), // garbage after the size
    ]);
  });

  it('adaptive levels: brotli climbs while the link, not the CPU, limits; stays at quality 1 when CPU-bound', () => {
    const MB = 1e6;
    // Per-level figures like the desktop OS image's (MB/s of one job, ratio): q1 170/0.37, q2 117/0.33, q4 50/0.32.
    const fig: Record<number, [number, number]> = { 1: [170, 0.37], 2: [117, 0.33], 4: [50, 0.32] };
    const run = (linkRate: number): string[] => {
      const policy = new CompressionPolicy({ parallelism: 2 });
      const picks: string[] = [];
      for (let i = 0; i < 40; i++) {
        const c = policy.pickCoding(0.4, ['brotli']);
        assert.ok(c && c.codec === 'brotli' && CODEC_LEVELS.brotli.includes(c.level));
        picks.push(`q${c.level}`);
        const [rate, ratio] = fig[c.level]!;
        policy.record(4 * MiB, ratio * 4 * MiB, (4 * MiB) / (rate * MB) * 1000, 'brotli', c.level);
        if (i === 0) {
          policy.linkRate = linkRate;
          policy.linkLimited = true;
        }
      }
      return picks;
    };
    const slow = run(24 * MB); // 200 Mbit/s: q1 would deliver 65 MB/s, q2 73, q4 75 but only 100 by CPU
    assert.equal(slow[0], 'q1', 'the fastest level while the link is unknown');
    assert.ok(slow.includes('q2') && slow.includes('q4'), `climbed: ${slow.join(' ')}`);
    assert.equal(slow.at(-1), 'q4', 'the highest throughput wins: q4 (75 MB/s) over q2 (73)');
    const fast = run(119 * MB); // 1 Gbit/s: q1's 340 MB/s by CPU is below 1.5 × 119 / 0.37: no climb
    assert.equal(fast.filter((q) => q !== 'q1').length, 1, `only the one exploration of q2 in 40: ${fast.join(' ')}`);
    assert.equal(fast.at(-1), 'q1');
  });

  it('adaptive: brotli beats deflate on a slow link, LZ4 keeps a CPU-bound fast one', () => {
    const all = ['lz4', 'brotli', 'deflate'] as const;
    const MB = 1e6;
    const fig = { lz4: [200, 0.48], brotli: [170, 0.37], deflate: [79, 0.38] } as const;
    const run = (linkRate: number, limited: boolean): Set<string> => {
      const policy = new CompressionPolicy({ parallelism: 2 });
      const picks = new Set<string>();
      for (let i = 0; i < 24; i++) {
        const c = policy.pickCoding(0.4, all);
        assert.ok(c);
        if (i >= 8) picks.add(c.codec);
        const [rate, ratio] = fig[c.codec];
        policy.record(4 * MiB, ratio * 4 * MiB, (4 * MiB) / (rate * MB) * 1000, c.codec, c.level);
        policy.linkRate = linkRate;
        policy.linkLimited = limited;
      }
      return picks;
    };
    assert.deepEqual(run(24 * MB, true), new Set(['brotli']), '200 Mbit/s');
    assert.deepEqual(run(119 * MB, false), new Set(['lz4']), '1 Gbit/s, CPU-bound: the link never filled');
  });

  it('adaptive: a dearer codec must promise SWITCH_GAIN more than a cheaper one', () => {
    const MB = 1e6;
    const fig = { lz4: [200, 0.48], brotli: [140, 0.37], deflate: [79, 0.38] } as const;
    const run = (linkRate: number): Set<string> => {
      const policy = new CompressionPolicy({ parallelism: 2 });
      const picks = new Set<string>();
      for (let i = 0; i < 24; i++) {
        const c = policy.pickCoding(0.4, ['lz4', 'brotli']);
        assert.ok(c);
        if (i >= 4) picks.add(`${c.codec}:${c.level}`);
        const [rate, ratio] = fig[c.codec];
        policy.record(4 * MiB, ratio * 4 * MiB, (4 * MiB) / (rate * MB) * 1000, c.codec, c.level);
        policy.linkRate = linkRate;
        policy.linkLimited = true;
      }
      return picks;
    };
    // 1 Gbit/s: brotli 1 min(280, 119 / 0.37 = 321) is only 1.13 × LZ4's min(400, 119 / 0.48 = 248).
    assert.deepEqual(run(119 * MB), new Set(['lz4:0']));
    // 200 Mbit/s: min(280, 65) is 1.3 × min(400, 50); q2 and q4 are not measured here (their figures would be q1's).
    assert.ok(run(24 * MB).has('brotli:1'));
    assert.ok(!run(24 * MB).has('lz4:0'));
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
  /** Compressible test content of n bytes. */
  const compressible = (n: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 7) % 13 === 0 ? i & 0xff : 0x41 + (i % 5);
    return b;
  };
  /** A copy of a u32 LE size + encoded payload, its size announced right (how 0, 4), wrong (1), a byte damaged (2) or truncated (3). */
  const damaged = (src: Buffer, how: number, at: number, v: number): Buffer => {
    const b = Buffer.from(src);
    if (how === 1) b.writeUInt32LE(v % (4 * MAX), 0);
    else if (how === 2 && b.length > 4) b[4 + (at % (b.length - 4))] = v & 0xff;
    else if (how === 3) return b.subarray(0, at % (b.length + 1));
    return b;
  };
  /** Any u32 LE size followed by up to maxLength arbitrary bytes. */
  const sizedGarbage = (maxLength: number) =>
    fc.tuple(fc.nat(), fc.uint8Array({ maxLength })).map(([n, a]) => {
      const b = Buffer.alloc(4 + a.length);
      b.writeUInt32LE(n >>> 0, 0);
      Buffer.from(a).copy(b, 4);
      return b;
    });
  // Compressible test content of n bytes, LZ4-compressed (lz4-napi prepends the u32 LE size).
  const lz4Blocks = new Map<number, Buffer>();
  const lz4Block = (n: number): Buffer => {
    const b = compressSync(compressible(n));
    lz4Blocks.set(n, b);
    return b;
  };
  it('never returns more than maxChunk and rejects malformed payloads only with ChunkDecodeError', async () => {
    const index = new ChunkIndex();
    const known = randomBytes(1000);
    index.add(sha(known), known.length, 0, async () => known);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constant(FrameFlags.LZ4), fc.constant(FrameFlags.LZ4 | FrameFlags.DEFLATE)),
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
          // LZ4: real blocks (up to twice maxChunk), with the size announced right, wrong, or bytes damaged
          fc.tuple(fc.integer({ min: 0, max: 2 * MAX }), fc.integer({ min: 0, max: 4 }), fc.nat(), fc.nat()).map(([n, how, at, v]) => damaged(lz4Blocks.get(n) ?? lz4Block(n), how, at, v)),
          sizedGarbage(200),
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
            if (d.kind === 'data' && (flags & CHUNK_FLAGS) === FrameFlags.LZ4) assert.equal(d.data.length, payload.readUInt32LE(0));
          } catch (err) {
            assert.ok(err instanceof ChunkDecodeError, String(err));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses an LZ4 block that announces or holds more than maxChunk, before decoding it', async () => {
    const big = await lz4Chunk(Buffer.alloc(4 * MAX));
    await assert.rejects(decodeChunk(FrameFlags.LZ4, big, MAX), ChunkDecodeError);
    const huge = Buffer.from(big);
    huge.writeUInt32LE(0xffffffff, 0);
    await assert.rejects(decodeChunk(FrameFlags.LZ4, huge, MAX), ChunkDecodeError);
    const lying = Buffer.from(big);
    lying.writeUInt32LE(MAX, 0); // claims to fit, holds 4 × MAX
    await assert.rejects(decodeChunk(FrameFlags.LZ4, lying, MAX), ChunkDecodeError);
    await assert.rejects(decodeChunk(FrameFlags.LZ4 | FrameFlags.DEFLATE, big, MAX), ChunkDecodeError);
    const ok = await lz4Chunk(Buffer.alloc(MAX, 7));
    const d = await decodeChunk(FrameFlags.LZ4, ok, MAX);
    assert.ok(d.kind === 'data' && d.data.equals(Buffer.alloc(MAX, 7)));
  });

  it('refuses a decompression bomb (inflates beyond maxChunk)', async () => {
    const bomb = await deflateChunk(Buffer.alloc(4 * MAX));
    await assert.rejects(decodeChunk(FrameFlags.DEFLATE, bomb, MAX), ChunkDecodeError);
    const ok = await deflateChunk(Buffer.alloc(MAX, 7));
    const d = await decodeChunk(FrameFlags.DEFLATE, ok, MAX);
    assert.ok(d.kind === 'data' && d.data.equals(Buffer.alloc(MAX, 7)));
  });

  it('BROTLI payloads (fuzz): never more than maxChunk or other than announced; errors only as ChunkDecodeError', async () => {
    const blocks = new Map<number, Buffer>();
    const block = async (n: number): Promise<Buffer> => blocks.get(n) ?? blocks.set(n, await brotliChunk(compressible(n), 1 + (n % 4))).get(n)!;
    const sizes = [0, 1, 100, 4096, MAX - 1, MAX, MAX + 1, 2 * MAX, 4 * MAX];
    for (const n of sizes) await block(n);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(FrameFlags.BROTLI), fc.constant(FrameFlags.BROTLI | FrameFlags.LZ4), fc.integer({ min: 0, max: 0xffff })),
        fc.oneof(
          // real streams with the size announced right, wrong, bytes damaged, or truncated
          fc.tuple(fc.constantFrom(...sizes), fc.integer({ min: 0, max: 4 }), fc.nat(), fc.nat()).map(([n, how, at, v]) => damaged(blocks.get(n)!, how, at, v)),
          sizedGarbage(300),
        ),
        async (flags, payload) => {
          try {
            const d = await decodeChunk(flags, payload, MAX);
            const len = d.kind === 'data' ? d.data.length : d.length;
            assert.ok(len <= MAX);
            // (A damaged stream may still decode to other bytes of the announced length: brotli has
            // no checksum; the frame's SHA-256 and the disk digest are what catch that.)
            if (d.kind === 'data' && (flags & CHUNK_FLAGS) === FrameFlags.BROTLI) assert.equal(d.data.length, payload.readUInt32LE(0));
          } catch (err) {
            assert.ok(err instanceof ChunkDecodeError, String(err));
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('refuses a brotli bomb: an announced size above maxChunk before decoding, a stream longer than announced while decoding', async () => {
    const big = await brotliChunk(Buffer.alloc(64 * MAX)); // a few hundred bytes that expand to 64 × maxChunk
    assert.ok(big.length < 1000);
    await assert.rejects(decodeChunk(FrameFlags.BROTLI, big, MAX), ChunkDecodeError);
    const lying = Buffer.from(big);
    lying.writeUInt32LE(MAX, 0); // claims to fit, holds 64 × MAX
    await assert.rejects(decodeChunk(FrameFlags.BROTLI, lying, MAX), ChunkDecodeError);
    const zero = Buffer.from(big);
    zero.writeUInt32LE(0, 0);
    await assert.rejects(decodeChunk(FrameFlags.BROTLI, zero, MAX), ChunkDecodeError);
    await assert.rejects(decodeChunk(FrameFlags.BROTLI | FrameFlags.DEFLATE, big, MAX), ChunkDecodeError);
    for (const q of CODEC_LEVELS.brotli) {
      const ok = await brotliChunk(Buffer.alloc(MAX, 7), q);
      const d = await decodeChunk(FrameFlags.BROTLI, ok, MAX);
      assert.ok(d.kind === 'data' && d.data.equals(Buffer.alloc(MAX, 7)), `quality ${q}`);
    }
  });

  it('arbitrary DATA frames with the new flags survive the frame decoder split anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            flags: fc.constantFrom(FrameFlags.ZERO, FrameFlags.DEFLATE, FrameFlags.LZ4, FrameFlags.BROTLI, FrameFlags.DEDUP, FrameFlags.ZERO | FrameFlags.DEDUP, 0xffff),
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

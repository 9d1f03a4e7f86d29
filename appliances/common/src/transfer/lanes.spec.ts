import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import fc from 'fast-check';
import { memoryLogger } from '../log/logger';
import { loopbackPair } from '../testing/loopback';
import { FrameChannel } from './channel';
import { ChunkIndex } from './chunk-codec';
import { diskDigestOf } from './disk-digest';
import type { DiskSink, DiskSource } from './io';
import { LaneController, LaneJoin, LaneLink, LaneSample } from './lanes';
import { receiveDisk } from './receive';
import { sendDisk } from './send';

const MiB = 1 << 20;

/** A disk in memory. */
function memorySource(data: Buffer): DiskSource {
  return { size: data.length, read: async (offset, length) => Buffer.from(data.subarray(offset, offset + length)), close: async () => undefined };
}

/** A sequential sink that fails the test on any byte written twice or out of order. */
class MemorySink implements DiskSink {
  readonly image: Buffer;
  written = 0;
  constructor(size: number) {
    this.image = Buffer.alloc(size, 0xee);
  }
  async write(chunk: Buffer): Promise<void> {
    assert.ok(this.written + chunk.length <= this.image.length, 'wrote past the end: a chunk was written twice');
    chunk.copy(this.image, this.written);
    this.written += chunk.length;
  }
  async writeZeros(length: number): Promise<void> {
    this.image.fill(0, this.written, this.written + length);
    this.written += length;
  }
  async read(offset: number, length: number): Promise<Buffer> {
    return Buffer.from(this.image.subarray(offset, offset + length));
  }
  async finish(): Promise<void> {}
  async abort(): Promise<void> {}
}

interface LaneLineOptions {
  /** Delay (ms) before each piece crosses, sender → receiver (order within the lane kept). */
  delay?: () => number;
  /** Cut the lane (both ends destroyed) after this many sender → receiver bytes: mid-frame. */
  killAfter?: number;
}

/** A TCP pair on loopback through a relay that can delay (reorders across lanes) and cut it. */
async function laneLine(o: LaneLineOptions = {}): Promise<{ a: net.Socket; b: net.Socket; close: () => void }> {
  const { a, b: inner } = await loopbackPair();
  const { a: out, b } = await loopbackPair();
  const all = [a, inner, out, b];
  for (const s of all) s.on('error', () => undefined);
  const close = (): void => all.forEach((s) => s.destroy());
  let seen = 0;
  // Pieces leave in arrival order, each no earlier than its own delay (one queue, one timer).
  const queue: Array<{ at: number; piece: Buffer; cut: boolean }> = [];
  let timer: NodeJS.Timeout | undefined;
  const drain = (): void => {
    timer = undefined;
    while (queue.length && queue[0]!.at <= Date.now()) {
      const { piece, cut } = queue.shift()!;
      if (piece.length && !out.destroyed) out.write(piece);
      if (cut) return void setImmediate(close);
    }
    if (queue.length) timer = setTimeout(drain, Math.max(1, queue[0]!.at - Date.now()));
  };
  inner.on('data', (d: Buffer) => {
    let piece = Buffer.from(d);
    let cut = false;
    if (o.killAfter !== undefined && seen + piece.length >= o.killAfter) {
      piece = piece.subarray(0, Math.max(0, o.killAfter - seen));
      cut = true;
      inner.pause();
    }
    seen += piece.length;
    queue.push({ at: Date.now() + (o.delay?.() ?? 0), piece, cut });
    if (!timer) drain();
  });
  out.on('data', (d: Buffer) => inner.write(d));
  return { a, b, close };
}

/** Disk of `chunks` 1 MiB chunks: random, some repeated (dedup), some zero. */
function mixedDisk(chunks: number, seed: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < chunks; i++) {
    const k = (i * 7 + seed) % 5;
    if (k === 0) parts.push(Buffer.alloc(MiB));
    else if (k === 1 && i > 0) parts.push(Buffer.from(parts[i - 1]!));
    else parts.push(randomBytes(MiB));
  }
  return Buffer.concat(parts);
}

/**
 * One disk over lane 0 plus `lanes` − 1 extra lanes (fixed count), each through its own relay;
 * the receiver joins them as data-server does (LaneJoin), minus the HELLO exchange.
 */
async function laneTransfer(data: Buffer, lines: LaneLineOptions[], opts: { window?: number; features?: string[] } = {}) {
  const closers: Array<() => void> = [];
  const join = new LaneJoin(1, data.length);
  const opened: number[] = [];
  const line = async (id: number): Promise<{ a: net.Socket; b: net.Socket }> => {
    const l = await laneLine(lines[id] ?? {});
    closers.push(l.close);
    return l;
  };
  const first = await line(0);
  const sink = new MemorySink(data.length);
  const { log } = memoryLogger();
  const features = opts.features ?? ['lanes', 'zero', 'dedup'];
  try {
    const [sent, received] = await Promise.all([
      sendDisk({
        channel: new FrameChannel(first.a),
        source: memorySource(data),
        stream: 1,
        chunkSize: MiB,
        window: opts.window ?? 8,
        features,
        lanes: { fixed: lines.length },
        openLane: async (id) => {
          opened.push(id);
          const l = await line(id);
          const joined = join.join(new FrameChannel(l.b, { deferDataVerify: true }), id);
          void joined?.then(() => l.b.end());
          return new FrameChannel(l.a);
        },
        log,
      }),
      receiveDisk({ channel: new FrameChannel(first.b, { deferDataVerify: true }), sink, stream: 1, size: data.length, index: new ChunkIndex(), lanes: join, log }),
    ]);
    return { sent, received, sink, opened };
  } finally {
    closers.forEach((c) => c());
  }
}

describe('lanes: one disk over several connections', () => {
  it('joins out-of-order arrivals of three lanes into one image', async () => {
    const data = mixedDisk(24, 1);
    // Lane 1 slow, lane 2 fast: chunks arrive out of offset order.
    const { sent, received, sink, opened } = await laneTransfer(data, [{}, { delay: () => 15 }, { delay: () => 1 }]);
    assert.deepEqual(opened, [1, 2]);
    assert.equal(sink.written, data.length);
    assert.ok(sink.image.equals(data));
    assert.equal(sent.sha256, diskDigestOf(data));
    assert.equal(received.sha256, sent.sha256);
    assert.equal(sent.stats?.lanes, 3);
  });

  it('a receiver that did not accept `lanes` gets one connection, as before', async () => {
    const data = mixedDisk(8, 3);
    const { sent, sink, opened } = await laneTransfer(data, [{}, {}, {}], { features: ['zero', 'dedup'] });
    assert.deepEqual(opened, []);
    assert.ok(sink.image.equals(data));
    assert.equal(sent.stats?.lanes, 1);
  });

  it('re-sends the unacknowledged chunks of a lane that dies mid-chunk on the others, never writing twice', async () => {
    const data = mixedDisk(32, 2);
    // Lane 1 is cut in the middle of its second frame; the fixed count opens a replacement (lane 3).
    const { sent, sink, opened } = await laneTransfer(data, [{ delay: () => 2 }, { killAfter: MiB + MiB / 2, delay: () => 5 }, {}]);
    assert.ok(sink.image.equals(data));
    assert.equal(sink.written, data.length);
    assert.equal(sent.sha256, diskDigestOf(data));
    assert.ok(opened.includes(3), `a new lane replaced the lost one (opened ${opened.join(',')})`);
    assert.ok((sent.stats?.resentBytes ?? 0) > 0, 'the lost lane had chunks in flight that went again');
  });

  it('staged image is bit-identical under random lane counts, delays and drops (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.record({ delay: fc.integer({ min: 0, max: 12 }), kill: fc.option(fc.integer({ min: 1, max: 6 * MiB }), { nil: undefined }) }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 2, max: 8 }),
        async (seed, specs, window) => {
          const data = mixedDisk(16, seed);
          // Lane 0 is the session: its loss would end the attempt (the caller resumes), not tested here.
          const lines = specs.map((s, i) => ({ delay: () => Math.random() * s.delay, killAfter: i === 0 ? undefined : s.kill }));
          const { sent, sink } = await laneTransfer(data, lines, { window });
          assert.equal(sink.written, data.length);
          assert.ok(sink.image.equals(data));
          assert.equal(sent.sha256, diskDigestOf(data));
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('LaneController (the adaptation rule)', () => {
  const netBound = (linkBytes: number): LaneSample => ({ ms: 1000, linkBytes, capMs: 0, sourceMs: 0, networkMs: 900 });
  /** A controller past its first window (which only starts the clock). */
  const started = (opts: ConstructorParameters<typeof LaneController>[0]): LaneController => {
    const c = new LaneController(opts);
    assert.equal(c.decide(netBound(1)), undefined);
    return c;
  };

  it('adds a lane while network-bound and keeps it only if the link rate rose', () => {
    const c = started({ max: 4 });
    assert.equal(c.decide(netBound(100)), undefined); // one baseline window is not enough
    assert.equal(c.decide(netBound(90)), 'add'); // baseline: the better of two windows (100)
    assert.equal(c.decide(netBound(120)), undefined); // warm-up window
    assert.equal(c.decide(netBound(170)), undefined); // first trial window
    assert.equal(c.decide(netBound(190)), 'add'); // +80 % over two windows: kept, the next one tried at once
    assert.equal(c.lanes, 3);
    c.decide(netBound(190));
    c.decide(netBound(200));
    assert.equal(c.decide(netBound(195)), 'remove'); // +4 % over the better baseline (190): not worth a lane
    assert.equal(c.lanes, 2);
    // Backs off (two windows) before trying again, on a fresh baseline.
    assert.equal(c.decide(netBound(180)), undefined);
    assert.equal(c.decide(netBound(180)), undefined);
    assert.equal(c.decide(netBound(180)), 'add');
  });

  it('a dip just before a trial does not pass for a gain', () => {
    const c = started({ max: 4 });
    c.decide(netBound(100));
    assert.equal(c.decide(netBound(80)), 'add'); // a dipped window (a checkpoint's fsync, a BBR probe)
    c.decide(netBound(100));
    c.decide(netBound(100));
    assert.equal(c.decide(netBound(105)), 'remove'); // judged against 100, not 80
  });

  it('never adds when the rate cap, the source or nothing at all is the limit, nor above max', () => {
    const c = started({ max: 4 });
    assert.equal(c.decide({ ms: 1000, linkBytes: 1, capMs: 600, sourceMs: 0, networkMs: 300 }), undefined);
    assert.equal(c.decide({ ms: 1000, linkBytes: 1, capMs: 0, sourceMs: 700, networkMs: 200 }), undefined);
    assert.equal(c.decide({ ms: 1000, linkBytes: 1, capMs: 0, sourceMs: 0, networkMs: 100 }), undefined);
    const one = started({ max: 1 });
    assert.equal(one.decide(netBound(1)), undefined);
    const two = started({ max: 2 });
    two.decide(netBound(100));
    assert.equal(two.decide(netBound(100)), 'add');
    two.decide(netBound(200));
    two.decide(netBound(200));
    assert.equal(two.decide(netBound(200)), undefined); // kept, and at max
    assert.equal(two.lanes, 2);
    const fixed = new LaneController({ max: 4, fixed: 3 });
    assert.equal(fixed.lanes, 3);
    assert.equal(fixed.decide(netBound(1)), undefined);
    assert.equal(fixed.decide(netBound(1)), undefined);
  });

  it('runs one trial at a time per link, judged on the whole link', () => {
    const link = new LaneLink();
    const a = started({ max: 4, link });
    const b = started({ max: 4, link });
    a.decide(netBound(100));
    b.decide(netBound(100));
    assert.equal(a.decide(netBound(100)), 'add');
    assert.equal(b.decide(netBound(100)), undefined); // a's trial holds the link
    a.decide(netBound(100));
    a.decide(netBound(101));
    // a's new lane only took bandwidth from b: the link's rate did not rise.
    assert.equal(a.decide(netBound(101)), 'remove');
    assert.equal(b.decide(netBound(100)), 'add');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder } from './decoder';
import { encodeFrame, Frame, FrameError, FrameFlags, FrameType, HEADER_SIZE, sha256 } from './frame';

const MAX = 4096; // small max payload keeps the fuzz fast; the logic is size-independent

const frameArb: fc.Arbitrary<Frame> = fc.record({
  type: fc.constantFrom(...([1, 2, 3, 4, 5, 6] as FrameType[])),
  flags: fc.integer({ min: 0, max: 0xffff }),
  stream: fc.integer({ min: 0, max: 0xffffffff }),
  offset: fc.maxSafeNat(),
  payload: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
}).map((f) => ({ ...f })); // plain prototype, for deepStrictEqual

/** Splits buf at the given cut points (sorted, deduplicated, within range). */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

function decodeAll(pieces: Buffer[], dec = new FrameDecoder({ maxPayload: MAX })): Frame[] {
  const frames: Frame[] = [];
  for (const p of pieces) frames.push(...dec.push(p));
  dec.end();
  return frames.map(({ sha256: _h, ...f }) => f);
}

describe('frames', () => {
  it('round-trips a frame', () => {
    const f: Frame = { type: FrameType.DATA, flags: FrameFlags.NONE, stream: 7, offset: 2 ** 40 + 3, payload: Buffer.from('hello') };
    const bytes = encodeFrame(f);
    assert.equal(bytes.length, HEADER_SIZE + 5);
    const [g] = new FrameDecoder().push(bytes);
    assert.deepEqual({ ...g, sha256: undefined }, { ...f, sha256: undefined });
    assert.ok(g!.sha256!.equals(sha256(f.payload)));
  });

  it('rejects bad magic, version, type and oversize length with a typed reason', () => {
    const good = encodeFrame({ type: FrameType.ACK, flags: 0, stream: 0, offset: 0, payload: Buffer.alloc(0) });
    const cases: Array<[number, number, string]> = [
      [0, 0x00, 'bad-magic'],
      [4, 9, 'bad-version'],
      [5, 0, 'bad-type'],
      [5, 77, 'bad-type'],
    ];
    for (const [at, value, reason] of cases) {
      const b = Buffer.from(good);
      b[at] = value;
      assert.throws(() => new FrameDecoder().push(b), (e: unknown) => e instanceof FrameError && e.reason === reason);
    }
    const big = Buffer.from(good);
    big.writeUInt32BE(MAX + 1, 20);
    assert.throws(() => new FrameDecoder({ maxPayload: MAX }).push(big), (e: unknown) => e instanceof FrameError && e.reason === 'too-large');
    const far = Buffer.from(good);
    far.writeBigUInt64BE(2n ** 63n, 12);
    assert.throws(() => new FrameDecoder().push(far), (e: unknown) => e instanceof FrameError && e.reason === 'bad-offset');
  });

  it('a decoder that failed stays failed', () => {
    const dec = new FrameDecoder();
    assert.throws(() => dec.push(Buffer.alloc(HEADER_SIZE)));
    const good = encodeFrame({ type: FrameType.CLOSE, flags: 0, stream: 0, offset: 0, payload: Buffer.alloc(0) });
    assert.throws(() => dec.push(good), FrameError);
  });

  it('reports truncation at end of stream', () => {
    const bytes = encodeFrame({ type: FrameType.DATA, flags: 0, stream: 1, offset: 0, payload: Buffer.alloc(100, 1) });
    for (const cut of [1, HEADER_SIZE - 1, HEADER_SIZE, bytes.length - 1]) {
      const dec = new FrameDecoder();
      assert.deepEqual(dec.push(bytes.subarray(0, cut)), []);
      assert.throws(() => dec.end(), (e: unknown) => e instanceof FrameError && e.reason === 'truncated');
    }
    const dec = new FrameDecoder();
    assert.equal(dec.push(bytes).length, 1);
    dec.end();
  });

  it('throws hash-mismatch with the header, or reports it and goes on with onCorrupt', () => {
    const a = encodeFrame({ type: FrameType.DATA, flags: 0, stream: 2, offset: 4096, payload: Buffer.alloc(64, 7) });
    const b = encodeFrame({ type: FrameType.DATA, flags: 0, stream: 2, offset: 4160, payload: Buffer.alloc(64, 8) });
    a[HEADER_SIZE + 10] ^= 0x01;
    assert.throws(
      () => new FrameDecoder().push(Buffer.concat([a, b])),
      (e: unknown) => e instanceof FrameError && e.reason === 'hash-mismatch' && e.header?.offset === 4096,
    );
    const corrupt: FrameError[] = [];
    const frames = new FrameDecoder({ onCorrupt: (e) => corrupt.push(e) }).push(Buffer.concat([a, b]));
    assert.equal(corrupt.length, 1);
    assert.equal(corrupt[0]!.header!.offset, 4096);
    assert.deepEqual(frames.map((f) => f.offset), [4160]);
  });

  it('encoder refuses what the decoder would refuse', () => {
    assert.throws(() => encodeFrame({ type: FrameType.DATA, flags: 0, stream: 0, offset: 0, payload: Buffer.alloc(MAX + 1) }, { maxPayload: MAX }), RangeError);
    assert.throws(() => encodeFrame({ type: 99 as FrameType, flags: 0, stream: 0, offset: 0, payload: Buffer.alloc(0) }), RangeError);
    assert.throws(() => encodeFrame({ type: FrameType.DATA, flags: 0, stream: 0, offset: -1, payload: Buffer.alloc(0) }), RangeError);
  });

  describe('property-based', () => {
    it('encode → decode round trip under random TCP splitting', () => {
      fc.assert(
        fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
          const bytes = Buffer.concat(frames.map((f) => encodeFrame(f)));
          const got = decodeAll(split(bytes, cuts));
          assert.deepEqual(got, frames);
        }),
        { numRuns: 300 },
      );
    });

    it('byte-at-a-time delivery decodes the same frames', () => {
      fc.assert(
        fc.property(fc.array(frameArb, { maxLength: 3 }), (frames) => {
          const bytes = Buffer.concat(frames.map((f) => encodeFrame(f)));
          const pieces = [...bytes].map((b) => Buffer.from([b]));
          assert.deepEqual(decodeAll(pieces), frames);
        }),
        { numRuns: 50 },
      );
    });

    it('random garbage never crashes or hangs and yields only hash-valid frames', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 10 }), (garbage, cuts) => {
          checkOnlyValidFrames(split(Buffer.from(garbage), cuts));
        }),
        { numRuns: 500 },
      );
    });

    it('bit flips in valid streams never crash or hang and yield only hash-valid frames', () => {
      fc.assert(
        fc.property(
          fc.array(frameArb, { minLength: 1, maxLength: 6 }),
          fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
          fc.array(fc.nat(), { maxLength: 10 }),
          fc.boolean(),
          (frames, flips, cuts, tolerant) => {
            const bytes = Buffer.concat(frames.map((f) => encodeFrame(f)));
            for (const bit of flips) {
              const at = bit % (bytes.length * 8);
              bytes[at >> 3] ^= 1 << (at & 7);
            }
            checkOnlyValidFrames(split(bytes, cuts), tolerant);
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});

function checkOnlyValidFrames(pieces: Buffer[], tolerant = false): void {
  const dec = new FrameDecoder({ maxPayload: MAX, onCorrupt: tolerant ? () => undefined : undefined });
  const start = Date.now();
  try {
    for (const p of pieces) {
      for (const f of dec.push(p)) {
        // The hash the frame carried in its header must be the hash of the payload yielded.
        assert.ok(f.payload.length <= MAX);
        assert.ok(f.sha256 && sha256(f.payload).equals(f.sha256));
      }
    }
    dec.end();
  } catch (e) {
    if (!(e instanceof FrameError)) throw e;
  }
  assert.ok(Date.now() - start < 1000, 'decoder took too long');
  assert.ok(dec.pending <= MAX + HEADER_SIZE + 2000);
}

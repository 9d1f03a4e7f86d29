import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ChunkWorkers } from './chunk-workers';

const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

describe('ChunkWorkers (per-chunk hashing off the main thread)', () => {
  it('hands the same bytes back with their SHA-256, zero check and probe; many at once', async () => {
    const pool = new ChunkWorkers(2);
    try {
      const chunks = Array.from({ length: 8 }, (_, i) => (i % 3 === 0 ? Buffer.alloc(1 << 20) : randomBytes(1 << 20)));
      const copies = chunks.map((c) => Buffer.from(c));
      const results = await Promise.all(chunks.map((c) => pool.inspect(c, { probeLevel: 1 })));
      results.forEach((r, i) => {
        assert.ok(r.buf.equals(copies[i]!), 'same bytes back');
        assert.equal(r.zero, i % 3 === 0);
        if (!r.zero) {
          assert.ok(r.sha256!.equals(sha(copies[i]!)));
          assert.ok(r.sampleRatio! > 0.95, 'random data does not compress');
        }
      });
      assert.equal(chunks[1]!.length, 0, 'a chunk that owns its memory is transferred, not copied');
    } finally {
      await pool.close();
    }
  });

  it('small or shared buffers are done inline and left intact', async () => {
    const pool = new ChunkWorkers(1);
    try {
      const big = randomBytes(2 << 20);
      const view = big.subarray(1024, 1024 + (1 << 20)); // part of a larger ArrayBuffer: cannot be transferred
      const r = await pool.sha256(view);
      assert.ok(r.sha256.equals(sha(view)));
      assert.equal(view.length, 1 << 20);
      const small = Buffer.from('compressible '.repeat(100));
      const s = await pool.inspect(small, { probeLevel: 1 });
      assert.ok(s.sha256!.equals(sha(small)));
      assert.ok(s.sampleRatio! < 0.2);
    } finally {
      await pool.close();
    }
  });
});

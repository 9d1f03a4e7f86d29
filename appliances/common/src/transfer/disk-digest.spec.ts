import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DIGEST_BLOCK, DiskDigest, diskDigestOf, diskDigestOfFile } from './disk-digest';

const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/** The definition, written the slow way: SHA-256 over the SHA-256 of each 4 MiB block. */
function reference(data: Buffer): string {
  const outer = createHash('sha256');
  for (let at = 0; at < data.length; at += DIGEST_BLOCK) outer.update(sha(data.subarray(at, at + DIGEST_BLOCK)));
  return outer.digest('hex');
}

describe('disk digest (SHA-256 over 4 MiB block SHA-256s)', () => {
  const data = randomBytes(2 * DIGEST_BLOCK + 12345);

  it('matches its definition; an empty disk is SHA-256 of nothing', () => {
    assert.equal(diskDigestOf(data), reference(data));
    assert.equal(diskDigestOf(Buffer.alloc(0)), createHash('sha256').digest('hex'));
    assert.notEqual(diskDigestOf(data), createHash('sha256').update(data).digest('hex'));
  });

  it('gives the same digest however the bytes are split, with or without known block hashes (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 * DIGEST_BLOCK }), { maxLength: 6 }), fc.boolean(), (cuts, useHashes) => {
        const d = new DiskDigest(data.length);
        let at = 0;
        for (const c of [...cuts, data.length]) {
          const n = Math.min(c, data.length - at);
          if (n <= 0) break;
          const piece = data.subarray(at, at + n);
          d.add(at, piece, useHashes ? sha(piece) : undefined);
          at += n;
        }
        assert.equal(d.digest(), reference(data));
      }),
      { numRuns: 40 },
    );
  });

  it('zeros: whole zero blocks and partial runs digest like the bytes', () => {
    const size = 3 * DIGEST_BLOCK + 100;
    const bytes = Buffer.alloc(size);
    bytes.fill(7, 0, 1000);
    const d = new DiskDigest(size);
    d.add(0, bytes.subarray(0, 1000));
    d.addZeros(1000, size - 1000);
    assert.equal(d.digest(), reference(bytes));
  });

  it('refuses bytes out of order, beyond the size, or a digest before the end', () => {
    const d = new DiskDigest(10);
    assert.throws(() => d.add(1, Buffer.alloc(1)), /expected 0/);
    assert.throws(() => d.add(0, Buffer.alloc(11)), /beyond/);
    d.add(0, Buffer.alloc(5));
    assert.throws(() => d.digest(), /after 5 of 10/);
  });

  it('digests a file like the same bytes in memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdm-digest-'));
    try {
      writeFileSync(join(dir, 'disk.img'), data);
      assert.equal(await diskDigestOfFile(join(dir, 'disk.img')), reference(data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

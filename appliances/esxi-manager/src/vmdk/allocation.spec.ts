import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AllocationCache, diskAllocation, FilefragParseError, mergeRanges, parseFilefrag } from './allocation';

/** Real `filefrag -e` output of e2fsprogs 1.47 on ext4: data, a block, a preallocated (unwritten) range. */
const EXT4 = `Filesystem type is: ef53
File size of f is 8388608 (2048 blocks of 4096 bytes)
 ext:     logical_offset:        physical_offset: length:   expected: flags:
   0:       48..      79:   10608688..  10608719:     32:         48:
   1:     1000..    1000:   10609640..  10609640:      1:            
   2:     1024..    1279:   10607872..  10608127:    256:   10609664: last,unwritten
f: 2 extents found
`;

/** Data written but not yet allocated (delayed allocation): length 0, flags delalloc. */
const DELALLOC = `Filesystem type is: ef53
File size of my file.vmdk is 4194304 (1024 blocks of 4096 bytes)
 ext:     logical_offset:        physical_offset: length:   expected: flags:
   0:       10..      12:          0..         0:      0:             last,unknown_loc,delalloc
my file.vmdk: 1 extent found
`;

describe('allocation map (FIEMAP via filefrag)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdm-alloc-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('parses extents in the block size of the header, skips unwritten ones, keeps delalloc', () => {
    assert.deepEqual(parseFilefrag(EXT4), { fileSize: 8388608, ranges: [{ start: 48 * 4096, length: 32 * 4096 }, { start: 1000 * 4096, length: 4096 }] });
    assert.deepEqual(parseFilefrag(DELALLOC).ranges, [{ start: 40960, length: 3 * 4096 }]);
    const b512 = EXT4.replace('(2048 blocks of 4096 bytes)', '(16384 blocks of 512 bytes)');
    assert.equal(parseFilefrag(b512).ranges[0]!.start, 48 * 512);
    // The last block is cut at the file's size.
    const tail = 'File size of t is 5000 (2 blocks of 4096 bytes)\n   0:        0..       1:       77..       78:      2:             last,eof\n';
    assert.deepEqual(parseFilefrag(tail).ranges, [{ start: 0, length: 5000 }]);
    assert.deepEqual(parseFilefrag('File size of e is 0 (0 blocks of 4096 bytes)\ne: 0 extents found\n').ranges, []);
  });

  it('refuses output it cannot trust', () => {
    assert.throws(() => parseFilefrag('f: FIBMAP/FIEMAP unsupported\n'), FilefragParseError);
    assert.throws(() => parseFilefrag('   0:       48..      79:   10608688..  10608719:     32:         48:\n'), FilefragParseError);
    assert.throws(() => parseFilefrag('File size of f is 8 (1 block of 4096 bytes)\n   0:       9..      3:   1..  2:     2:\n'), FilefragParseError);
  });

  it('fuzz: merged ranges are sorted, disjoint, non-touching and cover the same bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ start: fc.nat({ max: 500 }), length: fc.nat({ max: 60 }) }), { maxLength: 30 }), (ranges) => {
        const merged = mergeRanges(ranges);
        const covered = (rs: typeof ranges) => {
          const set = new Set<number>();
          for (const r of rs) for (let i = r.start; i < r.start + r.length; i++) set.add(i);
          return [...set].sort((a, b) => a - b);
        };
        assert.deepEqual(covered(merged), covered(ranges));
        merged.forEach((r, i) => assert.ok(r.length > 0 && (i === 0 || merged[i - 1]!.start + merged[i - 1]!.length < r.start)));
      }),
      { numRuns: 500 },
    );
  });

  it('maps a real sparse file (or says it counted it whole)', async () => {
    const f = join(dir, 'sparse-flat.vmdk');
    const fd = openSync(f, 'w');
    ftruncateSync(fd, 64 << 20);
    writeSync(fd, randomBytes(1 << 20), 0, 1 << 20, 8 << 20);
    writeSync(fd, randomBytes(4096), 0, 4096, 40 << 20);
    closeSync(fd);
    const a = await new AllocationCache().file(f);
    if (a.source === 'fiemap') {
      assert.deepEqual(a.ranges, [{ start: 8 << 20, length: 1 << 20 }, { start: 40 << 20, length: 4096 }]);
    } else {
      assert.ok(a.reason, 'a full map says why');
      assert.deepEqual(a.ranges, [{ start: 0, length: 64 << 20 }]);
    }
  });

  it('falls back to "all allocated" without filefrag, and caches per (file, mtime, size)', async () => {
    const f = join(dir, 'x-flat.vmdk');
    writeFileSync(f, Buffer.alloc(10_000, 1));
    const missing = await new AllocationCache({ filefrag: join(dir, 'no-such-filefrag') }).file(f);
    assert.equal(missing.source, 'full');
    assert.deepEqual(missing.ranges, [{ start: 0, length: 10_000 }]);
    assert.match(missing.reason!, /ENOENT/);
    // A stand-in filefrag that counts its runs and prints canned output for this file's size.
    const fake = join(dir, 'fake-filefrag');
    const runs = join(dir, 'runs');
    writeFileSync(fake, `#!/bin/sh\necho run >> '${runs}'\necho "File size of $2 is 10000 (3 blocks of 4096 bytes)"\necho "   0:        1..       1:       5..       5:      1:             last"\n`);
    chmodSync(fake, 0o755);
    const cache = new AllocationCache({ filefrag: fake });
    const [a, b] = await Promise.all([cache.file(f), cache.file(f)]);
    assert.deepEqual(a, { ranges: [{ start: 4096, length: 4096 }], source: 'fiemap' });
    assert.equal(a, b);
    await cache.file(f);
    const count = (): number => readFileSync(runs, 'utf8').split('\n').filter(Boolean).length;
    assert.equal(count(), 1, 'one scan for concurrent and repeated asks');
    cache.forget(f);
    await cache.file(f);
    assert.equal(count(), 2);
    writeFileSync(f, Buffer.alloc(20_000, 1)); // another size: the canned output no longer matches → full
    const changed = await cache.file(f);
    assert.equal(count(), 3);
    assert.equal(changed.source, 'full');
    assert.match(changed.reason!, /changed during the scan/);
    // A disk of two extents in one file and a ZERO extent: file ranges clipped and shifted to disk offsets.
    writeFileSync(f, Buffer.alloc(10_000, 1));
    const disk = await diskAllocation(
      [
        { diskOffset: 0, length: 4096, file: f, fileOffset: 4096, writable: true },
        { diskOffset: 4096, length: 1000, fileOffset: 0, writable: false },
        { diskOffset: 5096, length: 6000, file: f, fileOffset: 0, writable: true },
      ],
      cache,
    );
    assert.deepEqual(disk, { allocated: [{ start: 0, length: 4096 }, { start: 5096 + 4096, length: 1904 }], allocatedBytes: 6000, extentSource: 'fiemap', reasons: [] });
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameChannel } from './channel';
import { diskDigestOf } from './disk-digest';
import { DiskSource, FileSource } from './io';
import { receiveDisk } from './receive';
import { sendDisk } from './send';
import { StagingSink } from './staging';
import { loopbackPair } from '../testing/loopback';

const MiB = 1 << 20;
const sha = diskDigestOf;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-staging-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const pair = loopbackPair;

describe('StagingSink (the Cloud Manager working disk)', () => {
  it('checkpoints the durable prefix atomically and resumes there after a failure, zeroing the tail', async () => {
    const data = randomBytes(6 * MiB);
    const s1 = await StagingSink.open(dir, 'd1', data.length, { checkpointBytes: 2 * MiB, checkpointMs: 60_000 });
    assert.equal(s1.resumeFrom, 0);
    await s1.write(data.subarray(0, 3 * MiB));
    await s1.idle();
    assert.equal(StagingSink.durableBytes(dir, 'd1', data.length), 3 * MiB, 'checkpoint once 2 MiB are new');
    await s1.write(data.subarray(3 * MiB, 3 * MiB + 1000));
    await s1.idle();
    assert.equal(StagingSink.durableBytes(dir, 'd1', data.length), 3 * MiB, 'not yet');
    await s1.abort(); // a broken link: keep everything written
    assert.equal(StagingSink.durableBytes(dir, 'd1', data.length), 3 * MiB + 1000);
    assert.equal(StagingSink.durableBytes(dir, 'd1', data.length + 1), 0, 'another size starts over');
    const s2 = await StagingSink.open(dir, 'd1', data.length);
    assert.equal(s2.resumeFrom, 3 * MiB + 1000);
    await s2.write(data.subarray(s2.resumeFrom));
    let uploaded = Buffer.alloc(0);
    const digest = await (await reopen(s2)).finishInto((b) => (uploaded = Buffer.concat([uploaded, b])));
    assert.equal(digest, sha(data));
    assert.ok(uploaded.equals(data));
  });

  it('a dead writer beyond the checkpoint leaves nothing behind: open truncates to the prefix', async () => {
    const size = 4 * MiB;
    const s1 = await StagingSink.open(dir, 'd2', size, { checkpointBytes: MiB, checkpointMs: 60_000 });
    await s1.write(Buffer.alloc(MiB, 7));
    await s1.idle();
    // Simulate kill -9: bytes written after the last checkpoint, never checkpointed.
    await (s1 as unknown as { fh: { write(b: Buffer, o: number, l: number, p: number): Promise<unknown> } }).fh.write(Buffer.alloc(512 * 1024, 9), 0, 512 * 1024, MiB);
    const s2 = await StagingSink.open(dir, 'd2', size);
    await (s1 as unknown as { fh: { close(): Promise<void> } }).fh.close();
    assert.equal(s2.resumeFrom, MiB);
    await s2.skip(size - MiB); // the rest is zeros (e.g. zero chunks)
    const digest = await s2.finish();
    const expect = Buffer.concat([Buffer.alloc(MiB, 7), Buffer.alloc(size - MiB)]);
    assert.equal(digest, sha(expect));
    assert.ok(readFileSync(join(dir, 'd2.img')).equals(expect));
    assert.ok(statSync(join(dir, 'd2.img')).blocks * 512 < 2 * MiB, 'the zero tail stays sparse');
    StagingSink.discard(dir, 'd2');
    assert.ok(!existsSync(join(dir, 'd2.img')) && !existsSync(join(dir, 'd2.ckpt')));
  });

  it('sendDisk/receiveDisk resume at startOffset: only the tail crosses, the SHA-256 covers the whole disk', async () => {
    const data = randomBytes(9 * MiB + 777);
    const src = join(dir, 'src3');
    writeFileSync(src, data);
    const s1 = await StagingSink.open(dir, 'd3', data.length);
    await s1.write(data.subarray(0, 5 * MiB + 3)); // an odd prefix: the sender's chunk grid adapts
    await s1.abort();
    const sink = await StagingSink.open(dir, 'd3', data.length);
    const source = await FileSource.open(src);
    const { a, b } = await pair();
    let wire = 0;
    b.on('data', (d: Buffer) => (wire += d.length));
    try {
      const [sent, received] = await Promise.all([
        sendDisk({ channel: new FrameChannel(a), source, stream: 0, chunkSize: 2 * MiB, startOffset: sink.resumeFrom }),
        receiveDisk({ channel: new FrameChannel(b), sink, stream: 0, size: data.length, startOffset: sink.resumeFrom }),
      ]);
      assert.equal(sent.sha256, sha(data));
      assert.equal(received.sha256, sha(data));
      assert.ok(readFileSync(join(dir, 'd3.img')).equals(data));
      assert.ok(wire < data.length - sink.resumeFrom + 64 * 1024, `${wire} bytes on the wire for ${data.length - sink.resumeFrom} missing`);
    } finally {
      a.destroy();
      b.destroy();
      await source.close();
    }
  });

  it('receiveDisk refuses to resume into a sink that cannot give the whole-disk digest', async () => {
    const data = randomBytes(2 * MiB);
    const source: DiskSource = { size: data.length, read: async (o, l) => data.subarray(o, o + l), close: async () => undefined };
    const sink = { write: async () => undefined, finish: async () => undefined, abort: async () => undefined };
    const { a, b } = await pair();
    try {
      const results = await Promise.allSettled([
        sendDisk({ channel: new FrameChannel(a), source, stream: 0, chunkSize: MiB, startOffset: MiB }),
        receiveDisk({ channel: new FrameChannel(b), sink, stream: 0, size: data.length, startOffset: MiB }),
      ]);
      assert.equal(results[1].status, 'rejected');
      assert.match(String((results[1] as PromiseRejectedResult).reason), /no digest of the whole disk/);
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});

/** finish() with a commit that collects what the lease upload would get. */
async function reopen(s: StagingSink): Promise<{ finishInto(cb: (b: Buffer) => void): Promise<string | undefined> }> {
  return {
    finishInto: async (cb) => {
      (s as unknown as { opts: { commit: (r: { size: number; next(n: number): Promise<Buffer> }) => Promise<void> } }).opts.commit = async (r) => {
        let left = r.size;
        while (left > 0) {
          const b = await r.next(Math.min(MiB, left));
          left -= b.length;
          cb(b);
        }
      };
      return s.finish();
    },
  };
}

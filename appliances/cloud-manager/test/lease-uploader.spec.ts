import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskDigestOf, silentLogger } from '@hdm/appliance-common';
import { LeaseUploader } from '../src/data/lease-uploader';
import { LeaseStandIn, MiB, waitFor } from './harness';

describe('LeaseUploader (the lease PUT follows the staged durable prefix)', () => {
  const lease = new LeaseStandIn();
  let dir = '';
  const log = silentLogger();

  before(async () => {
    await lease.start();
    dir = mkdtempSync(join(tmpdir(), 'hdm-upload-'));
  });
  after(async () => {
    await lease.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads no byte beyond the durable prefix, continues as it grows, and digests what the lease got', async () => {
    const data = randomBytes(10 * MiB + 4321);
    const image = join(dir, 'd1.img');
    writeFileSync(image, Buffer.alloc(data.length)); // the staged image: sparse beyond what arrived
    const fh = await open(image, 'r+');
    await fh.write(data, 0, 3 * MiB + 7, 0);
    const up = new LeaseUploader(`${lease.url}/d1`, image, data.length, { cookie: lease.cookie, thumbprint: lease.cert.sha1 }, log);
    up.advance(3 * MiB + 7);
    await waitFor('first part uploaded', async () => ((lease.putReceived.get('d1') ?? 0) >= 3 * MiB + 7 ? true : undefined), 10_000, 20);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(lease.putReceived.get('d1'), 3 * MiB + 7, 'nothing beyond the durable prefix');
    await fh.write(data, 3 * MiB + 7, data.length - (3 * MiB + 7), 3 * MiB + 7);
    await fh.close();
    up.advance(data.length);
    assert.equal(await up.finished(), diskDigestOf(data));
    assert.ok(lease.stored.get('d1')!.equals(data));
    assert.equal(up.failed, false);
  });

  it('a refused PUT fails the uploader (a new one is needed)', async () => {
    const image = join(dir, 'd2.img');
    writeFileSync(image, randomBytes(MiB));
    const up = new LeaseUploader(`${lease.url}/d2`, image, MiB, { cookie: 'wrong', thumbprint: lease.cert.sha1 }, log);
    up.advance(MiB);
    await assert.rejects(up.finished(), /403/);
    assert.equal(up.failed, true);
  });
});

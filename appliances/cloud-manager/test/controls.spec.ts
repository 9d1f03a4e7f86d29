import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diskDigestOf, TestCa, TestCert } from '@hdm/appliance-common';
import { controlClient, MiB, Service, sha256hex, startService, waitFor, WanRelay } from './harness';

const CLOUD_PKG = join(__dirname, '../..');
const PREM_PKG = join(__dirname, '../../../prem-manager');

/**
 * Bandwidth control, parallel disks, progress detail and data reduction through the two real
 * services, with file sources and file targets (--file-dir) instead of lease URLs.
 */
describe('export controls: caps, PATCH, link setting, parallel disks, progress', () => {
  let dir: string;
  const ca = new TestCa('HDM Root CA (test)');
  let plugin: TestCert;
  let cloud: Service;
  let prem: Service;
  let cloudApi: ReturnType<typeof controlClient>;
  let premApi: ReturnType<typeof controlClient>;
  let relay: WanRelay;
  let src: string;
  let dst: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hdm-controls-'));
    src = join(dir, 'src');
    dst = join(dir, 'dst');
    mkdirSync(src);
    mkdirSync(dst);
    const pki = join(dir, 'pki');
    const c = ca.issueToDir(pki, 'cloud', 'cloud-manager');
    const p = ca.issueToDir(pki, 'prem', 'prem-manager');
    plugin = ca.issue('plugin-server', { usage: 'client' });
    cloud = await startService(CLOUD_PKG, ['--listen', '127.0.0.1:0', '--data-listen', '127.0.0.1:0', '--cert', c.files!.cert, '--key', c.files!.key, '--ca', c.files!.ca, '--state-dir', join(dir, 'cs'), '--file-dir', dst]);
    prem = await startService(PREM_PKG, ['--listen', '127.0.0.1:0', '--cert', p.files!.cert, '--key', p.files!.key, '--ca', p.files!.ca, '--state-dir', join(dir, 'ps'), '--file-dir', src, '--parallel-disks', '2']);
    cloudApi = controlClient(cloud.ready.control, plugin, ca.certPem);
    premApi = controlClient(prem.ready.control, plugin, ca.certPem);
    const [host, port] = cloud.ready.data!.split(':');
    relay = new WanRelay({ host: host!, port: Number(port) });
    await relay.start();
  });

  after(async () => {
    await relay.stop();
    for (const s of [prem, cloud]) if (s && s.child.exitCode === null) s.child.kill('SIGTERM');
    await Promise.all([prem?.exited, cloud?.exited]);
    rmSync(dir, { recursive: true, force: true });
  });

  const post = async (id: string, disks: Buffer[], limit?: unknown) => {
    const names = disks.map((d, i) => {
      writeFileSync(join(src, `${id}-${i}`), d);
      return `${id}-${i}`;
    });
    const imp = await cloudApi('POST', '/v1/imports', { id, disks: disks.map((d, i) => ({ key: `disk-${i}`, size: d.length, uploadUrl: pathToFileURL(join(dst, names[i]!)).href })) });
    assert.equal(imp.status, 201, JSON.stringify(imp.body));
    const exp = await premApi('POST', '/v1/exports', {
      id,
      disks: disks.map((d, i) => ({ key: `disk-${i}`, size: d.length, sourceUrl: pathToFileURL(join(src, names[i]!)).href })),
      cloud: { host: '127.0.0.1', port: relay.port, expectedRole: 'cloud-manager' },
      ...(limit ? { limit } : {}),
    });
    assert.equal(exp.status, 201, JSON.stringify(exp.body));
    return names;
  };
  const untilDone = (id: string) =>
    waitFor(`${id} done`, async () => {
      const r = await premApi('GET', `/v1/exports/${id}`);
      if (r.body.state === 'failed') throw new Error(JSON.stringify(r.body));
      return r.body.state === 'done' ? r.body : undefined;
    }, 60_000);

  it('refuses file URLs outside --file-dir', async () => {
    const r = await premApi('POST', '/v1/exports', { id: 'x1', disks: [{ key: 'd', size: 1, sourceUrl: 'file:///etc/passwd' }], cloud: { host: '127.0.0.1', port: 1, expectedRole: 'cloud-manager' } });
    assert.equal(r.status, 400);
    const c = await cloudApi('POST', '/v1/imports', { id: 'x1', disks: [{ key: 'd', size: 1, uploadUrl: 'file:///tmp/elsewhere' }] });
    assert.equal(c.status, 400);
  });

  it('caps a migration, shows rate/ETA/wire bytes, and a PATCH lifts the cap while it runs', async () => {
    const disks = [randomBytes(12 * MiB), randomBytes(12 * MiB)];
    const names = await post('cap', disks, { limitMbit: 40 }); // 5 MB/s
    const t0 = performance.now();
    const mid = await waitFor('rate and ETA', async () => {
      const b = (await premApi('GET', '/v1/exports/cap')).body;
      const running = b.disks.filter((d: { state: string; wireBytes?: number }) => d.state === 'running' && d.wireBytes! > 0);
      return b.rateBytesPerSec > 0 && b.etaSeconds !== undefined && running.length === 2 ? b : undefined;
    }, 10_000);
    assert.deepEqual(mid.limit, { limitMbit: 40 });
    assert.ok(mid.wireBytes > 0 && mid.bytesRead >= mid.bytesDone);
    assert.ok(mid.disks.every((d: { bytesRead?: number; wireBytes?: number }) => d.wireBytes !== undefined && d.bytesRead !== undefined), 'per-disk detail');
    // The slope over 1.5 s, measured at the relay (what crossed the "WAN"): 5 MB/s + at most one 4 MiB frame of debt.
    const w0 = relay.bytesUp;
    await new Promise((r) => setTimeout(r, 1500));
    const slope = (relay.bytesUp - w0) / 1.5;
    assert.ok(slope < 5_000_000 + (4 * MiB) / 1.5, `capped at 5 MB/s: ${Math.round(slope)} B/s`);
    assert.ok(slope > 2_000_000, `still moving: ${Math.round(slope)} B/s`);
    assert.ok((await premApi('GET', '/v1/exports/cap')).body.state === 'running');
    const patched = await premApi('PATCH', '/v1/exports/cap', { limitMbit: 0 });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.limit, { limitMbit: 0 });
    await untilDone('cap');
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(seconds < 5, `24 MiB at 5 MB/s would take ~5 s; the lifted cap finished in ${seconds.toFixed(1)} s`);
    for (const [i, n] of names.entries()) assert.ok(readFileSync(join(dst, n)).equals(disks[i]!));
    assert.equal((await premApi('PATCH', '/v1/exports/nope', { limitMbit: 1 })).status, 404);
    assert.equal((await premApi('PATCH', '/v1/exports/cap', { limitMbit: 'fast' })).status, 400);
  });

  it('the link setting caps every export and is readable', async () => {
    assert.deepEqual((await premApi('GET', '/v1/link')).body, { limitMbit: 0 });
    const put = await premApi('PUT', '/v1/link', { limitMbit: 80, windows: [{ from: '00:00', to: '00:00', limitMbit: 80 }] });
    assert.equal(put.status, 200);
    const up0 = relay.bytesUp;
    const t0 = performance.now();
    await post('linked', [randomBytes(8 * MiB)]);
    await untilDone('linked');
    const s = (performance.now() - t0) / 1000;
    assert.ok(s > 0.6, `8 MiB at 10 MB/s took ${s.toFixed(2)} s`);
    assert.ok(relay.bytesUp - up0 >= 8 * MiB);
    await premApi('PUT', '/v1/link', { limitMbit: 0 });
  });

  it('moves a mostly-empty and a repetitive disk with far fewer bytes on the wire', async () => {
    const sparse = Buffer.alloc(32 * MiB);
    randomBytes(MiB).copy(sparse, 5 * MiB);
    const block = randomBytes(MiB);
    const repetitive = Buffer.concat(Array.from({ length: 16 }, () => block));
    const up0 = relay.bytesUp;
    const names = await post('reduce', [sparse, repetitive]);
    const done = await untilDone('reduce');
    assert.deepEqual(done.disks.map((d: { sha256: string }) => d.sha256), [diskDigestOf(sparse), diskDigestOf(repetitive)]);
    assert.ok(readFileSync(join(dst, names[0]!)).equals(sparse));
    assert.ok(readFileSync(join(dst, names[1]!)).equals(repetitive));
    const wire = relay.bytesUp - up0;
    if (wire >= 3 * MiB) process.stderr.write(prem.stderr().split('\n').filter((l) => l.includes('reduce')).join('\n') + cloud.stderr().split('\n').filter((l) => l.includes('reduce')).join('\n'));
    // 1 MiB of random data in a zero chunk (deflated) + one 4 MiB chunk of the repeated block, then references.
    assert.ok(wire < 6 * MiB, `${wire} bytes crossed for 48 MiB logical`);
    const cloudDone = (await cloudApi('GET', '/v1/imports/reduce')).body;
    assert.equal(cloudDone.state, 'done');
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, closeSync, writeSync, ftruncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskDigestOf, TestCa, TestCert } from '@hdm/appliance-common';
import { controlClient, LeaseStandIn, MiB, Service, sha256hex, startService, waitFor, WanRelay } from './harness';

const CLOUD_PKG = join(__dirname, '../..');
const PREM_PKG = join(__dirname, '../../../prem-manager');
const ESXI_PKG = join(__dirname, '../../../esxi-manager');

/**
 * Cold migration end to end on 127.0.0.1: the plugin server's part is played by this test
 * (control clients with a plugin-server certificate), the two vCenters' lease endpoints by a
 * local HTTPS stand-in, prem-manager and cloud-manager run as real child processes.
 */
describe('cold migration: prem-manager → cloud-manager', () => {
  let dir: string;
  const ca = new TestCa('HDM Root CA (test)');
  const foreignCa = new TestCa('Foreign CA');
  let plugin: TestCert;
  let intruder: TestCert;
  let premArgs: string[];
  let cloudArgs: string[];
  const lease = new LeaseStandIn();
  let cloud: Service;
  let prem: Service;
  let cloudApi: ReturnType<typeof controlClient>;
  let premApi: ReturnType<typeof controlClient>;
  let cloudData: { host: string; port: number };
  const disk0 = randomBytes(64 * MiB);
  const disk1 = randomBytes(3 * MiB + 4321);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hdm-migration-'));
    const pki = join(dir, 'pki');
    const c = ca.issueToDir(pki, 'cloud', 'cloud-manager', { passphrase: 'cloud key secret' });
    const p = ca.issueToDir(pki, 'prem', 'prem-manager');
    plugin = ca.issue('plugin-server', { usage: 'client' });
    intruder = foreignCa.issue('plugin-server', { usage: 'client' });
    lease.disks.set('vm-1/disk-0.vmdk', disk0);
    lease.disks.set('vm-1/disk-1.vmdk', disk1);
    lease.disks.set('vm-2/disk-0.vmdk', disk1);
    lease.disks.set('vm-3/disk-0.vmdk', disk0.subarray(0, 24 * MiB));
    await lease.start();
    cloudArgs = [
      '--listen', '127.0.0.1:0', '--data-listen', '127.0.0.1:0',
      '--cert', c.files!.cert, '--key', c.files!.key, '--ca', c.files!.ca, '--key-passphrase-file', c.files!.passphrase!,
      '--state-dir', join(dir, 'cloud-state'),
    ];
    cloud = await startService(CLOUD_PKG, cloudArgs);
    premArgs = ['--listen', '127.0.0.1:0', '--cert', p.files!.cert, '--key', p.files!.key, '--ca', p.files!.ca, '--state-dir', join(dir, 'prem-state')];
    prem = await startService(PREM_PKG, premArgs);
    cloudApi = controlClient(cloud.ready.control, plugin, ca.certPem);
    premApi = controlClient(prem.ready.control, plugin, ca.certPem);
    const [host, port] = cloud.ready.data!.split(':');
    cloudData = { host: host!, port: Number(port) };
  });

  after(async () => {
    for (const s of [prem, cloud]) if (s && s.child.exitCode === null) s.child.kill('SIGTERM');
    await Promise.all([prem?.exited, cloud?.exited]);
    await lease.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const importBody = (id: string, disks: Array<[string, Buffer]>) => ({
    id,
    disks: disks.map(([name, buf], i) => ({ key: `disk-${i}`, size: buf.length, uploadUrl: `${lease.url}/upload/${name}`, cookie: lease.cookie, thumbprint: lease.cert.sha1 })),
  });
  const exportBody = (id: string, disks: Array<[string, Buffer]>, cloudAt = cloudData) => ({
    id,
    disks: disks.map(([name, buf], i) => ({ key: `disk-${i}`, size: buf.length, sourceUrl: `${lease.url}/${name}`, cookie: lease.cookie, thumbprint: lease.cert.sha1 })),
    cloud: { ...cloudAt, expectedRole: 'cloud-manager' },
  });
  const untilDone = (api: ReturnType<typeof controlClient>, path: string) =>
    waitFor(`${path} done`, async () => {
      const r = await api('GET', path);
      if (r.body.state === 'failed' || r.body.state === 'cancelled') throw new Error(`${path} ${r.body.state}: ${JSON.stringify(r.body)}`);
      return r.body.state === 'done' ? r.body : undefined;
    });

  it('migrates two disks bit-identical (SHA-256 end to end) and reports progress', async () => {
    const disks: Array<[string, Buffer]> = [['vm-1/disk-0.vmdk', disk0], ['vm-1/disk-1.vmdk', disk1]];
    const imp = await cloudApi('POST', '/v1/imports', importBody('vm-1', disks));
    assert.equal(imp.status, 201, JSON.stringify(imp.body));
    assert.equal(imp.body.state, 'waiting');
    const t0 = performance.now();
    const exp = await premApi('POST', '/v1/exports', exportBody('vm-1', disks));
    assert.equal(exp.status, 201, JSON.stringify(exp.body));
    let sawRate = 0;
    const done = await waitFor('export done', async () => {
      const r = await premApi('GET', '/v1/exports/vm-1');
      sawRate = Math.max(sawRate, r.body.rateBytesPerSec ?? 0);
      if (r.body.state === 'failed') throw new Error(JSON.stringify(r.body));
      return r.body.state === 'done' ? r.body : undefined;
    });
    const seconds = (performance.now() - t0) / 1000;
    const total = disk0.length + disk1.length;
    // Reported for the record (README): loopback throughput of the whole path.
    process.stderr.write(`# loopback throughput: ${(total / MiB / seconds).toFixed(1)} MiB/s (${total} bytes in ${seconds.toFixed(2)} s)\n`);
    assert.equal(done.bytesDone, total);
    assert.equal(done.bytesTotal, total);
    assert.deepEqual(done.disks.map((d: { sha256: string }) => d.sha256), [diskDigestOf(disk0), diskDigestOf(disk1)]);
    const cloudDone = await untilDone(cloudApi, '/v1/imports/vm-1');
    assert.deepEqual(cloudDone.disks.map((d: { sha256: string }) => d.sha256), [diskDigestOf(disk0), diskDigestOf(disk1)]);
    assert.equal(sha256hex(lease.stored.get('upload/vm-1/disk-0.vmdk')!), sha256hex(disk0));
    assert.equal(sha256hex(lease.stored.get('upload/vm-1/disk-1.vmdk')!), sha256hex(disk1));
    // Done jobs are durable and a second POST of the same id is a conflict.
    assert.equal((await premApi('POST', '/v1/exports', exportBody('vm-1', disks))).status, 409);
    assert.equal((await cloudApi('POST', '/v1/imports', importBody('vm-1', disks))).status, 409);
    const saved = JSON.parse(readFileSync(join(dir, 'prem-state/jobs/vm-1.json'), 'utf8'));
    assert.equal(saved.state, 'done');
  });

  it('reads a thin VMDK through the Prem ESXi Manager (allocated extents only), falls back to NFC when it does not answer', async () => {
    // A thin flat VMDK on the ESXi Manager's datastore: 2 MiB of data at each end, holes between.
    const ds = join(dir, 'ds');
    mkdirSync(join(ds, 'vm-4'), { recursive: true });
    const image = Buffer.alloc(24 * MiB);
    randomBytes(2 * MiB).copy(image, 0);
    randomBytes(2 * MiB).copy(image, image.length - 2 * MiB);
    const fd = openSync(join(ds, 'vm-4', 'vm-4-flat.vmdk'), 'w');
    ftruncateSync(fd, image.length);
    writeSync(fd, image, 0, 2 * MiB, 0);
    writeSync(fd, image, image.length - 2 * MiB, 2 * MiB, image.length - 2 * MiB);
    closeSync(fd);
    writeFileSync(join(ds, 'vm-4', 'vm-4.vmdk'), `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="vmfs"\n\nRW ${image.length / 512} VMFS "vm-4-flat.vmdk"\n`);
    const e = ca.issueToDir(join(dir, 'pki'), 'esxi', 'esxi-manager');
    const esxi = await startService(ESXI_PKG, [
      '--listen', '127.0.0.1:0', '--data-listen', '127.0.0.1:0', '--vmdk-read-listen', '127.0.0.1:0', '--vmdk-write-listen', '127.0.0.1:0',
      '--datastore', `ds=${ds}`, '--cert', e.files!.cert, '--key', e.files!.key, '--ca', e.files!.ca, '--state-dir', join(dir, 'esxi-state'),
    ]);
    try {
      const at = (hostPort: string) => ({ host: hostPort.split(':')[0]!, port: Number(hostPort.split(':')[1]) });
      const source = { control: at(esxi.ready.control), data: at(esxi.ready.data!), path: '[ds] vm-4/vm-4.vmdk' };
      lease.disks.set('vm-4/disk-0.vmdk', image);
      const cases: Array<[string, object, string]> = [
        ['thin-1', { esxi: source }, 'esxi'],
        // Nothing listens on the ESXi Manager's port any more: the NFC URL carries the disk.
        ['thin-2', { esxi: { ...source, control: { host: '127.0.0.1', port: 1 } }, sourceUrl: `${lease.url}/vm-4/disk-0.vmdk`, cookie: lease.cookie, thumbprint: lease.cert.sha1 }, 'nfc'],
      ];
      for (const [id, src, via] of cases) {
        assert.equal((await cloudApi('POST', '/v1/imports', importBody(id, [[`${id}/disk-0.vmdk`, image]]))).status, 201);
        const exp = await premApi('POST', '/v1/exports', { id, disks: [{ key: 'disk-0', size: image.length, ...src }], cloud: { ...cloudData, expectedRole: 'cloud-manager' } });
        assert.equal(exp.status, 201, JSON.stringify(exp.body));
        const done = await untilDone(premApi, `/v1/exports/${id}`);
        assert.equal(done.disks[0].via, via);
        assert.equal(done.disks[0].sha256, diskDigestOf(image));
        await untilDone(cloudApi, `/v1/imports/${id}`);
        assert.equal(sha256hex(lease.stored.get(`upload/${id}/disk-0.vmdk`)!), sha256hex(image));
      }
      // A disk with no source at all is refused before anything starts.
      const none = await premApi('POST', '/v1/exports', { id: 'thin-3', disks: [{ key: 'disk-0', size: image.length }], cloud: { ...cloudData, expectedRole: 'cloud-manager' } });
      assert.equal(none.status, 400);
      assert.match(JSON.stringify(none.body), /sourceUrl or an esxi source/);
    } finally {
      esxi.child.kill('SIGTERM');
      await esxi.exited;
    }
  });

  it('answers 400 listing every bad field, 404 for an unknown id', async () => {
    const bad = await premApi('POST', '/v1/exports', {
      id: '../etc',
      disks: [{ key: 'disk-0', size: -1, sourceUrl: 'ftp://x', thumbprint: 'nope' }],
      cloud: { host: '127.0.0.1', port: 70000, expectedRole: 'esxi-manager' },
    });
    assert.equal(bad.status, 400);
    for (const f of ['id', 'disks.0.size', 'disks.0.sourceUrl', 'disks.0.thumbprint', 'cloud.port', 'cloud.expectedRole']) {
      assert.ok(bad.body.fields.includes(f), `${f} listed in ${JSON.stringify(bad.body.fields)}`);
    }
    assert.match(bad.body.error, /invalid request body/);
    const bad2 = await cloudApi('POST', '/v1/imports', { id: 'x', disks: [{ key: 'd', size: 'big' }] });
    assert.equal(bad2.status, 400);
    assert.deepEqual(bad2.body.fields.sort(), ['disks.0.size', 'disks.0.uploadUrl'].sort());
    assert.equal((await cloudApi('POST', '/v1/imports', 'not json')).status, 400);
    assert.equal((await premApi('GET', '/v1/exports/nope')).status, 404);
    assert.equal((await cloudApi('GET', '/v1/imports/nope')).status, 404);
    assert.equal((await cloudApi('DELETE', '/v1/imports/nope')).status, 404);
  });

  it('refuses a control client whose certificate comes from a foreign CA, and logs why', async () => {
    const foreign = controlClient(cloud.ready.control, intruder, ca.certPem);
    const r = await foreign('GET', '/v1/imports/vm-1').then((x) => x.status, (e: Error) => e.message);
    assert.notEqual(r, 200);
    await waitFor('refusal logged', async () => (/refused TLS client: certificate not issued by our CA/.test(cloud.stderr()) ? true : undefined), 3000);
    // prem-manager's certificate is from our CA but not a control client role.
    const premCert = { certPem: readFileSync(join(dir, 'pki/prem.crt.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'pki/prem.key.pem'), 'utf8'), caPem: ca.certPem, sha1: '' };
    const wrongRole = controlClient(cloud.ready.control, premCert, ca.certPem);
    const r2 = await wrongRole('GET', '/v1/imports/vm-1').then((x) => x.status, (e: Error) => e.message);
    assert.notEqual(r2, 200);
  });

  /** The offsets cloud-manager resumed at, from its log lines. */
  const resumedAt = (log: string, id: string): number[] =>
    log
      .split('\n')
      .filter((l) => l.includes('resuming disk at its durable prefix') && l.includes(`"import":"${id}"`))
      .map((l) => Number(JSON.parse(l).resumeFrom));

  it('reconnects after a WAN drop mid-disk and continues at the durable prefix (one PUT at the end)', async () => {
    const relay = new WanRelay(cloudData);
    await relay.start();
    lease.getDelayMs = 40;
    try {
      const disks: Array<[string, Buffer]> = [['vm-3/disk-0.vmdk', disk0.subarray(0, 24 * MiB)]];
      assert.equal((await cloudApi('POST', '/v1/imports', importBody('vm-3', disks))).status, 201);
      assert.equal((await premApi('POST', '/v1/exports', exportBody('vm-3', disks, { host: '127.0.0.1', port: relay.port }))).status, 201);
      await waitFor('some progress', async () => ((await premApi('GET', '/v1/exports/vm-3')).body.bytesDone >= 4 * MiB ? true : undefined));
      assert.ok(relay.cut() > 0);
      const atCut = relay.bytesUp;
      lease.getDelayMs = 0;
      const done = await untilDone(premApi, '/v1/exports/vm-3');
      assert.equal(done.disks[0].sha256, diskDigestOf(disks[0]![1]));
      await untilDone(cloudApi, '/v1/imports/vm-3');
      assert.ok(lease.stored.get('upload/vm-3/disk-0.vmdk')!.equals(disks[0]![1]));
      assert.equal(lease.putAttempts.get('upload/vm-3/disk-0.vmdk'), 1, 'one PUT of the complete staged disk');
      assert.match(prem.stderr(), /reconnecting \(the disk continues at what cloud-manager holds durably\)/);
      const [from] = resumedAt(cloud.stderr(), 'vm-3');
      assert.ok(from !== undefined && from >= 4 * MiB, `resumed at ${from}`);
      // What crossed the relay after the cut is the rest of the disk, not the whole disk again.
      const size = disks[0]![1].length;
      assert.ok(relay.bytesUp - atCut <= size - from + MiB, `after the cut ${relay.bytesUp - atCut} bytes for ${size - from} missing`);
    } finally {
      lease.getDelayMs = 0;
      await relay.stop();
    }
  });

  it('survives kill -9 of prem-manager mid-transfer: GET still answers, a re-POST finishes bit-identical', async () => {
    const disks: Array<[string, Buffer]> = [['vm-2/disk-0.vmdk', disk1], ['vm-1/disk-0.vmdk', disk0]];
    assert.equal((await cloudApi('POST', '/v1/imports', importBody('vm-2', disks))).status, 201);
    lease.getDelayMs = 40;
    assert.equal((await premApi('POST', '/v1/exports', exportBody('vm-2', disks))).status, 201);
    await waitFor('second disk under way', async () => {
      const b = (await premApi('GET', '/v1/exports/vm-2')).body;
      return b.disks[0].state === 'done' && b.disks[1].bytesDone > 0 ? true : undefined;
    });
    prem.child.kill('SIGKILL');
    await prem.exited;
    lease.getDelayMs = 0;
    prem = await startService(PREM_PKG, premArgs);
    premApi = controlClient(prem.ready.control, plugin, ca.certPem);
    const after = await premApi('GET', '/v1/exports/vm-2');
    assert.equal(after.status, 200);
    assert.equal(after.body.state, 'failed');
    assert.match(after.body.error, /interrupted/);
    assert.equal(after.body.disks[0].state, 'done', 'the finished disk stays done');
    const again = await premApi('POST', '/v1/exports', exportBody('vm-2', disks));
    assert.equal(again.status, 201, JSON.stringify(again.body));
    const done = await untilDone(premApi, '/v1/exports/vm-2');
    assert.match(prem.stderr(), /cloud-manager holds a durable prefix: resuming there/);
    assert.ok(resumedAt(cloud.stderr(), 'vm-2').every((x) => x > 0));
    assert.deepEqual(done.disks.map((d: { sha256: string }) => d.sha256), [diskDigestOf(disk1), diskDigestOf(disk0)]);
    const cloudDone = await untilDone(cloudApi, '/v1/imports/vm-2');
    assert.equal(cloudDone.disks[1].sha256, diskDigestOf(disk0));
    assert.ok(lease.stored.get('upload/vm-2/disk-0.vmdk')!.equals(disk1));
    assert.ok(lease.stored.get('upload/vm-1/disk-0.vmdk')!.equals(disk0));
  });

  it('survives kill -9 of cloud-manager mid-disk: resumes at the checkpoint, re-sends only the unconfirmed tail', async () => {
    const relay = new WanRelay(cloudData);
    await relay.start();
    const disks: Array<[string, Buffer]> = [['vm-1/disk-0.vmdk', disk0]];
    try {
      assert.equal((await cloudApi('POST', '/v1/imports', importBody('vm-5', disks))).status, 201);
      lease.getDelayMs = 150;
      assert.equal((await premApi('POST', '/v1/exports', exportBody('vm-5', disks, { host: '127.0.0.1', port: relay.port }))).status, 201);
      // Past the first checkpoint (every 32 MiB or 1 s), so that a durable prefix exists at the kill.
      await waitFor('40 MiB received', async () => ((await cloudApi('GET', '/v1/imports/vm-5')).body.bytesDone >= 40 * MiB ? true : undefined));
      cloud.child.kill('SIGKILL');
      await cloud.exited;
      const atKill = relay.bytesUp;
      relay.cut();
      cloud = await startService(CLOUD_PKG, cloudArgs);
      cloudApi = controlClient(cloud.ready.control, plugin, ca.certPem);
      const [host, port] = cloud.ready.data!.split(':');
      cloudData = { host: host!, port: Number(port) };
      relay.target = cloudData;
      const restarted = (await cloudApi('GET', '/v1/imports/vm-5')).body;
      assert.ok(restarted.bytesDone > 0, `the durable prefix survives the restart: ${JSON.stringify(restarted)}`);
      lease.getDelayMs = 0;
      const done = await untilDone(premApi, '/v1/exports/vm-5');
      assert.equal(done.disks[0].sha256, diskDigestOf(disk0));
      const cloudDone = await untilDone(cloudApi, '/v1/imports/vm-5');
      assert.equal(cloudDone.disks[0].sha256, diskDigestOf(disk0));
      assert.ok(lease.stored.get('upload/vm-1/disk-0.vmdk')!.equals(disk0));
      const [from] = resumedAt(cloud.stderr(), 'vm-5');
      assert.ok(from !== undefined && from > 0 && from <= restarted.bytesDone, `resumed at ${from}`);
      const resent = relay.bytesUp - disk0.length;
      process.stderr.write(`# kill -9 cloud-manager: resumed at ${(from / MiB).toFixed(1)} MiB, ${(resent / MiB).toFixed(1)} MiB re-sent (${((atKill - from) / MiB).toFixed(1)} MiB crossed before the kill beyond the checkpoint)\n`);
      assert.ok(resent <= atKill - from + MiB, `re-sent ${resent} ≤ unconfirmed ${atKill - from} (+ framing)`);
      assert.ok(resent <= 64 * MiB);
      assert.equal(readdirSync(join(dir, 'cloud-state/work/vm-5')).length, 0, 'staged image removed once uploaded');
    } finally {
      lease.getDelayMs = 0;
      await relay.stop();
    }
  });

  it('cancels an import with DELETE and refuses its data connections afterwards', async () => {
    const disks: Array<[string, Buffer]> = [['vm-2/disk-0.vmdk', disk1]];
    assert.equal((await cloudApi('POST', '/v1/imports', importBody('vm-4', disks))).status, 201);
    const del = await cloudApi('DELETE', '/v1/imports/vm-4');
    assert.equal(del.body.state, 'cancelled');
    assert.equal((await premApi('POST', '/v1/exports', exportBody('vm-4', disks))).status, 201);
    const failed = await waitFor('export refused', async () => {
      const b = (await premApi('GET', '/v1/exports/vm-4')).body;
      return b.state === 'failed' ? b : undefined;
    });
    assert.match(failed.error, /import-not-active/);
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkSlab, controlClient, EsxiDiskSource, parseHostPort, Service, startService, TestCa, TestCert, waitFor } from '@hdm/appliance-common';

const PKG = join(__dirname, '../..');
const MiB = 1 << 20;
const SIZE = 32 * MiB;
/** Written regions of the sparse disk (4 KiB aligned, so FIEMAP reports them exactly); the rest are holes. */
const REGIONS = [
  { start: 0, length: MiB },
  { start: 5 * MiB + 12 * 1024, length: 64 * 1024 },
  { start: 19 * MiB, length: 2 * MiB }, // across the 4 MiB chunk grid
  { start: SIZE - 4096, length: 4096 },
];

const vcsimDescriptor = (flat: string, sectors: number): string =>
  `# Disk DescriptorFile\nversion=1\nencoding="UTF-8"\nCID=0badc0de\nparentCID=ffffffff\ncreateType="vmfs"\n\n# Extent description\nRW ${sectors} VMFS "${flat}"\n\n# The Disk Data Base\n#DDB\n\nddb.adapterType = "lsilogic"\nddb.thinProvisioned = "0"\nddb.virtualHWVersion = "13"\n`;

function sparseFile(path: string, size: number, regions: Array<{ start: number; length: number }>): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  for (const r of regions) writeSync(fd, randomBytes(r.length), 0, r.length, r.start);
  closeSync(fd);
}

/** Does FIEMAP work where the test writes its datastore? (asked of filefrag itself, not of the code under test) */
function fiemapWorks(dir: string): boolean {
  try {
    return /extents? found/.test(execFileSync('/usr/sbin/filefrag', ['-e', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return false;
  }
}

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function raw(hostPort: string, cert: TestCert, ca: string, method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer, agent?: https.Agent): Promise<RawReply & { reused: boolean }> {
  const { host, port } = parseHostPort(hostPort, 'x');
  return new Promise((resolve, reject) => {
    const req = https.request({ host, port, method, path, headers, cert: cert.certPem, key: cert.keyPem, ca, agent: agent ?? false, checkServerIdentity: () => undefined }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const diskQuery = (path: string): string => `/v1/disk?path=${encodeURIComponent(path)}`;

describe('esxi-manager: a real service over real files', () => {
  let dir: string;
  let ds: string;
  let flat: string;
  let svc: Service;
  let svc2: Service | undefined;
  const ca = new TestCa('HDM Root CA (test)');
  let prem: TestCert;
  let plugin: TestCert;
  let cache: TestCert;
  const DISK = '[ds1] app-01/app-01.vmdk';

  const source = (path = DISK, cert = prem, at = svc) =>
    EsxiDiskSource.open({
      identity: { cert: cert.certPem, key: cert.keyPem, ca: ca.certPem },
      control: parseHostPort(at.ready.control, 'control'),
      data: parseHostPort(at.ready.data!, 'data'),
      path,
      expectedRole: 'esxi-manager',
    });

  /** Reads a whole disk through the DiskSource in 4 MiB chunks, as sendDisk does. */
  const readAll = async (src: EsxiDiskSource): Promise<Buffer> => {
    const out = Buffer.alloc(src.size);
    for (let at = 0; at < src.size; at += 4 * MiB) {
      const chunk = await src.read(at, Math.min(4 * MiB, src.size - at));
      chunk.copy(out, at);
      ChunkSlab.shared.give(chunk);
    }
    return out;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hdm-esxi-'));
    ds = join(dir, 'ds1');
    mkdirSync(join(ds, 'app-01'), { recursive: true });
    flat = join(ds, 'app-01', 'app-01-flat.vmdk');
    sparseFile(flat, SIZE, REGIONS);
    writeFileSync(join(ds, 'app-01', 'app-01.vmdk'), vcsimDescriptor('app-01-flat.vmdk', SIZE / 512));
    // Two flat extents around a ZERO extent; the second starts 1 MiB into its file.
    sparseFile(join(ds, 'app-01', 'multi-f001.vmdk'), 3 * MiB, [{ start: MiB, length: MiB }]);
    writeFileSync(join(ds, 'app-01', 'multi-f002.vmdk'), randomBytes(3 * MiB));
    writeFileSync(join(ds, 'app-01', 'multi.vmdk'), `createType="twoGbMaxExtentFlat"\nRW ${(3 * MiB) / 512} FLAT "multi-f001.vmdk" 0\nRW ${MiB / 512} ZERO\nRW ${(2 * MiB) / 512} FLAT "multi-f002.vmdk" ${MiB / 512}\n`);
    writeFileSync(join(ds, 'app-01', 'sparse.vmdk'), 'createType="monolithicSparse"\nRW 8192 SPARSE "sparse-s001.vmdk"\n');
    const pki = join(dir, 'pki');
    const e = ca.issueToDir(pki, 'esxi', 'esxi-manager');
    prem = ca.issue('prem-manager', { usage: 'client' });
    plugin = ca.issue('plugin-server', { usage: 'client' });
    cache = ca.issue('cloud-cache', { usage: 'client' });
    svc = await startService(PKG, [
      '--listen', '127.0.0.1:0', '--data-listen', '127.0.0.1:0', '--vmdk-read-listen', '127.0.0.1:0', '--vmdk-write-listen', '127.0.0.1:0',
      '--cert', e.files!.cert, '--key', e.files!.key, '--ca', e.files!.ca, '--state-dir', join(dir, 'state'), '--datastore', `ds1=${ds}`,
    ]);
  });

  after(async () => {
    for (const s of [svc, svc2]) if (s && s.child.exitCode === null) s.child.kill('SIGTERM');
    await Promise.all([svc?.exited, svc2?.exited]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('announces its four listeners and answers health to the plugin server and prem-manager', async () => {
    for (const k of ['control', 'data', 'vmdkRead', 'vmdkWrite']) assert.match(svc.ready[k] ?? '', /^127\.0\.0\.1:\d+$/, k);
    for (const who of [plugin, prem]) {
      const h = await controlClient(svc.ready.control, who, ca.certPem)('GET', '/v1/health');
      assert.deepEqual(h, { status: 200, body: { role: 'esxi-manager', ok: true, datastores: ['ds1'] } });
    }
    await assert.rejects(controlClient(svc.ready.control, cache, ca.certPem)('GET', '/v1/health'), 'cloud-cache is not a control client');
  });

  it('describes a disk: size and allocated extents (FIEMAP), 4xx for bad paths', async () => {
    const api = controlClient(svc.ready.control, prem, ca.certPem);
    const r = await api('GET', `/v1/disks?path=${encodeURIComponent(DISK)}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.size, SIZE);
    assert.equal(r.body.path, DISK);
    if (fiemapWorks(ds)) {
      assert.equal(r.body.extentSource, 'fiemap');
      assert.deepEqual(r.body.allocated, REGIONS);
      assert.equal(r.body.allocatedBytes, REGIONS.reduce((n, x) => n + x.length, 0));
    } else {
      assert.equal(r.body.extentSource, 'full');
      assert.deepEqual(r.body.allocated, [{ start: 0, length: SIZE }]);
    }
    const code = async (q: string) => (await api('GET', `/v1/disks${q}`)).status;
    assert.equal(await code(''), 400);
    assert.equal(await code(`?path=${encodeURIComponent('[ds1] ../../etc/passwd.vmdk')}`), 400);
    assert.equal(await code(`?path=${encodeURIComponent('[ds9] app-01/app-01.vmdk')}`), 404);
    assert.equal(await code(`?path=${encodeURIComponent('[ds1] app-01/none.vmdk')}`), 404);
    const sparse = await api('GET', `/v1/disks?path=${encodeURIComponent('[ds1] app-01/sparse.vmdk')}`);
    assert.equal(sparse.status, 422);
    assert.match(sparse.body.error, /monolithicSparse/);
  });

  it('EsxiDiskSource reads the whole disk bit-identical and fetches no hole bytes', async () => {
    const src = await source();
    try {
      assert.equal(src.size, SIZE);
      assert.ok(readFileSync(flat).equals(await readAll(src)));
      assert.equal(src.bytesFetched, src.allocatedBytes, 'every allocated byte once, no hole byte');
      if (src.info.extentSource === 'fiemap') assert.ok(src.bytesFetched < SIZE / 8, `${src.bytesFetched} of ${SIZE} fetched`);
      // Unaligned reads across holes and extents.
      for (const [off, len] of [[MiB - 10, 20], [5 * MiB, 100_000], [SIZE - 5000, 5000], [7, 0]] as const) {
        const b = await src.read(off, len);
        assert.ok(b.equals(readFileSync(flat).subarray(off, off + len)), `${off}+${len}`);
        ChunkSlab.shared.give(b);
      }
      await assert.rejects(src.read(SIZE - 1, 2), RangeError);
    } finally {
      await src.close();
    }
  });

  it('reads a disk of several flat extents and a ZERO extent', async () => {
    const src = await source('[ds1] app-01/multi.vmdk');
    try {
      const f1 = readFileSync(join(ds, 'app-01', 'multi-f001.vmdk'));
      const f2 = readFileSync(join(ds, 'app-01', 'multi-f002.vmdk'));
      const expected = Buffer.concat([f1, Buffer.alloc(MiB), f2.subarray(MiB, 3 * MiB)]);
      assert.equal(src.size, 6 * MiB);
      assert.ok((await readAll(src)).equals(expected));
      assert.equal(src.bytesFetched, src.allocatedBytes);
      if (src.info.extentSource === 'fiemap') assert.deepEqual(src.info.allocated, [{ start: MiB, length: MiB }, { start: 4 * MiB, length: 2 * MiB }]);
    } finally {
      await src.close();
    }
  });

  it('serves exact ranges (206) on the data and VMDK read ports over kept-alive connections; 416 for bad ranges', async () => {
    const bytes = readFileSync(flat);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const port of [svc.ready.data!, svc.ready.vmdkRead!]) {
        const a = await raw(port, prem, ca.certPem, 'GET', diskQuery(DISK), { Range: `bytes=${MiB - 3}-${MiB + 2}` }, undefined, agent);
        assert.equal(a.status, 206);
        assert.equal(a.headers['content-range'], `bytes ${MiB - 3}-${MiB + 2}/${SIZE}`);
        assert.ok(a.body.equals(bytes.subarray(MiB - 3, MiB + 3)));
        const b = await raw(port, prem, ca.certPem, 'GET', diskQuery(DISK), { Range: `bytes=-4096` }, undefined, agent);
        assert.ok(b.body.equals(bytes.subarray(SIZE - 4096)));
        assert.ok(b.reused, 'second request on the same connection');
      }
      const whole = await raw(svc.ready.data!, cache, ca.certPem, 'GET', diskQuery(DISK));
      assert.equal(whole.status, 200);
      assert.ok(whole.body.equals(bytes));
      for (const range of [`bytes=${SIZE}-`, 'bytes=5-1', 'bytes=0-1,4-5', 'pages=1-2']) {
        const r = await raw(svc.ready.data!, prem, ca.certPem, 'GET', diskQuery(DISK), { Range: range });
        assert.equal(r.status, 416, range);
      }
      assert.equal((await raw(svc.ready.data!, prem, ca.certPem, 'GET', diskQuery('[ds1] app-01/../x.vmdk'))).status, 400);
      assert.equal((await raw(svc.ready.data!, prem, ca.certPem, 'PUT', diskQuery(DISK), { 'Content-Range': `bytes 0-0/${SIZE}` }, Buffer.alloc(1))).status, 405);
    } finally {
      agent.destroy();
    }
  });

  it('refuses clients of a foreign CA and of the wrong role; EsxiDiskSource refuses a server of the wrong role', async () => {
    const foreign = new TestCa('Foreign CA').issue('prem-manager', { usage: 'client' });
    await assert.rejects(source(DISK, foreign));
    await assert.rejects(raw(svc.ready.data!, foreign, ca.certPem, 'GET', diskQuery(DISK)));
    await assert.rejects(raw(svc.ready.data!, plugin, ca.certPem, 'GET', diskQuery(DISK)), 'plugin-server may not read disks');
    await assert.rejects(raw(svc.ready.vmdkWrite!, plugin, ca.certPem, 'PUT', diskQuery(DISK), { 'Content-Range': `bytes 0-0/${SIZE}` }, Buffer.alloc(1)));
    await waitFor('refusals logged', async () => (/certificate not issued by our CA/.test(svc.stderr()) && /wrong role/.test(svc.stderr()) ? true : undefined), 5000);
    // A server whose certificate is not esxi-manager's: the client drops it before a request byte.
    // Its certificate does not name 127.0.0.1 either: the client must reach the role check (no host name check).
    const impostor = ca.issueToDir(join(dir, 'pki'), 'impostor', 'cloud-manager', { altNames: ['impostor.lab'] });
    svc2 = await startService(PKG, [
      '--listen', '127.0.0.1:0', '--data-listen', '127.0.0.1:0', '--vmdk-read-listen', '127.0.0.1:0', '--vmdk-write-listen', '127.0.0.1:0',
      '--cert', impostor.files!.cert, '--key', impostor.files!.key, '--ca', impostor.files!.ca, '--state-dir', join(dir, 'state2'), '--datastore', `ds1=${ds}`,
    ]);
    await assert.rejects(source(DISK, prem, svc2), (err: Error & { code?: string }) => err.code === 'ERR_HDM_PEER_ROLE' && /expected role "esxi-manager"/.test(err.message));
  });

  it('writes a range in place with PUT (204 after fdatasync), never growing the file; reads it back', async () => {
    const data = randomBytes(64 * 1024);
    const at = 10 * MiB; // inside a hole
    const put = (headers: Record<string, string | number>, body: Buffer, who = prem) => raw(svc.ready.vmdkWrite!, who, ca.certPem, 'PUT', diskQuery(DISK), headers, body);
    const w = await put({ 'Content-Range': `bytes ${at}-${at + data.length - 1}/${SIZE}`, 'Content-Length': data.length }, data);
    assert.equal(w.status, 204, w.body.toString());
    assert.equal(statSync(flat).size, SIZE);
    assert.ok(readFileSync(flat).subarray(at, at + data.length).equals(data));
    const src = await source();
    try {
      const b = await src.read(at - 100, data.length + 200);
      assert.ok(b.subarray(100, 100 + data.length).equals(data));
      assert.ok(b.subarray(0, 100).equals(Buffer.alloc(100)));
      if (src.info.extentSource === 'fiemap') assert.ok(src.info.allocated.some((r) => r.start <= at && r.start + r.length >= at + data.length), 'the written range is now allocated');
    } finally {
      await src.close();
    }
    // cloud-cache may write too (migrate-back); a tail write across the last block.
    const tail = randomBytes(10);
    assert.equal((await put({ 'Content-Range': `bytes ${SIZE - 10}-${SIZE - 1}/${SIZE}` }, tail, cache)).status, 204);
    assert.ok(readFileSync(flat).subarray(SIZE - 10).equals(tail));
    assert.equal((await put({ 'Content-Range': `bytes 0-9/${SIZE * 2}` }, Buffer.alloc(10))).status, 409);
    assert.equal((await put({ 'Content-Range': `bytes ${SIZE - 5}-${SIZE + 4}/${SIZE}` }, Buffer.alloc(10))).status, 416);
    assert.equal((await put({ 'Content-Range': 'bytes 0-9/x' }, Buffer.alloc(10))).status, 400);
    assert.equal((await put({ 'Content-Range': `bytes 0-9/${SIZE}`, 'Content-Length': 5 }, Buffer.alloc(5))).status, 400);
    assert.equal(statSync(flat).size, SIZE);
  });

  it('acknowledges nothing to a writer that disconnects mid-body, and keeps serving', async () => {
    const { host, port } = parseHostPort(svc.ready.vmdkWrite!, 'w');
    const req = https.request({ host, port, method: 'PUT', path: diskQuery(DISK), headers: { 'Content-Range': `bytes 0-${MiB - 1}/${SIZE}`, 'Content-Length': MiB }, cert: prem.certPem, key: prem.keyPem, ca: ca.certPem, agent: false, checkServerIdentity: () => undefined });
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', () => undefined);
    req.write(randomBytes(256 * 1024));
    await waitFor('body under way', async () => (req.socket && req.socket.bytesWritten > 128 * 1024 ? true : undefined), 5000);
    req.destroy();
    await waitFor('the cut write logged', async () => (/nothing acknowledged/.test(svc.stderr()) ? true : undefined), 5000);
    assert.equal(answered, false);
    const src = await source();
    assert.equal(src.size, SIZE);
    await src.close();
  });

  it('exits 2 listing every configuration problem', async () => {
    const child = spawn(process.execPath, [join(PKG, 'dist/src/main.js'), '--datastore', 'nodir', '--datastore', `x=${join(dir, 'missing')}`, '--cert', '/nope.pem', '--data-listen', 'bad'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 2);
    for (const re of [/--datastore: "nodir" is not name=\/directory/, /--datastore: datastore x: directory .* does not exist/, /--cert: file "\/nope.pem" does not exist/, /--data-listen: "bad" is not host:port/, /--key \(or HDM_KEY\) is required/]) assert.match(err, re);
  });
});

import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  AuthorizationManager, Datacenter, DatastoreFileError, HttpNfcLease, Inventory, OvfImportSpecError, OvfManager,
  ResourcePool, TaskError, VimClient, VimFault,
} from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';
import { tinyOvf } from './tiny-ovf';

const MiB = 1024 * 1024;

async function connect(site: VcsimSite): Promise<VimClient> {
  return VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
}

async function sha256(stream: AsyncIterable<Buffer | string>): Promise<{ hex: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of stream) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    h.update(b);
    size += b.length;
  }
  return { hex: h.digest('hex'), size };
}

describe('datastore files, authorization, export on the prem site', () => {
  let site: VcsimSite;
  let client: VimClient;
  let dc: Datacenter;

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    client = await connect(site);
    dc = (await Datacenter.find(client, 'prem-dc'))!;
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('stat and ranged download of app-01\'s flat disk match the file the simulator wrote', async () => {
    const files = dc.files();
    const flat = '[prem-ds] app-01/app-01-flat.vmdk';
    assert.deepEqual(await files.stat(flat), { size: 256 * MiB });
    const onDisk = fs.readFileSync(path.join(site.dataDir, 'prem-ds', 'app-01', 'app-01-flat.vmdk'));
    const part = await files.read(flat, { start: 3 * MiB + 17, end: 4 * MiB + 16 });
    assert.equal(part.length, MiB);
    assert.ok(part.equals(onDisk.subarray(3 * MiB + 17, 4 * MiB + 17)), 'range bytes equal');
    const whole = await sha256(await files.download(flat));
    assert.deepEqual(whole, { hex: createHash('sha256').update(onDisk).digest('hex'), size: 256 * MiB });
  });

  it('upload (stream) → stat → download round trip; missing files: stat undefined, download 404', async () => {
    const files = dc.files();
    const data = randomBytes(3 * MiB + 5);
    const p = '[prem-ds] hdm-test/round trip.bin';
    await files.upload(p, Readable.from([data.subarray(0, MiB), data.subarray(MiB)]), data.length);
    assert.deepEqual(await files.stat(p), { size: data.length });
    assert.ok((await files.read(p)).equals(data));
    await files.upload(p, Buffer.from('short'), 5);
    assert.equal((await files.read(p)).toString(), 'short', 'PUT replaces');
    assert.equal(await files.stat('[prem-ds] hdm-test/missing.bin'), undefined);
    await assert.rejects(files.read('[prem-ds] hdm-test/missing.bin'), (e: unknown) => e instanceof DatastoreFileError && e.status === 404);
    assert.throws(() => files.url('no-brackets/x'), /not a datastore path/);
  });

  it('/folder refuses requests without a session', async () => {
    const anon = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint });
    try {
      const files = new Datacenter(anon, dc.info).files();
      const res = await anon.transport.request(files.url('[prem-ds] app-01/app-01.vmdk'), { method: 'GET' });
      res.resume();
      assert.ok([401, 403].includes(res.statusCode ?? 0), `status ${res.statusCode}`);
      await assert.rejects(files.stat('[prem-ds] app-01/app-01.vmdk'), (e: unknown) => e instanceof DatastoreFileError);
    } finally {
      anon.close();
    }
  });

  it('DisableMethods(PowerOnVM_Task) makes power-on fail with MethodDisabled; EnableMethods restores it', async () => {
    const am = new AuthorizationManager(client);
    const vm = (await new Inventory(client).findVmByName('web-02'))!;
    assert.equal(await vm.powerState(), 'poweredOff');
    const source = 'com.hdm.test.vsphere';
    await am.disableMethods([vm.ref], ['PowerOnVM_Task'], 'com.hdm.test.migrating', source);
    try {
      await assert.rejects(vm.powerOnAndWait(), (e: unknown) =>
        (VimFault.is(e, 'MethodDisabled')) || (e instanceof TaskError && e.faultName === 'MethodDisabled'));
    } finally {
      await am.enableMethods([vm.ref], ['PowerOnVM_Task'], source);
    }
    await vm.powerOnAndWait();
    assert.equal(await vm.powerState(), 'poweredOn');
    await (await vm.powerOff()).wait();
  });

  it('ExportVm: lease ready, the disk URL serves exactly the datastore file, complete', async () => {
    const vm = (await new Inventory(client).findVmByName('app-01'))!;
    let lease: HttpNfcLease;
    lease = await vm.exportVm();
    let completed = false;
    try {
      const info = await lease.waitReady({ timeoutMs: 30_000 });
      assert.deepEqual(info.entity, vm.ref);
      const disks = (info.deviceUrl ?? []).filter((d) => d.disk);
      assert.equal(disks.length, 1, `one disk URL in ${JSON.stringify(info.deviceUrl)}`);
      const url = new URL(disks[0].url);
      assert.equal(url.host, new URL(site.url).host, '* replaced by the vCenter host');
      const stopKeepAlive = lease.keepAlive(() => 10, 200);
      try {
        const exported = await sha256(await lease.download(disks[0]));
        const fromDatastore = await sha256(await dc.files().download('[prem-ds] app-01/app-01-flat.vmdk'));
        assert.equal(fromDatastore.size, 256 * MiB);
        assert.deepEqual(exported, fromDatastore);
      } finally {
        stopKeepAlive();
      }
      await lease.progress(100);
      await lease.complete();
      completed = true;
    } finally {
      if (!completed) await lease.abort().catch(() => undefined);
    }
  });
});

describe('OVF import on the cloud site', () => {
  let site: VcsimSite;
  let client: VimClient;
  let dc: Datacenter;
  let pool: ResourcePool;
  let datastore: { ref: { type: string; value: string }; name: string };
  let network: { type: string; value: string };

  before(async () => {
    site = await startVcsim({ site: 'cloud' });
    client = await connect(site);
    dc = (await Datacenter.find(client, 'cloud-dc'))!;
    const inv = new Inventory(client);
    const root = (await inv.resourcePools()).find((p) => p.isRoot && p.owner?.name === 'cloud-cluster')!;
    pool = new ResourcePool(client, root.ref);
    datastore = (await inv.datastores()).find((d) => d.name === 'cloud-ds')!;
    network = (await inv.networks()).find((n) => n.name === 'VM Network')!.ref;
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('CreateImportSpec + ImportVApp of a one-disk OVF: lease ready, upload, keep-alive, complete, VM exists', async () => {
    const diskBytes = 4 * MiB;
    const data = randomBytes(diskBytes);
    const ovf = tinyOvf({ name: 'imported-01', diskBytes, fileSize: data.length });
    const spec = await new OvfManager(client).createImportSpec(ovf, pool.ref, datastore.ref, {
      entityName: 'imported-01', networkMapping: [{ name: 'VM Network', network }], diskProvisioning: 'thin',
    });
    assert.equal(spec.fileItem.length, 1);
    assert.equal(spec.fileItem[0].path, 'imported-01-disk1.vmdk');
    assert.equal(spec.importSpec._type, 'VirtualMachineImportSpec');

    const lease = await pool.importVApp(spec.importSpec, dc.info.vmFolder);
    let completed = false;
    try {
      const info = await lease.waitReady({ timeoutMs: 30_000 });
      const device = (info.deviceUrl ?? []).find((d) => d.importKey === spec.fileItem[0].deviceId);
      assert.ok(device, `device for ${spec.fileItem[0].deviceId} in ${JSON.stringify(info.deviceUrl)}`);
      assert.equal(new URL(device.url).host, new URL(site.url).host, '* replaced by the vCenter host');
      const stop = lease.keepAlive(() => 42, 50);
      await new Promise((r) => setTimeout(r, 300));
      stop();
      assert.equal((await lease.properties(['transferProgress'])).transferProgress, 42, 'keepAlive reported progress');
      await lease.upload(device, Readable.from([data]), data.length);
      await lease.progress(100);
      await lease.complete();
      completed = true;
    } finally {
      if (!completed) await lease.abort().catch(() => undefined);
    }
    const vm = await new Inventory(client).findVmByName('imported-01');
    assert.ok(vm, 'imported VM exists');
    const config = await vm.config();
    assert.equal(config.disks.length, 1);
    assert.equal(config.nics[0]?.network?.name, 'VM Network');

    // The uploaded bytes must be what the cloud datastore holds for the VM's disk.
    const files = dc.files();
    const flat = config.disks[0].fileName!.replace(/\.vmdk$/, '-flat.vmdk');
    const candidates = [flat, config.disks[0].fileName!];
    const stats = await Promise.all(candidates.map((p) => files.stat(p)));
    const hit = candidates.find((p, i) => stats[i]?.size === data.length);
    assert.ok(hit, `a disk file of ${data.length} bytes among ${candidates.join(', ')} (sizes ${stats.map((s) => s?.size).join(', ')})`);
    assert.ok((await files.read(hit)).equals(data), 'uploaded disk bytes read back from the cloud datastore');
  });

  it('CreateImportSpec errors surface as OvfImportSpecError', async () => {
    const bad = tinyOvf({ name: 'bad-01', diskBytes: MiB, fileSize: MiB })
      .replace('<rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>', '<rasd:ResourceSubType>no-such-controller</rasd:ResourceSubType>');
    await assert.rejects(new OvfManager(client).createImportSpec(bad, pool.ref, datastore.ref, { entityName: 'bad-01' }),
      (e: unknown) => e instanceof OvfImportSpecError && e.errors.length > 0 && /CreateImportSpec failed/.test(e.message));
    await assert.rejects(new OvfManager(client).createImportSpec('not xml', pool.ref, datastore.ref, { entityName: 'bad-02' }),
      (e: unknown) => VimFault.is(e, 'InvalidArgument'));
  });

  it('abort: an aborted import lease is gone', async () => {
    const ovf = tinyOvf({ name: 'aborted-01', diskBytes: MiB, fileSize: MiB });
    const spec = await new OvfManager(client).createImportSpec(ovf, pool.ref, datastore.ref, { entityName: 'aborted-01' });
    const lease = await pool.importVApp(spec.importSpec);
    await lease.waitReady({ timeoutMs: 30_000 });
    await lease.abort({ fault: { _type: 'RequestCanceled' }, localizedMessage: 'test abort' });
    await assert.rejects(lease.state(), (e: unknown) => VimFault.is(e, 'ManagedObjectNotFound'));
  });
});

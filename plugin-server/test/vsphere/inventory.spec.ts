import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Datacenter, Inventory, VimClient, VirtualMachine } from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';

/** Counts SOAP requests per method on a client (wraps transport.post). */
function countCalls(client: VimClient): { calls: string[]; restore(): void } {
  const t = client.transport;
  const orig = t.post.bind(t);
  const calls: string[] = [];
  t.post = (body: string, action: string) => {
    const m = /<soapenv:Body><(?:\w+:)?(\w+)/.exec(body) ?? /<(\w+) xmlns="urn:(?:internal)?vim25"/.exec(body);
    calls.push(m?.[1] ?? '?');
    return orig(body, action);
  };
  return { calls, restore: () => { t.post = orig; } };
}

async function connect(site: VcsimSite): Promise<VimClient> {
  return VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
}

describe('Inventory on the prem site', () => {
  let site: VcsimSite;
  let client: VimClient;

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    client = await connect(site);
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('vms(): the four lab VMs with config, disks, NICs and placement in one RetrievePropertiesEx', async () => {
    const counter = countCalls(client);
    const vms = await new Inventory(client).vms();
    counter.restore();
    assert.deepEqual(counter.calls, ['RetrievePropertiesEx'], `one round trip, got ${counter.calls.join(',')}`);
    assert.deepEqual(vms.map((v) => v.name), ['app-01', 'db-01', 'web-01', 'web-02']);
    const app = vms[0];
    assert.equal(app.powerState, 'poweredOff');
    assert.equal(app.guestId, 'otherLinux64Guest');
    assert.equal(app.numCPU, 2);
    assert.equal(app.memoryMB, 4096);
    assert.ok(app.firmware === undefined || ['bios', 'efi'].includes(app.firmware), `firmware ${app.firmware}`);
    assert.equal(app.hasSnapshot, false);
    assert.equal(app.datacenter, 'prem-dc');
    assert.equal(app.folder?.name, 'vm');
    assert.equal(app.resourcePool?.name, 'Resources');
    assert.match(app.host?.name ?? '', /^prem-esx-0[12]$/);
    assert.equal(app.disks.length, 1);
    const disk = app.disks[0];
    assert.equal(disk.capacityInBytes, 256 * 1024 * 1024);
    assert.equal(disk.fileName, '[prem-ds] app-01/app-01.vmdk');
    assert.equal(disk.thinProvisioned, false);
    assert.equal(typeof disk.key, 'number');
    assert.equal(typeof disk.controllerKey, 'number');
    assert.equal(typeof disk.unitNumber, 'number');
    assert.ok(disk.label.length > 0);
    assert.equal(app.nics.length, 1);
    const nic = app.nics[0];
    assert.equal(nic.adapterType, 'vmxnet3');
    assert.equal(nic.network?.name, 'VM Network');
    assert.ok(nic.network?.moid, 'network moid resolved');
    assert.ok(nic.label.length > 0);
    const db = vms.find((v) => v.name === 'db-01')!;
    assert.equal(db.powerState, 'poweredOn');
    assert.equal(db.disks[0].capacityInBytes, 64 * 1024 * 1024);
    assert.deepEqual([db.numCPU, db.memoryMB], [4, 8192]);
  });

  it('VirtualMachine.config() agrees with the inventory; snapshotCount() is 0', async () => {
    const fromInventory = (await new Inventory(client).vms()).find((v) => v.name === 'app-01')!;
    const vm = new VirtualMachine(client, fromInventory.ref);
    const config = await vm.config();
    assert.deepEqual({ ...config, datacenter: 'prem-dc' }, fromInventory);
    assert.equal(await vm.snapshotCount(), 0);
  });

  it('clusters, resource pools (with owner cluster), datastores, networks, VM folders, datacenters', async () => {
    const inv = new Inventory(client);
    const counter = countCalls(client);
    const [clusters, pools, datastores, networks, folders, dcs] = [
      await inv.clusters(), await inv.resourcePools(), await inv.datastores(), await inv.networks(), await inv.vmFolders(),
      await inv.datacenters(),
    ];
    counter.restore();
    assert.deepEqual(counter.calls, Array(6).fill('RetrievePropertiesEx'));

    assert.deepEqual(clusters.map((c) => c.name), ['prem-cluster']);
    assert.deepEqual(clusters[0].hosts.map((h) => h.name).sort(), ['prem-esx-01', 'prem-esx-02']);
    assert.equal(clusters[0].datacenter, 'prem-dc');
    const root = pools.find((p) => p.moid === clusters[0].resourcePool);
    assert.ok(root, 'the cluster root pool is listed');
    assert.equal(root.isRoot, true);
    assert.equal(root.name, 'Resources');
    assert.deepEqual(root.owner, { moid: clusters[0].moid, name: 'prem-cluster', type: 'ClusterComputeResource' });

    assert.deepEqual(datastores.map((d) => d.name), ['prem-ds']);
    const ds = datastores[0];
    assert.equal(ds.datacenter, 'prem-dc');
    assert.ok(ds.capacity > 0 && ds.freeSpace > 0 && ds.freeSpace <= ds.capacity, `capacity ${ds.capacity} free ${ds.freeSpace}`);
    assert.ok(ds.url.length > 0);
    assert.ok(clusters[0].datastores.includes(ds.moid));

    const vmNet = networks.find((n) => n.name === 'VM Network');
    assert.ok(vmNet, `VM Network in ${networks.map((n) => n.name).join(',')}`);
    assert.equal(vmNet.type, 'Network');
    assert.equal(vmNet.datacenter, 'prem-dc');

    const vmFolder = folders.find((f) => f.isRoot);
    assert.deepEqual(vmFolder && { name: vmFolder.name, path: vmFolder.path, dc: vmFolder.datacenter }, { name: 'vm', path: 'prem-dc/vm', dc: 'prem-dc' });
    assert.deepEqual(dcs.map((d) => [d.name, d.path, d.vmFolder.value]), [['prem-dc', 'prem-dc', vmFolder!.moid]]);
  });

  it('findVmByName, findByMoid (typed, untyped, missing), Datacenter.find', async () => {
    const inv = new Inventory(client);
    const app = await inv.findVmByName('app-01');
    assert.ok(app);
    assert.equal(await app.name(), 'app-01');
    assert.equal(await inv.findVmByName('no-such-vm'), undefined);
    assert.equal(await inv.findVmByName('app-01', 'other-dc'), undefined);
    assert.deepEqual(await inv.findByMoid(app.ref.value, 'VirtualMachine'), { ref: app.ref, name: 'app-01' });
    assert.deepEqual(await inv.findByMoid(app.ref.value), { ref: app.ref, name: 'app-01' });
    assert.equal(await inv.findByMoid('vm-no-such', 'VirtualMachine'), undefined);
    assert.equal(await inv.findByMoid('vm-no-such'), undefined);
    const dc = await Datacenter.find(client, 'prem-dc');
    assert.equal(dc?.name, 'prem-dc');
    const children = await dc!.vmFolder().childEntities();
    assert.ok(children.some((c) => c.value === app.ref.value));
    assert.equal(await Datacenter.find(client, 'nope'), undefined);
  });

  it('paging: a small maxObjects still returns every VM', async () => {
    const vms = await new Inventory(client, { maxObjects: 1 }).vms();
    assert.equal(vms.length, 4);
  });
});

describe('Inventory on the cloud site', () => {
  let site: VcsimSite;
  let client: VimClient;

  before(async () => {
    site = await startVcsim({ site: 'cloud' });
    client = await connect(site);
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('no VMs; cloud-cluster with its root pool; cloud-ds; VM Network', async () => {
    const inv = new Inventory(client);
    assert.deepEqual(await inv.vms(), []);
    const clusters = await inv.clusters();
    assert.deepEqual(clusters.map((c) => [c.name, c.datacenter]), [['cloud-cluster', 'cloud-dc']]);
    assert.deepEqual(clusters[0].hosts.map((h) => h.name).sort(), ['cloud-esx-01', 'cloud-esx-02']);
    const pools = await inv.resourcePools();
    assert.ok(pools.some((p) => p.isRoot && p.owner?.name === 'cloud-cluster'));
    const ds = await inv.datastores();
    assert.deepEqual(ds.map((d) => d.name), ['cloud-ds']);
    assert.ok((await inv.networks()).some((n) => n.name === 'VM Network'));
    assert.equal(await inv.findVmByName('app-01'), undefined);
  });
});

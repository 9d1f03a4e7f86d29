import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ContentLibrary, DatastoreFiles, Inventory, retrieveOne, VapiClient, VapiError, VimClient } from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';
import { tinyOvf } from './tiny-ovf';

describe('ContentLibrary over vAPI REST (/rest)', () => {
  let site: VcsimSite;
  let vim: VimClient;
  let vapi: VapiClient;
  let cl: ContentLibrary;

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    vim = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
  });
  after(async () => {
    await vapi?.logout().catch(() => undefined);
    await vim?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('logs in with Basic credentials (wrong ones are 401)', async () => {
    await assert.rejects(VapiClient.login({ url: site.url, thumbprint: site.thumbprint }, site.username, 'wrong'),
      (e: unknown) => e instanceof VapiError && e.status === 401);
    vapi = await VapiClient.login({ url: site.url, thumbprint: site.thumbprint }, site.username, site.password);
    assert.ok(vapi.sessionId);
    cl = new ContentLibrary(vapi);
    assert.deepEqual(await cl.listLibraries(), [], 'an empty list (vCenter sends null)');
  });

  it('library on a datastore → OVF item uploaded through an update session → deploy → delete', async () => {
    const inv = new Inventory(vim);
    const [ds] = await inv.datastores();
    const pool = (await inv.resourcePools()).find((p) => p.isRoot)!;
    const net = (await inv.networks()).find((n) => n.name === 'VM Network')!;

    const libId = await cl.createLocalLibrary('hdm-appliances', ds.moid, 'HDM appliance catalog');
    assert.deepEqual(await cl.listLibraries(), [libId]);
    assert.deepEqual(await cl.findLibrary('hdm-appliances'), [libId]);
    const lib = await cl.getLibrary(libId);
    assert.equal(lib.name, 'hdm-appliances');
    assert.equal(lib.type, 'LOCAL');
    assert.deepEqual(lib.storageBackings, [{ type: 'DATASTORE', datastoreId: ds.moid }]);

    const itemId = await cl.createItem(libId, 'prem-manager', 'ovf');
    assert.deepEqual(await cl.listItems(libId), [itemId]);
    assert.equal((await cl.getItem(itemId)).name, 'prem-manager');

    const disk = randomBytes(64 * 1024);
    const ovf = Buffer.from(tinyOvf({ name: 'prem-manager', diskBytes: 1 << 20, fileSize: disk.length }));
    await cl.upload(itemId, [
      { name: 'prem-manager.ovf', data: ovf, size: ovf.length },
      { name: 'prem-manager-disk1.vmdk', data: disk, size: disk.length },
    ]);
    // The files are in the library's directory on the datastore, byte for byte.
    const files = new DatastoreFiles(vim, 'prem-dc');
    const stored = await files.read(`[${ds.name}] contentlib-${libId}/${itemId}/prem-manager-disk1.vmdk`);
    assert.ok(stored.equals(disk), 'disk file stored as uploaded');
    assert.ok((await files.read(`[${ds.name}] contentlib-${libId}/${itemId}/prem-manager.ovf`)).equals(ovf));

    const vmMoid = await cl.deployOvf(itemId, {
      name: 'prem-manager-01', resourcePool: pool.moid, datastore: ds.moid, networkMappings: { 'VM Network': net.moid },
    });
    const vm = await retrieveOne(vim, { type: 'VirtualMachine', value: vmMoid }, ['name', 'config.hardware.numCPU']);
    assert.equal(vm.name, 'prem-manager-01');

    await cl.deleteItem(itemId);
    assert.deepEqual(await cl.listItems(libId), []);
    await assert.rejects(cl.getItem(itemId), (e: unknown) => e instanceof VapiError && e.status === 404);
    await cl.deleteLibrary(libId);
    assert.deepEqual(await cl.listLibraries(), []);
  });

  it('logout ends the vAPI session', async () => {
    const id = vapi.sessionId;
    await vapi.logout();
    const again = new VapiClient({ url: site.url, thumbprint: site.thumbprint });
    again.sessionId = id;
    await assert.rejects(new ContentLibrary(again).listLibraries(), (e: unknown) => e instanceof VapiError && e.status === 401);
    again.close();
  });
});

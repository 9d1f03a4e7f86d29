import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Inventory, IoFilterManager, ManagedObjectReference, TaskError, VimClient, VimFault } from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';

const VIB = 'https://127.0.0.1:8443/vib/hdm-analyzer-1.0.0.vib';
const FILTER_ID = 'HDM_bootbank_hdm-analyzer_1.0.0';

function faultOf(e: unknown): string | undefined {
  return e instanceof TaskError ? e.faultName : undefined;
}

describe('IoFilterManager against hdm-vcsim (prem)', () => {
  let site: VcsimSite;
  let client: VimClient;
  let filters: IoFilterManager;
  let cluster: ManagedObjectReference;

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    client = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
    filters = new IoFilterManager(client);
    cluster = (await new Inventory(client).clusters()).find((c) => c.name === 'prem-cluster')!.ref;
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('install → query → install again (AlreadyExists) → uninstall unknown (NotFound) → uninstall', async () => {
    assert.deepEqual(await filters.query(cluster), []);
    const task = await filters.installTask(VIB, cluster);
    const progress: Array<number | undefined> = [];
    await task.wait((p) => progress.push(p));
    const info = await task.info();
    assert.equal(info.state, 'success');
    assert.equal(info.descriptionId, 'IoFilterManager.installIoFilter');
    assert.deepEqual(info.entity, cluster);

    const installed = await filters.query(cluster);
    assert.equal(installed.length, 1);
    assert.deepEqual(
      { id: installed[0].id, name: installed[0].name, version: installed[0].version, vendor: installed[0].vendor, opType: installed[0].opType, vibUrl: installed[0].vibUrl },
      { id: FILTER_ID, name: 'hdm-analyzer', version: '1.0.0', vendor: 'HDM', opType: 'install', vibUrl: VIB });

    await assert.rejects(filters.install('https://127.0.0.1:8443/vib/hdm-analyzer-1.1.0.vib', cluster), (e) => {
      assert.equal(faultOf(e), 'AlreadyExists');
      return true;
    });
    await assert.rejects(filters.install('https://127.0.0.1:8443/vib/readme.txt', cluster), (e) => faultOf(e) === 'InvalidArgument');
    await assert.rejects(filters.uninstall('HDM_bootbank_nothing_1.0', cluster), (e) => {
      assert.equal(faultOf(e), 'NotFound');
      return true;
    });
    await filters.uninstall(FILTER_ID, cluster);
    assert.deepEqual(await filters.query(cluster), []);
  });

  it('a compute resource is required: the root folder is InvalidArgument before any task', async () => {
    await assert.rejects(filters.installTask(VIB, client.serviceContent.rootFolder), (e) => VimFault.is(e, 'InvalidArgument'));
  });
});

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { AnalyzerProfile, HDM_ANALYZER_DESCRIPTION, HDM_ANALYZER_PROFILE } from '../../src/storage-policy';
import { Inventory, IoFilterManager, VimClient, VirtualMachine } from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';

describe('HDM Analyzer Profile against hdm-vcsim (prem)', () => {
  let site: VcsimSite;
  let client: VimClient;
  let profile: AnalyzerProfile;

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    client = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
    profile = await AnalyzerProfile.open(client);
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('ensure creates once, then finds it current; a changed policy is brought back', async () => {
    const created = await profile.ensure();
    assert.equal(created.action, 'created');
    assert.deepEqual(await profile.ensure(), { id: created.id, action: 'none' });
    const stored = (await profile.find())!;
    assert.equal(stored.name, HDM_ANALYZER_PROFILE);
    assert.equal(stored.description, HDM_ANALYZER_DESCRIPTION);

    await profile.modify({ description: 'changed by hand', filterName: 'other-filter' });
    assert.equal((await profile.find())!.description, 'changed by hand');
    assert.deepEqual(await profile.ensure(), { id: created.id, action: 'updated' });
    assert.equal((await profile.find())!.description, HDM_ANALYZER_DESCRIPTION);
    assert.deepEqual(await profile.ensure(), { id: created.id, action: 'none' });
  });

  it('on app-01: non-compliant until hdm-analyzer is installed on prem-cluster, then compliant', async () => {
    const vm = (await VirtualMachine.findByName(client, 'app-01'))!;
    const before = await profile.compliance(vm.ref);
    assert.equal(before.length, 1);
    assert.equal(before[0].status, 'notApplicable');
    await profile.applyTo(vm.ref);
    assert.deepEqual((await profile.compliance(vm.ref)).map((d) => [d.status, d.unmet]), [['nonCompliant', ['hdm-analyzer']]]);
    const cluster = (await new Inventory(client).clusters()).find((c) => c.name === 'prem-cluster')!.ref;
    await new IoFilterManager(client).install('https://127.0.0.1:8443/vib/hdm-analyzer-1.0.0.vib', cluster);
    assert.deepEqual((await profile.compliance(vm.ref)).map((d) => [d.status, d.unmet]), [['compliant', []]]);
  });

  it('remove deletes it (and its assignments); a second remove finds nothing', async () => {
    const vm = (await VirtualMachine.findByName(client, 'app-01'))!;
    assert.equal(await profile.remove(), true);
    assert.equal(await profile.find(), undefined);
    assert.equal((await profile.compliance(vm.ref))[0].status, 'notApplicable');
    assert.equal(await profile.remove(), false);
  });
});

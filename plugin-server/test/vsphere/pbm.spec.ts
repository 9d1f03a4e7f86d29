import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import {
  diskEntity, Inventory, IoFilterManager, PbmClient, PbmComplianceManager, PbmProfileManager, VcenterPool, VimClient, VimFault,
  VirtualDisk, VirtualMachine,
} from '../../src/vsphere';
import { USED_METHODS } from '../../src/vsphere/generated';
import { methodInfo } from '../../src/vsphere/soap/schema';
import { Rng, sampleValue, scramble } from '../support/vim-samples';
import { startVcsim, VcsimSite } from '../support/vcsim';

describe('PBM storage policies against hdm-vcsim (prem)', () => {
  let site: VcsimSite;
  let client: VimClient;
  let pbm: PbmClient;
  let profiles: PbmProfileManager;
  let compliance: PbmComplianceManager;

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    client = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
    pbm = await PbmClient.connect(client);
    profiles = new PbmProfileManager(pbm);
    compliance = new PbmComplianceManager(pbm);
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('PbmRetrieveServiceContent names the profile and compliance managers', () => {
    assert.deepEqual(pbm.serviceContent.profileManager, { type: 'PbmProfileProfileManager', value: 'ProfileManager' });
    assert.equal(pbm.serviceContent.complianceManager.type, 'PbmComplianceManager');
  });

  it('create → find by name → update → duplicate name refused', async () => {
    const id = await profiles.createPolicy('HDM Analyzer Profile', 'v1', { filterName: 'hdm-analyzer' });
    assert.match(id.uniqueId, /^[0-9a-f-]{36}$/);
    const found = await profiles.findPolicyByName('HDM Analyzer Profile');
    assert.equal(found?.profileId.uniqueId, id.uniqueId);
    assert.equal(found?._type, 'PbmCapabilityProfile');
    assert.equal(found?.description, 'v1');
    await profiles.updatePolicy(id, { description: 'v2' });
    const updated = await profiles.findPolicyByName('HDM Analyzer Profile');
    assert.equal(updated?.description, 'v2');
    assert.equal(updated?.generationId, 1);
    const constraints = updated?.constraints as unknown as { _type: string; subProfiles: Array<{ capability: Array<{ id: { namespace: string; id: string } }> }> };
    assert.equal(constraints._type, 'PbmCapabilitySubProfileConstraints');
    assert.deepEqual(constraints.subProfiles[0].capability[0].id, { namespace: 'com.vmware.storageprofile.dataservice', id: 'hdm-analyzer' });
    await assert.rejects(profiles.createPolicy('HDM Analyzer Profile', 'again', { filterName: 'hdm-analyzer' }),
      (e) => VimFault.is(e, 'PbmDuplicateName'));
    await assert.rejects(profiles.updatePolicy({ uniqueId: 'no-such-policy' }, { description: 'x' }), (e) => VimFault.is(e, 'PbmFaultNotFound'));
  });

  it('assigned to app-01\'s disk: nonCompliant before the IO filter is installed on its cluster, compliant after', async () => {
    const policy = (await profiles.findPolicyByName('HDM Analyzer Profile'))!.profileId;
    const vm = (await VirtualMachine.findByName(client, 'app-01'))!;
    const disk = ((await vm.properties(['config.hardware.device']))['config.hardware.device'] as Array<{ _type?: string }>)
      .find((d): d is VirtualDisk => d._type === 'VirtualDisk')!;
    const entity = diskEntity(vm.ref, disk.key);
    assert.equal((await compliance.checkCompliance([entity]))[0].complianceStatus, 'notApplicable');

    await (await profiles.assignToDisks(vm.ref, policy)).wait();
    assert.deepEqual(await profiles.associatedEntities(policy, 'virtualDiskId'), [entity]);
    assert.deepEqual((await profiles.associatedProfiles([entity]))[0].map((p) => p.uniqueId), [policy.uniqueId]);

    const before = (await compliance.checkCompliance([entity]))[0];
    assert.equal(before.complianceStatus, 'nonCompliant');
    assert.equal(before.profile?.uniqueId, policy.uniqueId);
    assert.equal(before.violatedPolicies?.[0].expectedValue.id.id, 'hdm-analyzer');

    const cluster = (await new Inventory(client).clusters()).find((c) => c.name === 'prem-cluster')!.ref;
    const filters = new IoFilterManager(client);
    await filters.install('https://127.0.0.1:8443/vib/hdm-analyzer-1.0.0.vib', cluster);
    const after = (await compliance.checkCompliance([entity]))[0];
    assert.equal(after.complianceStatus, 'compliant');
    assert.equal(after.violatedPolicies, undefined);

    await filters.uninstall((await filters.query(cluster))[0].id, cluster);
    assert.equal((await compliance.checkCompliance([entity]))[0].complianceStatus, 'nonCompliant');
  });

  it('assigning an unknown policy is refused; delete drops the policy and its associations', async () => {
    const vm = (await VirtualMachine.findByName(client, 'web-02'))!;
    await assert.rejects(profiles.assignToDisks(vm.ref, { uniqueId: 'no-such-policy' }), (e) => VimFault.is(e, 'InvalidArgument'));
    const policy = (await profiles.findPolicyByName('HDM Analyzer Profile'))!.profileId;
    await profiles.deletePolicy(policy);
    assert.equal(await profiles.findPolicyByName('HDM Analyzer Profile'), undefined);
    await assert.rejects(profiles.deletePolicy(policy), (e) => VimFault.is(e, 'PbmFaultNotFound'));
  });

  it('the strict /pbm layer accepts every PBM request the writer builds (sampled, keys scrambled)', async () => {
    const targets: Record<string, { type: string; value: string }> = {
      PbmRetrieveServiceContent: { type: 'PbmServiceInstance', value: 'ServiceInstance' },
      PbmCheckCompliance: pbm.serviceContent.complianceManager,
    };
    const pbmMethods = USED_METHODS.filter((m) => methodInfo(m)?.namespace === 'urn:pbm');
    assert.ok(pbmMethods.length >= 9);
    for (const method of pbmMethods) {
      for (let seed = 1; seed <= 3; seed++) {
        const args = sampleValue(methodInfo(method)!.requestType, new Rng(seed * 104729 + method.length), 3) as Record<string, unknown>;
        args._this = targets[method] ?? pbm.serviceContent.profileManager;
        try {
          await pbm.invoke(method as 'PbmQueryProfile', scramble(args) as never);
        } catch (e) {
          // Made-up ids and names may be refused, but never as a malformed request.
          assert.ok(VimFault.is(e) && e.faultName !== 'InvalidRequest', `${method} seed ${seed}: ${String(e)}`);
        }
      }
    }
  });

  it('pooled client: a PBM read after the session expired re-logs in once and repeats; a change is not repeated', async () => {
    const pool = new VcenterPool();
    try {
      const vim = await pool.get({ url: site.url, username: site.username, password: site.password, thumbprint: site.thumbprint });
      const pm = new PbmProfileManager(await PbmClient.connect(vim));
      await vim.invoke('Logout', { _this: vim.serviceContent.sessionManager! });
      const generation = vim.sessionGeneration;
      assert.equal(await pm.findPolicyByName('no such policy'), undefined);
      assert.equal(vim.sessionGeneration, generation + 1, 'one re-login');
      await vim.invoke('Logout', { _this: vim.serviceContent.sessionManager! });
      await assert.rejects(pm.createPolicy('after expiry', 'x', { filterName: 'hdm-analyzer' }), (e) => VimFault.is(e, 'NotAuthenticated'));
      assert.equal(vim.sessionGeneration, generation + 1, 'PbmCreate is not retried');
    } finally {
      await pool.onModuleDestroy();
    }
  });

  it('PBM calls carry the session as vcSessionCookie: without a session the server refuses them', async () => {
    const anon = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint });
    try {
      const p = await PbmClient.connect(anon);
      await assert.rejects(new PbmProfileManager(p).findPolicyByName('x'), (e) => VimFault.is(e, 'NotAuthenticated'));
    } finally {
      anon.close();
    }
  });
});

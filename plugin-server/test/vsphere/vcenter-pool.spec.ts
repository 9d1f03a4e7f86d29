import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { currentSession, EventManager, ExtensionManager, Inventory, VcenterEndpoint, VcenterPool, VimClient, VimFault, VsphereModule } from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';

/** Ends the session behind `client` on the server while the client keeps its (now stale) cookie. */
async function expireSession(client: VimClient): Promise<void> {
  await client.invoke('Logout', { _this: client.serviceContent.sessionManager! });
}

describe('VcenterPool (VsphereModule.register())', () => {
  let site: VcsimSite;
  let endpoint: VcenterEndpoint;

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    endpoint = { url: site.url, username: site.username, password: site.password, thumbprint: site.thumbprint };
  });
  after(async () => {
    await site?.stop();
  });

  it('one pooled session per (url, user); concurrent first gets share one login; module destroy logs out', async () => {
    const app = await NestFactory.createApplicationContext(VsphereModule.register({ timeoutMs: 20_000 }), { logger: false });
    const pool = app.get(VcenterPool);
    const [a, b] = await Promise.all([pool.get(endpoint), pool.get(endpoint)]);
    assert.equal(a, b);
    assert.equal(await pool.get({ ...endpoint, username: endpoint.username.toUpperCase() }), a, 'user names compare case-insensitively');
    assert.equal(pool.size, 1);
    assert.equal((await currentSession(a))?.userName, site.username);
    const cookie = a.sessionCookie;
    await app.close();
    assert.equal(pool.size, 0);
    // The session was logged out on the server: the old cookie no longer works.
    const probe = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint });
    try {
      probe.transport.sessionCookie = cookie;
      await assert.rejects(new ExtensionManager(probe).find('com.hdm.none'), (e: unknown) => VimFault.is(e, 'NotAuthenticated'));
    } finally {
      probe.close();
    }
    await assert.rejects(pool.get(endpoint), /closed/);
  });

  it('re-login once on NotAuthenticated for idempotent reads only', async () => {
    const pool = new VcenterPool();
    try {
      const client = await pool.get(endpoint);
      const app = (await new Inventory(client).findVmByName('app-01'))!;
      // (vcsim answers RetrievePropertiesEx even without a session, so FindExtension/QueryEvents,
      // which it does refuse, show the re-login.)
      await expireSession(client);
      const session = client.userSession?.key;
      assert.equal(await new ExtensionManager(client).find('com.hdm.none'), undefined, 'FindExtension retried after re-login');
      assert.notEqual(client.userSession?.key, session, 'a new session');
      assert.equal(await pool.get(endpoint), client, 'same pooled client after re-login');

      await expireSession(client);
      await assert.rejects(client.invoke('CreateContainerView', {
        _this: client.serviceContent.viewManager!, container: client.serviceContent.rootFolder, type: ['VirtualMachine'], recursive: true,
      }), (e: unknown) => VimFault.is(e, 'NotAuthenticated'), 'a non-read is not retried');
      // Concurrent reads after expiry share one re-login.
      let logins = 0;
      const relogin = client.reauthenticate!;
      client.reauthenticate = () => { logins++; return relogin(); };
      const results = await Promise.all([
        new ExtensionManager(client).find('com.hdm.none'), new EventManager(client).queryEventsFor(app.ref),
        new ExtensionManager(client).find('com.hdm.other'),
      ]);
      assert.equal(results[0], undefined);
      assert.ok(Array.isArray(results[1]));
      assert.equal(logins, 1, 'one shared re-login');
    } finally {
      await pool.onModuleDestroy();
    }
  });

  it('bad credentials are not cached; new credentials replace the pooled session', async () => {
    const pool = new VcenterPool();
    try {
      await assert.rejects(pool.get({ ...endpoint, password: 'wrong' }), (e: unknown) => VimFault.is(e, 'InvalidLogin'));
      assert.equal(pool.size, 0);
      const first = await pool.get(endpoint);
      await pool.release(endpoint);
      assert.equal(pool.size, 0);
      const second = await pool.get(endpoint);
      assert.notEqual(second, first);
      await assert.rejects(pool.get({ ...endpoint, password: 'changed-and-wrong' }), (e: unknown) => VimFault.is(e, 'InvalidLogin'));
      assert.equal(pool.size, 0, 'the replaced session is gone, the failed one not kept');
    } finally {
      await pool.onModuleDestroy();
    }
  });
});

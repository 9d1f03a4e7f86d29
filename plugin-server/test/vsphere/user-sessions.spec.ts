import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { currentSession, ExtensionManager, sessionIsActive, UserSessionPool, VimClient, VimFault } from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';

/** A minimal remote-plugin registration (vsphere-ui only issues clone tickets for a registered plug-in). */
async function registerPlugin(client: VimClient): Promise<void> {
  await new ExtensionManager(client).register({
    key: 'com.hdm.test.user-sessions',
    version: '1.0.0',
    description: { label: 'HDM test', summary: 'user sessions test' },
    company: 'HDM',
    type: 'com.vmware.vsphere.client.remoteplugin',
    client: [{ version: '1.0.0', description: { label: 'HDM', summary: 'plugin' }, company: 'HDM', type: 'vsphere-client-remote', url: 'https://127.0.0.1:1/plugin.json' }],
    server: [{ url: 'https://127.0.0.1:1/plugin.json', description: { label: 'HDM', summary: 'manifest' }, company: 'HDM', type: 'MANIFEST_SERVER', adminEmail: ['a@b.c'], serverThumbprint: 'AA:BB' }],
    shownInSolutionManager: false,
  });
}

describe('UserSessionPool (clone ticket from a vSphere Client session token)', () => {
  let site: VcsimSite;
  let admin: VimClient;
  let now = 1_000_000;
  let pool: UserSessionPool;

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    admin = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
    pool = new UserSessionPool({ url: site.url, thumbprint: site.thumbprint, ttlMs: 10_000, graceMs: 0, now: () => now });
  });
  after(async () => {
    await pool?.close();
    await admin?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('a token gives 403 NoPermission until a remote plug-in is registered', async () => {
    const user = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
    await assert.rejects(pool.acquire(user.sessionCookie!), (e: unknown) => VimFault.is(e, 'NoPermission'));
    await user.logout();
    await registerPlugin(admin);
  });

  it('clones the user session: same user, another session key, cached per token until the TTL', async () => {
    const user = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
    const token = user.sessionCookie!;
    const s = await pool.acquire(token);
    assert.equal(s.userName, site.username);
    assert.notEqual(s.sessionKey, token);
    const cs = await currentSession(s.client);
    assert.equal(cs?.key, s.sessionKey);
    assert.equal(cs?.userName, site.username);
    // Concurrent and repeated acquires share the clone.
    const [a, b] = await Promise.all([pool.acquire(token), pool.acquire(token)]);
    assert.equal(a.sessionKey, s.sessionKey);
    assert.equal(b.sessionKey, s.sessionKey);
    // After the TTL the clone is logged out and a new one made.
    now += 10_001;
    const fresh = await pool.acquire(token);
    assert.notEqual(fresh.sessionKey, s.sessionKey);
    assert.equal(await sessionIsActive(admin, s.sessionKey, site.username), false, 'the expired clone is logged out');
    assert.equal(await sessionIsActive(admin, fresh.sessionKey, site.username), true);
    // The user logs out: once the cached clone expires, the token is refused.
    await user.logout();
    now += 10_001;
    await assert.rejects(pool.acquire(token), (e: unknown) => VimFault.is(e, 'NotAuthenticated'));
    assert.equal(await sessionIsActive(admin, fresh.sessionKey, site.username), false, 'released on expiry');
  });

  it('a dead or made-up token → NotAuthenticated; release() logs the clone out', async () => {
    await assert.rejects(pool.acquire('52ab0000-dead-beef-0000-000000000000'), (e: unknown) => VimFault.is(e, 'NotAuthenticated'));
    const user = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
    const s = await pool.acquire(user.sessionCookie!);
    assert.equal(await sessionIsActive(admin, s.sessionKey, site.username), true);
    await pool.release(user.sessionCookie!);
    assert.equal(await sessionIsActive(admin, s.sessionKey, site.username), false);
    // sweep() retires clones whose token is not used again.
    const t = await pool.acquire(user.sessionCookie!);
    assert.equal(await pool.sweep(), 0);
    now += 10_001;
    assert.equal(await pool.sweep(), 1);
    assert.equal(pool.size, 0);
    assert.equal(await sessionIsActive(admin, t.sessionKey, site.username), false);
    await user.logout();
  });
});

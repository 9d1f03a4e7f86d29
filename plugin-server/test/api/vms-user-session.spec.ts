/**
 * /api/v1/vms reads in the user's own vCenter session: the plugin server clones the vSphere
 * Client session (vsphere-ui clone ticket → CloneSession) instead of using its own login.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { retrieveOne, VimClient } from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';
import { getJson, RunningServer, startPluginServer } from '../support/plugin-server';

function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  return send('GET', url, token);
}

function post(url: string, token: string | undefined, body: unknown): Promise<{ status: number; body: string }> {
  return send('POST', url, token, JSON.stringify(body));
}

function send(method: string, url: string, token?: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = token ? { 'vmware-api-session-id': token } : {};
    if (body) headers['content-type'] = 'application/json';
    const req = request(url, { method, rejectUnauthorized: false, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('VMs as the vSphere Client user (cloned session)', () => {
  let vc: VcsimSite;
  let server: RunningServer;
  let admin: VimClient;

  const sessions = async (): Promise<Array<{ key: string; userName: string }>> =>
    ((await retrieveOne(admin, admin.serviceContent.sessionManager!, ['sessionList'])).sessionList as Array<{ key: string; userName: string }>) ?? [];

  before(async () => {
    vc = await startVcsim({ site: 'prem' });
    server = await startPluginServer({ HDM_VC_URL: vc.url, HDM_VC_USERNAME: vc.username, HDM_VC_PASSWORD: vc.password, HDM_VC_THUMBPRINT: vc.thumbprint });
    for (let i = 0; i < 100; i++) {
      const h = await getJson<{ registration: { state: string } }>(`${server.url}/api/v1/health`);
      if (h.body.registration.state === 'registered') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    admin = await VimClient.connect({ url: vc.url, username: vc.username, password: vc.password, thumbprint: vc.thumbprint });
  });
  after(async () => {
    await admin?.logout().catch(() => undefined);
    await server?.stop();
    await vc?.stop();
  });

  test('authorized by vCenter privileges: ReadOnly reads but may not migrate, NoAccess gets 403 naming the privilege', async () => {
    const admin1 = await VimClient.connect({ url: vc.url, username: vc.username, password: vc.password, thumbprint: vc.thumbprint });
    const vms = JSON.parse((await get(`${server.url}/api/v1/vms`, admin1.sessionCookie)).body) as Array<{ moid: string }>;
    await admin1.logout();
    const viewer = await VimClient.connect({ url: vc.url, username: 'viewer@vsphere.local', password: vc.password, thumbprint: vc.thumbprint });
    try {
      const list = await get(`${server.url}/api/v1/vms`, viewer.sessionCookie);
      assert.equal(list.status, 200, list.body);
      const migrate = await post(`${server.url}/api/v1/migrations`, viewer.sessionCookie, { vm: vms[0].moid, cloud: 'cloud', kind: 'cold' });
      assert.equal(migrate.status, 403, migrate.body);
      assert.match(JSON.parse(migrate.body).message as string, /viewer@vsphere\.local.*VirtualMachine\.Provisioning\.GetVmFiles/);
    } finally {
      await viewer.logout();
    }
    for (const [user, missing] of [['noaccess@vsphere.local', 'System.Read']]) {
      const c = await VimClient.connect({ url: vc.url, username: user!, password: vc.password, thumbprint: vc.thumbprint });
      try {
        for (const path of ['/api/v1/vms', `/api/v1/vms/${vms[0].moid}`]) {
          const res = await get(`${server.url}${path}`, c.sessionCookie);
          assert.equal(res.status, 403, `${user} ${path}: ${res.status} ${res.body}`);
          const msg = JSON.parse(res.body).message as string;
          assert.match(msg, new RegExp(missing.replace(/\./g, '\\.')), msg);
          assert.match(msg, new RegExp(user), msg);
        }
      } finally {
        await c.logout();
      }
    }
  });

  test('list and detail are read in a clone of the user session, one clone per token', async () => {
    const user = await VimClient.connect({ url: vc.url, username: vc.username, password: vc.password, thumbprint: vc.thumbprint });
    const token = user.sessionCookie!;
    const before = new Set((await sessions()).map((s) => s.key));
    const list = await get(`${server.url}/api/v1/vms`, token);
    assert.equal(list.status, 200, list.body);
    const vms = JSON.parse(list.body) as Array<{ moid: string; name: string }>;
    assert.deepEqual(vms.map((v) => v.name).sort(), ['app-01', 'db-01', 'web-01', 'web-02']);
    const one = await get(`${server.url}/api/v1/vms/${vms[0].moid}`, token);
    assert.equal(one.status, 200, one.body);
    assert.equal(JSON.parse(one.body).name, vms[0].name);
    const added = (await sessions()).filter((s) => !before.has(s.key));
    assert.equal(added.length, 1, `one cloned session for the token, got ${JSON.stringify(added)}`);
    assert.equal(added[0].userName, vc.username);
    assert.notEqual(added[0].key, token);
    assert.equal((await get(`${server.url}/api/v1/vms/vm-99999`, token)).status, 404);
    // Logged out: once the cached clone (5 s) expires, the token is refused.
    await user.logout();
    await new Promise((r) => setTimeout(r, 5200));
    assert.equal((await get(`${server.url}/api/v1/vms`, token)).status, 401);
  });
});

// Integration: the client host against two real hdm-vcsim sites and the real plugin server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildExtension } from '@hdm/plugin-server/dist/src/plugin/extension-descriptor';
import { ExtensionManager, VimClient, VimFault } from '@hdm/plugin-server/dist/src/vsphere';
import { CLIENT_DIR } from '../client-host';
import { ClientHost } from './client-host-server';
import { HOST_COOKIE } from './host-sessions';
import { EXTENSION_KEY, fetchText, LAB_PASSWORD, LAB_USERNAME, missingPrerequisite, PluginServer, Site, startPluginServer, startSite } from './test-sites';

const skip = missingPrerequisite();
const FAKE_KEY = 'com.hdm.fake-thumbprint';
const WRONG_THUMBPRINT = '00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33';

describe('client host (vSphere-Client stand-in)', { skip }, () => {
  let prem: Site;
  let cloud: Site;
  let plugin: PluginServer;
  let host: ClientHost;
  let base: string;
  /** A second host configured for an extension registered with the wrong thumbprint. */
  let fakeHost: ClientHost;
  let fakeBase: string;
  let admin: VimClient;

  before(async () => {
    [prem, cloud] = await Promise.all([startSite('prem'), startSite('cloud')]);
    plugin = await startPluginServer(prem);
    host = new ClientHost({
      settings: () => ({ vcenter: { url: prem.url, thumbprint: prem.thumbprint }, extensionKey: EXTENSION_KEY, defaultUsername: LAB_USERNAME }),
      clientDir: CLIENT_DIR,
    });
    base = (await host.listen(0)).replace(/\/$/, '');
    admin = await VimClient.connect({ url: prem.url, thumbprint: prem.thumbprint, username: LAB_USERNAME, password: LAB_PASSWORD });
    await new ExtensionManager(admin).register(buildExtension({
      extensionKey: FAKE_KEY, version: '0.0.1', manifestUrl: plugin.manifestUrl, serverThumbprint: WRONG_THUMBPRINT,
    }));
    fakeHost = new ClientHost({
      settings: () => ({ vcenter: { url: prem.url, thumbprint: prem.thumbprint }, extensionKey: FAKE_KEY }),
      clientDir: CLIENT_DIR,
    });
    fakeBase = (await fakeHost.listen(0)).replace(/\/$/, '');
  });

  after(async () => {
    await fakeHost?.close();
    await host?.close();
    await admin?.logout().catch(() => undefined);
    await plugin?.stop();
    await Promise.all([prem?.stop(), cloud?.stop()]);
  });

  async function login(at: string, username = LAB_USERNAME, password = LAB_PASSWORD) {
    const res = await fetchText(`${at}/api/host/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }),
    });
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    const cookie = setCookie.map((c) => c.split(';')[0]!).find((c) => c.startsWith(`${HOST_COOKIE}=`));
    return { res, setCookie, cookie };
  }

  /** A client that uses `token` as its vmware_soap_session cookie (as the plugin server would). */
  async function clientWithToken(token: string): Promise<VimClient> {
    const c = await VimClient.connect({ url: prem.url, thumbprint: prem.thumbprint });
    c.transport.sessionCookie = token;
    return c;
  }

  test('serves the host page, the SDK at /api/ui/htmlClientSdk.js, and refuses the API without a session', async () => {
    const page = await fetchText(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<script src="host.js"/);
    const sdk = await fetchText(`${base}/api/ui/htmlClientSdk.js`);
    assert.equal(sdk.status, 200);
    assert.match(sdk.headers['content-type'] ?? '', /javascript/);
    assert.match(sdk.body, /getProxiedPluginServerOrigin/);
    assert.equal((await fetchText(`${base}/api/host/vms`)).status, 401);
    assert.equal((await fetchText(`${base}/../../package.json`)).status, 404);
  });

  test('wrong credentials: 401 with the vCenter fault message, no cookie', async () => {
    const { res, cookie } = await login(base, LAB_USERNAME, 'wrong-password');
    assert.equal(res.status, 401);
    const body = JSON.parse(res.body) as { error: string; message: string };
    assert.equal(body.error, 'InvalidLogin');
    assert.match(body.message, /Login failure/);
    assert.equal(cookie, undefined);
  });

  test('login keeps the vCenter session server-side; the token is the real vmware_soap_session; logout ends it', async () => {
    const { res, setCookie, cookie } = await login(base);
    assert.equal(res.status, 200, res.body);
    assert.ok(cookie, 'host session cookie set');
    assert.match(setCookie.join('\n'), /HttpOnly/);
    assert.match(setCookie.join('\n'), /SameSite=Strict/);
    const session = JSON.parse((await fetchText(`${base}/api/host/session`, { headers: { cookie } })).body) as {
      userName: string; serverGuid: string; sessionToken: string;
    };
    assert.equal(session.userName, LAB_USERNAME);
    assert.equal(session.serverGuid, admin.serviceContent.about.instanceUuid);
    assert.ok(session.sessionToken.length > 10);
    assert.ok(!cookie!.includes(session.sessionToken), 'the browser cookie is not the vCenter token');

    const asUser = await clientWithToken(session.sessionToken);
    try {
      assert.ok(await new ExtensionManager(asUser).find(EXTENSION_KEY), 'the token is a live vCenter session');
      const out = await fetchText(`${base}/api/host/logout`, { method: 'POST', headers: { cookie: cookie! } });
      assert.equal(out.status, 200);
      assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
      await assert.rejects(new ExtensionManager(asUser).find(EXTENSION_KEY), (e: unknown) => VimFault.is(e, 'NotAuthenticated'));
      assert.equal((await fetchText(`${base}/api/host/session`, { headers: { cookie: cookie! } })).status, 401);
    } finally {
      asUser.close();
    }
  });

  test('discovery: FindExtension → manifest fetched pinned to the registered thumbprint, labels resolved, URLs proxied', async () => {
    const { cookie } = await login(base);
    const res = await fetchText(`${base}/api/host/plugin`, { headers: { cookie: cookie! } });
    assert.equal(res.status, 200, res.body);
    const p = JSON.parse(res.body) as {
      extensionKey: string; manifestUrl: string; serverThumbprint: string; proxyBase: string; proxyOrigin: string; name: string;
      vmActions: Array<{ id: string; label: string; title: string; url: string; width: number; height: number }>;
      vmMonitorViews: Array<{ id: string; label: string; url: string }>;
      globalView?: { label: string; url: string };
    };
    assert.equal(p.extensionKey, EXTENSION_KEY);
    assert.equal(p.manifestUrl, plugin.manifestUrl);
    assert.equal(p.serverThumbprint, plugin.thumbprint.toUpperCase());
    assert.equal(p.proxyBase, `/plugins/${EXTENSION_KEY}`);
    assert.equal(p.proxyOrigin, `${base}/plugins/${EXTENSION_KEY}`);
    assert.equal(p.name, 'HDM');
    assert.deepEqual(p.vmActions, [{
      id: 'hdm.vm.migrate', label: 'Migrate to cloud', title: 'Migrate to cloud',
      url: `/plugins/${EXTENSION_KEY}/ui/index.html#/vm-migrate`, width: 720, height: 560,
    }]);
    assert.deepEqual(p.vmMonitorViews, [{ id: 'hdm.vm.monitor', label: 'HDM migration', url: `/plugins/${EXTENSION_KEY}/ui/index.html#/vm-monitor` }]);
    assert.equal(p.globalView?.url, `/plugins/${EXTENSION_KEY}/ui/index.html#/jobs`);
  });

  test('inventory: the prem VMs with power state and urn:vmomi context ids', async () => {
    const { cookie } = await login(base);
    const res = await fetchText(`${base}/api/host/vms`, { headers: { cookie: cookie! } });
    assert.equal(res.status, 200, res.body);
    const vms = JSON.parse(res.body) as Array<{ moid: string; name: string; powerState: string; id: string }>;
    const app = vms.find((v) => v.name === 'app-01');
    assert.ok(app, `app-01 in ${vms.map((v) => v.name).join(', ')}`);
    assert.equal(app.powerState, 'poweredOff');
    assert.equal(app.id, `urn:vmomi:VirtualMachine:${app.moid}:${admin.serviceContent.about.instanceUuid}`);
  });

  test('proxy: /plugins/<key>/… reaches the plugin server (plugin.json, index.html, /api/v1) only inside a session', async () => {
    const { cookie } = await login(base);
    const direct = await fetchText(plugin.manifestUrl);
    const viaProxy = await fetchText(`${base}/plugins/${EXTENSION_KEY}/ui/plugin.json`, { headers: { cookie: cookie! } });
    assert.equal(viaProxy.status, 200);
    assert.deepEqual(JSON.parse(viaProxy.body), JSON.parse(direct.body));

    const index = await fetchText(`${base}/plugins/${EXTENSION_KEY}/ui/index.html`, { headers: { cookie: cookie! } });
    assert.equal(index.status, 200);
    assert.match(index.body, /<script src="\/api\/ui\/htmlClientSdk.js"><\/script>/, 'the UI loads the SDK from the host origin');

    const health = await fetchText(`${base}/plugins/${EXTENSION_KEY}/api/v1/health`, { headers: { cookie: cookie! } });
    assert.equal(health.status, 200);
    assert.equal((JSON.parse(health.body) as { extensionKey: string }).extensionKey, EXTENSION_KEY);

    const redirect = await fetchText(`${base}/plugins/${EXTENSION_KEY}/ui`, { headers: { cookie: cookie! } });
    if (redirect.status >= 300 && redirect.status < 400) {
      assert.match(String(redirect.headers.location), new RegExp(`^/plugins/${EXTENSION_KEY.replace(/\./g, '\\.')}/ui/`));
    }

    assert.equal((await fetchText(`${base}/plugins/${EXTENSION_KEY}/ui/plugin.json`)).status, 401, 'no session, no plugin content');
    assert.equal((await fetchText(`${base}/plugins/com.other/ui/plugin.json`, { headers: { cookie: cookie! } })).status, 404);
  });

  test('thumbprint mismatch: the plugin is refused, naming both thumbprints, and nothing is proxied', async () => {
    const { res: loginRes, cookie } = await login(fakeBase);
    assert.equal(loginRes.status, 200);
    const res = await fetchText(`${fakeBase}/api/host/plugin`, { headers: { cookie: cookie! } });
    assert.equal(res.status, 502);
    const body = JSON.parse(res.body) as { error: string; message: string; expected: string; actual: string };
    assert.equal(body.error, 'thumbprint-mismatch');
    assert.equal(body.expected, WRONG_THUMBPRINT);
    assert.equal(body.actual, plugin.thumbprint.toUpperCase());
    assert.ok(body.message.includes(WRONG_THUMBPRINT) && body.message.includes(body.actual), body.message);

    const proxied = await fetchText(`${fakeBase}/plugins/${FAKE_KEY}/ui/plugin.json`, { headers: { cookie: cookie! } });
    assert.equal(proxied.status, 502);
    assert.equal((JSON.parse(proxied.body) as { error: string }).error, 'thumbprint-mismatch');
  });

  test('an unregistered extension key is reported as not registered', async () => {
    const other = new ClientHost({
      settings: () => ({ vcenter: { url: prem.url, thumbprint: prem.thumbprint }, extensionKey: 'com.hdm.absent' }),
      clientDir: CLIENT_DIR,
    });
    const at = (await other.listen(0)).replace(/\/$/, '');
    try {
      const { cookie } = await login(at);
      const res = await fetchText(`${at}/api/host/plugin`, { headers: { cookie: cookie! } });
      assert.equal(res.status, 502);
      assert.equal((JSON.parse(res.body) as { error: string }).error, 'not-registered');
    } finally {
      await other.close();
      assert.equal(other.sessions.size, 0, 'close() logged every session out');
    }
  });
});

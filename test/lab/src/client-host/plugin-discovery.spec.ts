// Unit tests of the client host's pure parts (no processes): labels, proxied URIs, redirects, cookies, settings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_DIR, settingsFromLabJson, startClientHost } from '../client-host';
import { REPO_ROOT } from '../lab-config';
import { readCookie } from './host-sessions';
import { normalizeThumbprint } from './pinned-https';
import { describeManifest, DiscoveryError, PluginManifest, proxiedUri, resolveLabel } from './plugin-discovery';
import { rewriteLocation } from './plugin-proxy';

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'plugin.json'), 'utf8')) as PluginManifest;
const base = { extensionKey: 'com.hdm.plugin', version: '1.0.0', manifestUrl: 'https://127.0.0.1:8443/ui/plugin.json', serverThumbprint: 'AA:BB' };

test('resolveLabel: exact locale, then language, then en-US, then the key', () => {
  const m: PluginManifest = { definitions: { i18n: { definitions: { a: { 'en-US': 'A', de: 'Ä' }, b: { fr: 'Bé' } } } } };
  assert.equal(resolveLabel(m, 'a'), 'A');
  assert.equal(resolveLabel(m, 'a', 'de-DE'), 'Ä');
  assert.equal(resolveLabel(m, 'b'), 'Bé');
  assert.equal(resolveLabel(m, 'missing'), 'missing');
  assert.equal(resolveLabel(m, undefined), '');
});

test('proxiedUri: manifest-relative URIs go below /plugins/<key>, other origins are refused', () => {
  assert.equal(proxiedUri('index.html#/vm-migrate', base.manifestUrl, '/plugins/k'), '/plugins/k/ui/index.html#/vm-migrate');
  assert.equal(proxiedUri('/other/x?y=1', base.manifestUrl, '/plugins/k'), '/plugins/k/other/x?y=1');
  assert.throws(() => proxiedUri('https://evil.example/x', base.manifestUrl, '/plugins/k'), DiscoveryError);
});

test('describeManifest renders the repository plugin.json: action, monitor view, global view', () => {
  const p = describeManifest(manifest, base);
  assert.equal(p.proxyBase, '/plugins/com.hdm.plugin');
  assert.equal(p.pluginOrigin, 'https://127.0.0.1:8443');
  assert.equal(p.name, 'HDM');
  assert.deepEqual(p.vmActions.map((a) => [a.label, a.url, a.width, a.height]), [['Migrate to cloud', '/plugins/com.hdm.plugin/ui/index.html#/vm-migrate', 720, 560]]);
  assert.deepEqual(p.vmMonitorViews.map((v) => v.label), ['HDM migration']);
  assert.equal(p.globalView?.url, '/plugins/com.hdm.plugin/ui/index.html#/jobs');
});

test('rewriteLocation keeps redirects inside the proxy', () => {
  const p = describeManifest(manifest, base);
  assert.equal(rewriteLocation('/ui/', p), '/plugins/com.hdm.plugin/ui/');
  assert.equal(rewriteLocation('https://127.0.0.1:8443/ui/x?a=1', p), '/plugins/com.hdm.plugin/ui/x?a=1');
  assert.equal(rewriteLocation('https://elsewhere/x', p), 'https://elsewhere/x');
  assert.equal(rewriteLocation('x.html', p), 'x.html');
});

test('readCookie, normalizeThumbprint', () => {
  assert.equal(readCookie('a=1; hdm_client_session=xyz; b=2', 'hdm_client_session'), 'xyz');
  assert.equal(readCookie(undefined, 'a'), undefined);
  assert.equal(normalizeThumbprint('aa bb:cc-dd'), 'AA:BB:CC:DD');
});

test('settingsFromLabJson: undefined until the lab described itself', () => {
  assert.equal(settingsFromLabJson(undefined), undefined);
  assert.deepEqual(settingsFromLabJson({
    prem: { url: 'https://10.99.0.2/sdk', thumbprint: 'AA', username: 'u' }, plugin: { extensionKey: 'k' },
  }), { vcenter: { url: 'https://10.99.0.2/sdk', thumbprint: 'AA' }, extensionKey: 'k', defaultUsername: 'u' });
});

test('startClientHost while the lab is starting: page served, login answers 503, lab.json 503', async () => {
  const server = await startClientHost(0, () => undefined);
  try {
    const { port } = server.address() as { port: number };
    const at = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${at}/`)).status, 200);
    const cfg = (await (await fetch(`${at}/api/host/config`)).json()) as { ready: boolean };
    assert.equal(cfg.ready, false);
    const login = await fetch(`${at}/api/host/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(login.status, 503);
    assert.equal((await fetch(`${at}/lab.json`)).status, 503);
    assert.ok(CLIENT_DIR.endsWith(join('test', 'lab', 'client')));
  } finally {
    await new Promise((r) => server.close(r));
  }
});

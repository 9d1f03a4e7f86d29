/**
 * The plugin server against a real lab vCenter (test/lab/vcsim on loopback):
 * idempotent registration and the clear messages for each way it can go wrong.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExtensionManager, retrieveOne, VimClient } from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';
import { freePort, startPluginServer, waitForRegistration } from '../support/plugin-server';

type Reg = { state: string; action?: string; message?: string; thumbprint?: string };

describe('plugin registration', () => {
  let vc: VcsimSite;
  let vcEnv: NodeJS.ProcessEnv;

  before(async () => {
    vc = await startVcsim({ site: 'prem' });
    vcEnv = { HDM_VC_URL: vc.url, HDM_VC_USERNAME: vc.username, HDM_VC_PASSWORD: vc.password, HDM_VC_THUMBPRINT: vc.thumbprint };
  });
  after(async () => vc?.stop());

  test('registers once, then finds it current on restart', async () => {
    const s1 = await startPluginServer(vcEnv);
    try {
      const r = await waitForRegistration<Reg>(s1.url, (x) => x.state !== 'pending');
      assert.equal(r.state, 'registered', JSON.stringify(r));
      assert.equal(r.action, 'register');
    } finally {
      await s1.stop();
    }
    const s2 = await startPluginServer(vcEnv, { dataDir: s1.dataDir, port: s1.port });
    try {
      const r = await waitForRegistration<Reg>(s2.url, (x) => x.state !== 'pending');
      assert.equal(r.action, 'none');
    } finally {
      await s2.stop();
    }
    const client = await VimClient.connect({ url: vc.url, username: vc.username, password: vc.password, thumbprint: vc.thumbprint });
    try {
      const em = new ExtensionManager(client);
      const list = (await retrieveOne(client, em.ref, ['extensionList'])).extensionList as Array<{ key: string }>;
      assert.equal(list.filter((e) => e.key === 'com.hdm.plugin').length, 1);
      await em.unregister('com.hdm.plugin');
    } finally {
      await client.logout();
    }
  });

  test('wrong credentials: an error naming the user and the settings to fix', async () => {
    const s = await startPluginServer({ ...vcEnv, HDM_VC_PASSWORD: 'not-the-password' });
    try {
      const r = await waitForRegistration<Reg>(s.url, (x) => x.state !== 'pending');
      assert.equal(r.state, 'error');
      assert.match(r.message ?? '', /rejected the login of "administrator@vsphere.local".*HDM_VC_PASSWORD/);
    } finally {
      await s.stop();
    }
  });

  test('unreachable vCenter: keeps retrying and says which URL it cannot reach', async () => {
    const closed = await freePort();
    const s = await startPluginServer({ ...vcEnv, HDM_VC_URL: `https://127.0.0.1:${closed}/sdk`, HDM_VC_THUMBPRINT: '' });
    try {
      const r = await waitForRegistration<Reg>(s.url, (x) => x.state === 'pending' && /cannot reach/.test(x.message ?? ''));
      assert.match(r.message ?? '', new RegExp(`127\\.0\\.0\\.1:${closed}`));
    } finally {
      await s.stop();
    }
  });

  test('a vCenter certificate that does not match the pinned thumbprint is refused', async () => {
    const wrong = vc.thumbprint.replace(/^../, vc.thumbprint.startsWith('00') ? '11' : '00');
    const s = await startPluginServer({ ...vcEnv, HDM_VC_THUMBPRINT: wrong });
    try {
      const r = await waitForRegistration<Reg>(s.url, (x) => x.state !== 'pending');
      assert.equal(r.state, 'error');
      assert.match(r.message ?? '', /HDM_VC_THUMBPRINT/);
    } finally {
      await s.stop();
    }
  });

  test('a port in use: exit code 2 and a message naming the port', async () => {
    const first = await startPluginServer({});
    try {
      await assert.rejects(startPluginServer({}, { port: first.port }), (err: Error & { exitCode?: number; output?: string }) => {
        assert.equal(err.exitCode, 2);
        assert.match(err.output ?? '', new RegExp(`127\\.0\\.0\\.1:${first.port} is already in use`));
        return true;
      });
    } finally {
      await first.stop();
    }
  });

  test('bad configuration: exit code 2 naming the variable', async () => {
    await assert.rejects(startPluginServer({ HDM_VC_URL: 'https://vc/sdk' }), (err: Error & { exitCode?: number; output?: string }) => {
      assert.equal(err.exitCode, 2);
      assert.match(err.output ?? '', /HDM_VC_USERNAME/);
      return true;
    });
  });
});

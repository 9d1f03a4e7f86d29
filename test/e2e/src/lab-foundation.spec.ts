/**
 * Foundation 1/3 end to end: the lab comes up, the plugin registers with the
 * certificate it serves, a new certificate updates the one registration, the
 * lab's vCenter refuses an out-of-order request, and stopping leaves nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, LabJson } from '@hdm/lab/dist/lab';
import { labAddresses } from '@hdm/lab/dist/lab-config';
import { ExtensionManager, retrieveOne, VimClient } from '@hdm/plugin-server/dist/src/vsphere';
import { httpsRequest, labEnv, LAB_MAIN, labTraces, pidAlive, servedThumbprint, spawnLab, testLabConfig, waitExit } from './support';

const EXT_KEY = 'com.hdm.plugin';

async function premClient(json: LabJson): Promise<VimClient> {
  return VimClient.connect({ url: json.prem.url, username: json.prem.username, password: json.prem.password, thumbprint: json.prem.thumbprint });
}

describe('lab + registration (in-process lab)', () => {
  let lab: Lab;
  let json: LabJson;

  before(async () => {
    const cfg = await testLabConfig('hdmt', 1);
    lab = new Lab(cfg);
    json = await lab.start();
  });

  after(async () => {
    await lab?.stop();
    assert.deepEqual(labTraces('hdmt', labAddresses(lab.cfg).range), []);
  });

  test('lab.json names both vCenters, the plugin and the client page', () => {
    const onDisk = JSON.parse(readFileSync(join(lab.cfg.labDir, 'lab.json'), 'utf8')) as LabJson;
    assert.deepEqual(onDisk, json);
    assert.match(json.prem.url, /^https:\/\/10\.99\.4\.2(:443)?\/sdk$/);
    assert.match(json.cloud.url, /^https:\/\/10\.99\.5\.2(:443)?\/sdk$/);
    assert.equal(json.plugin.extensionKey, EXT_KEY);
    assert.ok(json.client.url.startsWith('http'));
  });

  test('the WAN is shaped with tbf at 1 Gbit/s on both ends and the cloud is reached through it', () => {
    const a = labAddresses(lab.cfg);
    for (const [ns, dev] of [[a.premNs, a.wanPrem], [a.cloudNs, a.wanCloud]]) {
      const q = execFileSync('ip', ['netns', 'exec', ns!, 'tc', 'qdisc', 'show', 'dev', dev!], { encoding: 'utf8' });
      assert.match(q, /tbf .*rate 1Gbit/);
    }
    const route = execFileSync('ip', ['route', 'get', a.cloudIp], { encoding: 'utf8' });
    assert.match(route, new RegExp(`via ${a.premIp.replace(/\./g, '\\.')} dev ${a.rootLink}`));
    const bh = execFileSync('ip', ['route', 'show', 'type', 'blackhole'], { encoding: 'utf8' });
    assert.match(bh, /10\.99\.4\.0\/22/);
  });

  test('FindExtension returns the plugin with the served thumbprint and non-empty task and event lists', async () => {
    const served = await servedThumbprint('127.0.0.1', lab.cfg.pluginPort);
    const client = await premClient(json);
    try {
      const ext = await new ExtensionManager(client).find(EXT_KEY);
      assert.ok(ext, 'extension registered');
      const server = ext.server?.find((s) => s.type === 'MANIFEST_SERVER');
      assert.equal(server?.serverThumbprint, served);
      assert.equal(server?.url, json.plugin.manifestUrl);
      assert.equal(ext.client?.[0]?.type, 'vsphere-client-remote');
      assert.ok((ext.taskList ?? []).length > 0);
      assert.ok((ext.eventList ?? []).length > 0);
    } finally {
      await client.logout();
    }
    const manifest = await httpsRequest(json.plugin.manifestUrl);
    assert.equal(manifest.status, 200);
    assert.equal((JSON.parse(manifest.body) as { manifestVersion: string }).manifestVersion, '1.2.0');
  });

  test('a restart keeps the registration; a new certificate updates it — still exactly one, with the new thumbprint', async () => {
    const before = await servedThumbprint('127.0.0.1', lab.cfg.pluginPort);
    await lab.stopPlugin();
    await lab.startPlugin();
    assert.equal(await servedThumbprint('127.0.0.1', lab.cfg.pluginPort), before, 'plain restart keeps the certificate');

    await lab.stopPlugin();
    await lab.startPlugin({ HDM_ROTATE_CERT: '1' });
    const after = await servedThumbprint('127.0.0.1', lab.cfg.pluginPort);
    assert.notEqual(after, before);

    const client = await premClient(json);
    try {
      const em = new ExtensionManager(client);
      const list = (await retrieveOne(client, em.ref, ['extensionList'])).extensionList as Array<{ key: string }>;
      assert.equal(list.filter((e) => e.key === EXT_KEY).length, 1);
      const ext = await em.find(EXT_KEY);
      assert.equal(ext?.server?.find((s) => s.type === 'MANIFEST_SERVER')?.serverThumbprint, after);
    } finally {
      await client.logout();
    }
  });

  test('the lab vCenter refuses an out-of-order request and accepts the same request in schema order', async () => {
    const envelope = (inner: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:vim25"><soapenv:Body>${inner}</soapenv:Body></soapenv:Envelope>`;
    const post = (inner: string) =>
      httpsRequest(json.prem.url, { method: 'POST', body: envelope(inner), headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: 'urn:vim25/8.0.1.0' } });
    const user = `<userName>${json.prem.username}</userName>`;
    const pass = `<password>${json.prem.password}</password>`;
    const refused = await post(`<Login><_this type="SessionManager">SessionManager</_this>${pass}${user}</Login>`);
    assert.equal(refused.status, 500);
    assert.match(refused.body, /InvalidRequest/);
    assert.match(refused.body, /userName|password/);
    const accepted = await post(`<Login><_this type="SessionManager">SessionManager</_this>${user}${pass}</Login>`);
    assert.equal(accepted.status, 200, accepted.body);
    assert.match(accepted.body, /LoginResponse/);
  });
});

describe('lab command (npm start path)', () => {
  test('reaches "HDM lab ready", refuses a second start, and Ctrl-C leaves no process, namespace, link or route', async () => {
    const cfg = await testLabConfig('hdmc', 2);
    const range = labAddresses(cfg).range;
    const { child, output } = await spawnLab(cfg);
    let pids: number[] = [];
    try {
      assert.match(output(), /HDM lab ready/);
      assert.ok(existsSync(join(cfg.labDir, 'lab.json')));
      const lock = JSON.parse(readFileSync(join(cfg.labDir, 'lab.lock'), 'utf8')) as { children: number[] };
      pids = lock.children;
      assert.ok(pids.length >= 3, `children recorded: ${pids}`);

      const second = spawn(process.execPath, [LAB_MAIN], { env: labEnv(cfg), stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      second.stderr!.on('data', (d) => (text += d));
      assert.equal(await waitExit(second), 1);
      assert.match(text, /already running/);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await waitExit(child), 0, output());
    assert.deepEqual(labTraces('hdmc', range), []);
    for (const pid of pids) assert.equal(pidAlive(pid), false, `pid ${pid} still alive`);
    assert.equal(existsSync(join(cfg.labDir, 'lab.json')), false);
  });

  test('after kill -9 of the lab, the next start cleans up and comes up again', async () => {
    const cfg = await testLabConfig('hdmk', 3);
    const first = await spawnLab(cfg);
    first.child.kill('SIGKILL');
    await waitExit(first.child);
    const lab = new Lab(cfg);
    try {
      const json = await lab.start();
      assert.ok(json.plugin.thumbprint);
    } finally {
      await lab.stop();
    }
    assert.deepEqual(labTraces('hdmk', labAddresses(cfg).range), []);
  });

  test('a namespace left without an owner is refused with the cause and the fix, and lab:stop removes it', async () => {
    const cfg = await testLabConfig('hdmx', 4);
    execFileSync('ip', ['netns', 'add', 'hdmx-prem']);
    try {
      const lab = new Lab(cfg);
      await assert.rejects(lab.start(), /hdmx-prem.*crashed run.*npm run lab:stop/s);
      assert.ok(labTraces('hdmx', labAddresses(cfg).range).length > 0, 'the refusal touched nothing');
      const cleanup = spawn(process.execPath, [LAB_MAIN, '--cleanup'], { env: labEnv(cfg), stdio: 'ignore' });
      assert.equal(await waitExit(cleanup), 0);
      assert.deepEqual(labTraces('hdmx', labAddresses(cfg).range), []);
    } finally {
      try {
        execFileSync('ip', ['netns', 'del', 'hdmx-prem'], { stdio: 'ignore' });
      } catch {
        /* removed by the cleanup under test */
      }
    }
  });
});

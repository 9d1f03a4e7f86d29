import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  acquireCloneTicket, cloneSession, currentSession, EventManager, ExtensionManager, retrieveAll, retrieveOne,
  retrieveProperties, Task, TaskError, TaskInfo, TaskManager, VimClient, VimConnectionError, VimFault,
  VirtualMachine, waitForTask, waitForUpdates, createFilter, destroyFilter, eventArguments, sessionIsActive,
} from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';

const EXT_KEY = 'com.hdm.test.vsphere';
const TASK_ID = `${EXT_KEY}.migrate`;
const EVENT_ID = `${EXT_KEY}.migrated`;

describe('vSphere layer against hdm-vcsim (prem)', () => {
  let site: VcsimSite;
  let client: VimClient;

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    client = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await site?.stop();
  });

  describe('connection and session', () => {
    it('connect logs in and uses the server apiVersion', async () => {
      assert.ok(client.serviceContent.about.apiVersion);
      assert.equal(client.apiVersion, client.serviceContent.about.apiVersion);
      assert.equal(client.userSession?.userName, site.username);
      assert.ok(client.sessionCookie, 'vmware_soap_session cookie kept');
      const s = await currentSession(client);
      assert.equal(s?.key, client.userSession?.key);
    });

    it('wrong password → VimFault InvalidLogin', async () => {
      await assert.rejects(
        VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: 'wrong' }),
        (e: unknown) => VimFault.is(e, 'InvalidLogin') && e.message.length > 0,
      );
    });

    it('calls without a session → VimFault NotAuthenticated', async () => {
      const anon = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint });
      try {
        const s = await currentSession(anon).catch((e: unknown) => e);
        assert.ok(s === undefined || VimFault.is(s, 'NotAuthenticated'), `currentSession without login: ${String(s)}`);
        await assert.rejects(retrieveAll(anon, 'VirtualMachine', ['name']), (e: unknown) => VimFault.is(e, 'NotAuthenticated'));
      } finally {
        anon.close();
      }
    });

    it('thumbprint pin: a wrong pin is refused naming expected and actual', async () => {
      const wrong = '00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33';
      await assert.rejects(VimClient.connect({ url: site.url, thumbprint: wrong, username: site.username, password: site.password }),
        (e: unknown) => e instanceof VimConnectionError && e.code === 'THUMBPRINT_MISMATCH' &&
          e.message.includes(wrong) && e.message.includes(site.thumbprint));
      // lower case / no colons is the same pin
      const c = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint.replace(/:/g, '').toLowerCase() });
      c.close();
    });

    it('CA verification refuses the self-signed certificate unless rejectUnauthorized is false', async () => {
      await assert.rejects(VimClient.connect({ url: site.url }), (e: unknown) => e instanceof VimConnectionError && /not trusted/.test(e.message));
      const c = await VimClient.connect({ url: site.url, rejectUnauthorized: false });
      c.close();
    });

    it('unreachable host → VimConnectionError naming the URL', async () => {
      const port = await new Promise<number>((resolve) => {
        const srv = net.createServer().listen(0, '127.0.0.1', () => {
          const p = (srv.address() as net.AddressInfo).port;
          srv.close(() => resolve(p));
        });
      });
      const url = `https://127.0.0.1:${port}/sdk`;
      await assert.rejects(VimClient.connect({ url, rejectUnauthorized: false }),
        (e: unknown) => e instanceof VimConnectionError && e.message.includes(url) && /refused/.test(e.message));
    });

    it('timeout → VimConnectionError', async () => {
      const srv = net.createServer(() => undefined).listen(0, '127.0.0.1');
      await new Promise((r) => srv.once('listening', r));
      const url = `https://127.0.0.1:${(srv.address() as net.AddressInfo).port}/sdk`;
      try {
        await assert.rejects(VimClient.connect({ url, rejectUnauthorized: false, timeoutMs: 300 }),
          (e: unknown) => e instanceof VimConnectionError && e.message.includes(url) && /timed out/.test(e.message));
      } finally {
        srv.close();
      }
    });

    it('clone ticket: a second client becomes the same user; SessionIsActive', async () => {
      const ticket = await acquireCloneTicket(client);
      const other = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint });
      try {
        const s = await cloneSession(other, ticket);
        assert.equal(s.userName, site.username);
        assert.ok((await retrieveAll(other, 'VirtualMachine', ['name'])).length > 0);
      } finally {
        await other.logout();
      }
      const active = await sessionIsActive(client, client.userSession!.key, site.username).catch((e: unknown) => e);
      assert.ok(active === true || VimFault.is(active), `SessionIsActive answered ${String(active)}`);
    });
  });

  describe('properties', () => {
    it('VM names and power states, paging with small maxObjects', async () => {
      const vms = await VirtualMachine.list(client, { maxObjects: 1 });
      const app = vms.find((v) => v.name === 'app-01');
      assert.ok(app, `app-01 in ${vms.map((v) => v.name).join(',')}`);
      assert.equal(app.powerState, 'poweredOff');
      assert.ok(vms.every((v) => ['poweredOn', 'poweredOff', 'suspended'].includes(v.powerState)));
      const direct = await retrieveProperties(client, [{
        propSet: [{ type: 'VirtualMachine', pathSet: ['name'] }],
        objectSet: vms.map((v) => ({ obj: v.vm.ref, skip: false })),
      }], { maxObjects: 1 });
      assert.equal(direct.length, vms.length, 'every page was followed');
      assert.equal(await app.vm.name(), 'app-01');
    });

    it('retrieveOne of a missing object → ManagedObjectNotFound', async () => {
      await assert.rejects(retrieveOne(client, { type: 'VirtualMachine', value: 'vm-does-not-exist' }, ['name']),
        (e: unknown) => VimFault.is(e, 'ManagedObjectNotFound'));
    });
  });

  describe('extension, task, event', () => {
    const em = (): ExtensionManager => new ExtensionManager(client);

    it('extension register / find / update / unregister round trip', async () => {
      await em().unregister(EXT_KEY).catch(() => undefined);
      assert.equal(await em().find(EXT_KEY), undefined);
      await em().register({
        key: EXT_KEY, version: '1.0.0', company: 'HDM', type: 'com.vmware.vsphere.client.remoteplugin',
        description: { label: 'HDM test', summary: 'vSphere layer integration test' },
        server: [{ url: 'https://127.0.0.1:8443/plugin.json', description: { label: 'HDM', summary: 'manifest' },
          company: 'HDM', type: 'PLUGIN_SERVER', adminEmail: ['ops@hdm.example'], serverThumbprint: site.thumbprint }],
        taskList: [{ taskID: TASK_ID }],
        eventList: [{ eventID: EVENT_ID }],
        shownInSolutionManager: false,
      });
      const found = await em().find(EXT_KEY);
      assert.equal(found?.version, '1.0.0');
      assert.equal(found?.description.label, 'HDM test');
      assert.deepEqual(found?.taskList?.map((t) => t.taskID), [TASK_ID]);
      assert.equal(found?.server?.[0].url, 'https://127.0.0.1:8443/plugin.json');
      await assert.rejects(em().register({ key: EXT_KEY, version: '1', description: { label: 'x', summary: 'y' } }),
        (e: unknown) => e instanceof VimFault);
      await em().update({ ...found!, version: '1.0.1' });
      assert.equal((await em().find(EXT_KEY))?.version, '1.0.1');
      await em().unregister(EXT_KEY);
      assert.equal(await em().find(EXT_KEY), undefined);
      await assert.rejects(em().unregister(EXT_KEY), (e: unknown) => VimFault.is(e, 'NotFound'));
    });

    it('createTask with the registered type; setState/updateProgress visible through the PropertyCollector', async () => {
      await em().unregister(EXT_KEY).catch(() => undefined);
      await em().register({ key: EXT_KEY, version: '1.0.0', description: { label: 'HDM', summary: 'tasks' }, taskList: [{ taskID: TASK_ID }] });
      try {
        const tm = new TaskManager(client);
        const app = (await VirtualMachine.findByName(client, 'app-01'))!;
        await assert.rejects(tm.createTask(app.ref, `${EXT_KEY}.unregistered`, site.username, false), (e: unknown) => e instanceof VimFault);
        const info = await tm.createTask(app.ref, TASK_ID, site.username, true);
        assert.equal(info.descriptionId, TASK_ID);
        assert.deepEqual(info.entity, app.ref);
        const task = tm.task(info);
        const seen: Array<number | undefined> = [];
        const waiting = task.wait((p) => { seen.push(p); });
        await task.setState('running');
        await task.updateProgress(40);
        const mid: TaskInfo = await task.info();
        assert.equal(mid.state, 'running');
        assert.equal(mid.progress, 40);
        const props = await retrieveOne(client, task.ref, ['info.state', 'info.progress']);
        assert.deepEqual(props, { 'info.state': 'running', 'info.progress': 40 });
        await task.setState('success', 'migrated');
        assert.equal(await waiting, 'migrated');
        assert.equal((await task.info()).state, 'success');

        const failing = new Task(client, (await tm.createTask(app.ref, TASK_ID, site.username, false)).task);
        const failed = failing.wait();
        await failing.setState('error', undefined, { fault: { _type: 'InvalidState' }, localizedMessage: 'disk busy' });
        await assert.rejects(failed, (e: unknown) => e instanceof TaskError && e.faultName === 'InvalidState' && e.message === 'disk busy');
      } finally {
        await em().unregister(EXT_KEY).catch(() => undefined);
      }
    });

    it('postEvent(EventEx) + queryEvents by entity', async () => {
      const evm = new EventManager(client);
      const app = (await VirtualMachine.findByName(client, 'app-01'))!;
      await evm.postEvent({
        eventTypeId: EVENT_ID, severity: 'info', message: 'app-01 migrated',
        objectId: app.ref.value, objectType: 'VirtualMachine', objectName: 'app-01',
        vm: { name: 'app-01', vm: app.ref },
        arguments: eventArguments({ vmName: 'app-01', bytes: 1234, warm: true }),
      });
      const events = await evm.queryEventsFor(app.ref);
      const mine = events.find((e) => e._type === 'EventEx' && (e as { eventTypeId?: string }).eventTypeId === EVENT_ID);
      assert.ok(mine, `EventEx in ${events.map((e) => e._type).join(',')}`);
      assert.ok(mine.createdTime instanceof Date);
      assert.ok(mine.key > 0);
      const args = (mine as { arguments?: Array<{ key: string; value: unknown }> }).arguments ?? [];
      assert.deepEqual(Object.fromEntries(args.map((a) => [a.key, a.value])), { bytes: 1234, vmName: 'app-01', warm: true });
    });
  });

  describe('VM power operations', () => {
    it('waitForTask on PowerOnVM_Task of app-01, then power it off again', async () => {
      const app = (await VirtualMachine.findByName(client, 'app-01'))!;
      assert.equal(await app.powerState(), 'poweredOff');
      let on: Task;
      on = await app.powerOn();
      await waitForTask(client, on.ref);
      assert.equal(await app.powerState(), 'poweredOn');
      await assert.rejects(app.powerOn().then((t) => t.wait()),
        (e: unknown) => e instanceof TaskError && e.faultName === 'InvalidPowerState');
      await (await app.powerOff()).wait();
      assert.equal(await app.powerState(), 'poweredOff');
    });

    it('waitForUpdates sees a power state change', async () => {
      const app = (await VirtualMachine.findByName(client, 'app-01'))!;
      const pc = await client.invoke('CreatePropertyCollector', { _this: client.serviceContent.propertyCollector });
      try {
        const filter = await createFilter(client, {
          propSet: [{ type: 'VirtualMachine', pathSet: ['runtime.powerState'] }], objectSet: [{ obj: app.ref }],
        }, false, pc);
        const first = await waitForUpdates(client, '', 5, pc);
        assert.ok(first);
        const next = waitForUpdates(client, first.version, 10, pc);
        next.catch(() => undefined); // settled below; DestroyPropertyCollector cancels it if powerOn fails
        let on: Task;
        on = await app.powerOn();
        const upd = await next;
        const change = upd?.filterSet?.[0].objectSet?.[0].changeSet?.find((c) => c.name === 'runtime.powerState');
        assert.equal(change?.val, 'poweredOn');
        await on.wait();
        await (await app.powerOff()).wait();
        await destroyFilter(client, filter);
      } finally {
        await client.invoke('DestroyPropertyCollector', { _this: pc });
      }
    });
  });
});

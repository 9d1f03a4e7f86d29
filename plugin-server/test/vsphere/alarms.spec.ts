import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import {
  AlarmManager, AlarmState, EventManager, eventAlarmSpec, VimClient, VimFault, VirtualMachine, waitForProperties,
} from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';

const FAILED = 'com.hdm.plugin.migration.failed';

describe('AlarmManager against hdm-vcsim (prem)', () => {
  let site: VcsimSite;
  let client: VimClient;
  let alarms: AlarmManager;
  let vm: VirtualMachine;

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    client = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
    alarms = new AlarmManager(client);
    vm = (await VirtualMachine.findByName(client, 'app-01'))!;
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('creates an event alarm on the root folder, finds it by name, refuses a duplicate name', async () => {
    const root = client.serviceContent.rootFolder;
    const spec = eventAlarmSpec({ name: 'HDM migration failed', description: 'A migration failed', eventTypeId: FAILED, objectType: 'VirtualMachine' });
    const ref = await alarms.createAlarm(root, spec);
    assert.equal(ref.type, 'Alarm');
    const found = await alarms.findByName(root, 'HDM migration failed');
    assert.deepEqual(found?.ref, ref);
    assert.equal(found?.info.key, ref.value);
    assert.deepEqual(found?.info.entity, root);
    const expr = found?.info.expression as unknown as { _type: string; expression: Array<Record<string, unknown>> };
    assert.equal(expr._type, 'OrAlarmExpression');
    assert.deepEqual(
      { type: expr.expression[0]._type, eventType: expr.expression[0].eventType, eventTypeId: expr.expression[0].eventTypeId, objectType: expr.expression[0].objectType, status: expr.expression[0].status },
      { type: 'EventAlarmExpression', eventType: 'EventEx', eventTypeId: FAILED, objectType: 'VirtualMachine', status: 'red' });
    await assert.rejects(alarms.createAlarm(root, spec), (e) => VimFault.is(e, 'DuplicateName'));
    assert.equal((await alarms.getAlarms()).length, 1);
  });

  it('an EventEx posted on app-01 shows the alarm in its triggeredAlarmState (seen by WaitForUpdatesEx)', async () => {
    assert.deepEqual(await alarms.triggeredAlarms(vm.ref), []);
    const events = new EventManager(client);
    const waiting = waitForProperties(client, vm.ref, ['triggeredAlarmState', 'overallStatus'],
      (v) => ((v.triggeredAlarmState as AlarmState[] | undefined)?.length ? v : undefined), { timeoutMs: 10_000 });
    const other = { eventTypeId: 'com.hdm.plugin.migration.started', severity: 'info', objectId: vm.ref.value, objectType: 'VirtualMachine', fullFormattedMessage: 'started' };
    await events.postEvent(other);
    assert.deepEqual(await alarms.triggeredAlarms(vm.ref), [], 'another event type triggers nothing');
    await events.postEvent({ ...other, eventTypeId: FAILED, severity: 'error', fullFormattedMessage: 'app-01 failed', vm: { name: 'app-01', vm: vm.ref } });
    const seen = await waiting;
    const states = seen.triggeredAlarmState as AlarmState[];
    const alarm = (await alarms.findByName(client.serviceContent.rootFolder, 'HDM migration failed'))!;
    assert.equal(states.length, 1);
    assert.deepEqual(states[0].alarm, alarm.ref);
    assert.deepEqual(states[0].entity, vm.ref);
    assert.equal(states[0].overallStatus, 'red');
    assert.equal(states[0].key, `${alarm.ref.value}.${vm.ref.value}`);
    assert.ok(states[0].time instanceof Date && Date.now() - states[0].time.getTime() < 60_000);
    assert.equal(seen.overallStatus, 'red');

    await alarms.acknowledge(alarm.ref, vm.ref);
    assert.equal((await alarms.triggeredAlarms(vm.ref))[0].acknowledged, true);
  });

  it('removeAlarm deletes the definition and clears what it triggered', async () => {
    const alarm = (await alarms.findByName(client.serviceContent.rootFolder, 'HDM migration failed'))!;
    await alarms.removeAlarm(alarm.ref);
    assert.deepEqual(await alarms.getAlarms(client.serviceContent.rootFolder), []);
    assert.deepEqual(await alarms.triggeredAlarms(vm.ref), []);
    assert.equal((await vm.properties(['overallStatus'])).overallStatus, 'green');
  });
});

/**
 * HDM's alarms exist as soon as the plugin server registered in the lab vCenter, and a restart
 * finds them by name instead of adding copies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmManager, AlarmState, VimClient, VirtualMachine, waitForProperties } from '../../src/vsphere';
import { VcenterReporter } from '../../src/migrations/vcenter-reporter';
import { ensureAlarms, HDM_ALARMS } from '../../src/plugin/alarm-definitions';
import { startVcsim, VcsimSite } from '../support/vcsim';
import { startPluginServer, waitForRegistration } from '../support/plugin-server';

type Reg = { state: string; action?: string; message?: string };

describe('HDM alarms at registration', () => {
  let vc: VcsimSite;
  let vcEnv: NodeJS.ProcessEnv;
  let client: VimClient;

  before(async () => {
    vc = await startVcsim({ site: 'prem' });
    vcEnv = { HDM_VC_URL: vc.url, HDM_VC_USERNAME: vc.username, HDM_VC_PASSWORD: vc.password, HDM_VC_THUMBPRINT: vc.thumbprint };
    client = await VimClient.connect({ url: vc.url, username: vc.username, password: vc.password, thumbprint: vc.thumbprint });
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await vc?.stop();
  });

  async function hdmAlarms(): Promise<Array<{ name: string; eventTypeId: unknown; value: string }>> {
    const all = await new AlarmManager(client).getAlarms(client.serviceContent.rootFolder);
    return all.map((a) => ({
      name: a.info.name,
      eventTypeId: (a.info.expression as unknown as { expression: Array<{ eventTypeId?: string }> }).expression[0].eventTypeId,
      value: a.ref.value,
    })).sort((x, y) => x.name.localeCompare(y.name));
  }

  test('the two alarms exist after registration and are not duplicated on restart', async () => {
    const s1 = await startPluginServer(vcEnv);
    let first: Awaited<ReturnType<typeof hdmAlarms>>;
    try {
      const r = await waitForRegistration<Reg>(s1.url, (x) => x.state !== 'pending');
      assert.equal(r.state, 'registered', JSON.stringify(r));
      first = await hdmAlarms();
      assert.deepEqual(first.map(({ name, eventTypeId }) => ({ name, eventTypeId })), [
        { name: 'HDM appliance heartbeat lost', eventTypeId: 'com.hdm.plugin.appliance.heartbeatLost' },
        { name: 'HDM migration failed', eventTypeId: 'com.hdm.plugin.migration.failed' },
      ]);
    } finally {
      await s1.stop();
    }
    const s2 = await startPluginServer(vcEnv, { dataDir: s1.dataDir, port: s1.port });
    try {
      const r = await waitForRegistration<Reg>(s2.url, (x) => x.state !== 'pending');
      assert.equal(r.state, 'registered', JSON.stringify(r));
      assert.equal(r.action, 'none');
      assert.deepEqual(await hdmAlarms(), first, 'same two alarms, same MoRefs');
    } finally {
      await s2.stop();
    }
  });

  test('ensureAlarms: unchanged when current, reconfigures a changed one, recreates a deleted one', async () => {
    assert.deepEqual(await ensureAlarms(client, 'com.hdm.plugin'),
      { created: [], updated: [], unchanged: HDM_ALARMS.map((a) => a.name) });
    const am = new AlarmManager(client);
    const failed = (await am.findByName(client.serviceContent.rootFolder, 'HDM migration failed'))!;
    await am.reconfigureAlarm(failed.ref, { ...failed.info, enabled: false });
    const lost = (await am.findByName(client.serviceContent.rootFolder, 'HDM appliance heartbeat lost'))!;
    await am.removeAlarm(lost.ref);
    assert.deepEqual(await ensureAlarms(client, 'com.hdm.plugin'),
      { created: ['HDM appliance heartbeat lost'], updated: ['HDM migration failed'], unchanged: [] });
    assert.equal((await am.findByName(client.serviceContent.rootFolder, 'HDM migration failed'))!.info.enabled, true);
    assert.equal((await am.getAlarms(client.serviceContent.rootFolder)).length, 2);
  });

  test('the orchestrator\'s migration.failed / appliance.heartbeatLost events (VcenterReporter) fire the alarms on their VMs', async () => {
    const am = new AlarmManager(client);
    for (const [vmName, event, alarmName] of [
      ['db-01', 'migrationFailed', 'HDM migration failed'],
      ['web-01', 'applianceHeartbeatLost', 'HDM appliance heartbeat lost'],
    ] as const) {
      const vm = (await VirtualMachine.findByName(client, vmName))!;
      const waiting = waitForProperties(client, vm.ref, ['triggeredAlarmState'],
        (v) => ((v.triggeredAlarmState as AlarmState[] | undefined)?.length ? v.triggeredAlarmState as AlarmState[] : undefined), { timeoutMs: 10_000 });
      await new VcenterReporter(client, 'com.hdm.plugin', { ref: vm.ref, name: vmName })
        .event(event, { vm: vmName, cloud: 'cloud-1', reason: 'test', appliance: vmName });
      const states = await waiting;
      const alarm = (await am.findByName(client.serviceContent.rootFolder, alarmName))!;
      assert.deepEqual(states.map((s) => [s.alarm.value, s.entity.value, s.overallStatus]), [[alarm.ref.value, vm.ref.value, 'red']]);
    }
  });
});

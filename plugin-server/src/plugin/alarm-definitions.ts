import { VcenterEndpoint } from '../config/hdm-config';
import { AlarmDefinition, AlarmManager, AlarmSpec, eventAlarmSpec, VimClient } from '../vsphere';
import { HDM_EVENT_TYPES, HdmEventType, qualifiedTypeId } from './extension-catalog';

/**
 * The vCenter alarms HDM defines on the root folder (so they cover every VM): each fires on one
 * of HDM's EventEx types (registered in the extension's eventList, extension-catalog.ts) and
 * turns the VM it is about red. Names are the identity: ensureAlarms finds them by name, so a
 * restart never adds a second copy. Change together with extension-catalog.ts.
 */
export const HDM_ALARMS: ReadonlyArray<{ name: string; description: string; event: HdmEventType; objectType: string }> = [
  {
    name: 'HDM migration failed',
    description: 'An HDM migration of this VM failed; see the VM\'s events and the HDM panel for the reason.',
    event: 'migrationFailed',
    objectType: 'VirtualMachine',
  },
  {
    name: 'HDM appliance heartbeat lost',
    description: 'This HDM appliance VM stopped answering the plugin server\'s health checks.',
    event: 'applianceHeartbeatLost',
    objectType: 'VirtualMachine',
  },
];

/** The AlarmSpecs of HDM_ALARMS for an extension key (event ids are `<extensionKey>.<id>`). */
export function hdmAlarmSpecs(extensionKey: string): AlarmSpec[] {
  return HDM_ALARMS.map((a) => eventAlarmSpec({
    name: a.name, description: a.description, objectType: a.objectType,
    eventTypeId: qualifiedTypeId(extensionKey, HDM_EVENT_TYPES[a.event].id),
  }));
}

/** The parts of an alarm that HDM owns: a definition differing in any of them is reconfigured. */
function essence(spec: AlarmSpec): string {
  const expr = spec.expression as unknown as { _type?: string; expression?: Array<Record<string, unknown>> } & Record<string, unknown>;
  const leaves = (expr._type === 'OrAlarmExpression' ? expr.expression ?? [] : [expr]).map((e) => ({
    type: e._type, eventType: e.eventType, eventTypeId: e.eventTypeId, objectType: e.objectType, status: e.status,
  }));
  return JSON.stringify({ description: spec.description, enabled: spec.enabled, leaves });
}

export interface EnsureAlarmsResult {
  created: string[];
  updated: string[];
  unchanged: string[];
}

/**
 * Makes HDM's alarms exist on the root folder, idempotently: absent → CreateAlarm; present by
 * name but different (event id after an extension key change, description, disabled) →
 * ReconfigureAlarm; equal → nothing. Other alarms are never touched.
 */
export async function ensureAlarms(client: VimClient, extensionKey: string): Promise<EnsureAlarmsResult> {
  const alarms = new AlarmManager(client);
  const root = client.serviceContent.rootFolder;
  const existing = new Map<string, AlarmDefinition>();
  for (const a of await alarms.getAlarms(root)) existing.set(a.info.name, a);
  const result: EnsureAlarmsResult = { created: [], updated: [], unchanged: [] };
  for (const spec of hdmAlarmSpecs(extensionKey)) {
    const have = existing.get(spec.name);
    if (!have) {
      await alarms.createAlarm(root, spec);
      result.created.push(spec.name);
    } else if (essence(have.info) !== essence(spec)) {
      await alarms.reconfigureAlarm(have.ref, spec);
      result.updated.push(spec.name);
    } else {
      result.unchanged.push(spec.name);
    }
  }
  return result;
}

/** ensureAlarms on its own session of `vc` (the registration step after the extension is current). */
export async function ensureAlarmsIn(vc: VcenterEndpoint, extensionKey: string): Promise<EnsureAlarmsResult> {
  const client = await VimClient.connect({
    url: vc.url, username: vc.username, password: vc.password, thumbprint: vc.thumbprint,
    rejectUnauthorized: vc.thumbprint ? undefined : true,
  });
  try {
    return await ensureAlarms(client, extensionKey);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

import { AlarmInfo, AlarmSpec, AlarmState, ManagedEntityStatus, ManagedObjectReference } from '../generated';
import { retrieveMany, retrieveOne } from '../property/property-collector';
import { VimClient } from '../soap/vim-client';
import { ManagedObject, requireRef } from './managed-object';

/** An alarm definition read back: its MoRef and info (spec + key, entity, lastModified*). */
export interface AlarmDefinition {
  ref: ManagedObjectReference;
  info: AlarmInfo;
}

/** What an event alarm fires on: `eventTypeId` of EventEx posted about an entity of `objectType`. */
export interface EventAlarmSpec {
  name: string;
  description: string;
  eventTypeId: string;
  /** vSphere type of the entity the alarm shows on, e.g. `VirtualMachine`. */
  objectType: string;
  /** Status the alarm sets (default red). */
  status?: ManagedEntityStatus;
  enabled?: boolean;
}

/** An AlarmSpec with one EventAlarmExpression on EventEx `eventTypeId` (wrapped in an Or, as the vSphere Client does). */
export function eventAlarmSpec(s: EventAlarmSpec): AlarmSpec {
  return {
    name: s.name,
    description: s.description,
    enabled: s.enabled ?? true,
    expression: {
      _type: 'OrAlarmExpression',
      expression: [{
        _type: 'EventAlarmExpression', eventType: 'EventEx', eventTypeId: s.eventTypeId,
        objectType: s.objectType, status: s.status ?? 'red',
      }],
    } as AlarmSpec['expression'],
  };
}

/**
 * AlarmManager: alarm definitions (CreateAlarm / GetAlarm / Alarm.RemoveAlarm) and what they
 * triggered (an entity's `triggeredAlarmState`).
 */
export class AlarmManager extends ManagedObject {
  constructor(client: VimClient) {
    super(client, requireRef(client.serviceContent.alarmManager, 'AlarmManager', client));
  }

  /** CreateAlarm on `entity` (it covers the entity and everything below it); fault DuplicateName for a taken name there. */
  createAlarm(entity: ManagedObjectReference, spec: AlarmSpec): Promise<ManagedObjectReference> {
    return this.client.invoke('CreateAlarm', { _this: this.ref, entity, spec });
  }

  /** GetAlarm: the alarms defined on `entity` (all alarms when omitted), with their info. */
  async getAlarms(entity?: ManagedObjectReference): Promise<AlarmDefinition[]> {
    const refs = (await this.client.invoke('GetAlarm', { _this: this.ref, entity })) ?? [];
    if (!refs.length) return [];
    const read = await retrieveMany(this.client, refs, ['info']);
    const byValue = new Map(read.map((r) => [r.ref.value, r.props.info as AlarmInfo | undefined]));
    return refs.flatMap((ref) => {
      const info = byValue.get(ref.value);
      return info ? [{ ref, info }] : [];
    });
  }

  /** The alarm named `name` defined on `entity`, or undefined. */
  async findByName(entity: ManagedObjectReference, name: string): Promise<AlarmDefinition | undefined> {
    return (await this.getAlarms(entity)).find((a) => a.info.name === name);
  }

  /** Alarm.ReconfigureAlarm: replaces the alarm's spec. */
  async reconfigureAlarm(alarm: ManagedObjectReference, spec: AlarmSpec): Promise<void> {
    await this.client.invoke('ReconfigureAlarm', { _this: alarm, spec });
  }

  /** Alarm.RemoveAlarm: deletes the definition and clears what it triggered. */
  async removeAlarm(alarm: ManagedObjectReference): Promise<void> {
    await this.client.invoke('RemoveAlarm', { _this: alarm });
  }

  /** AcknowledgeAlarm: marks the alarm's triggered state on `entity` acknowledged. */
  async acknowledge(alarm: ManagedObjectReference, entity: ManagedObjectReference): Promise<void> {
    await this.client.invoke('AcknowledgeAlarm', { _this: this.ref, alarm, entity });
  }

  /** The entity's `triggeredAlarmState`: the alarms currently fired on it. */
  async triggeredAlarms(entity: ManagedObjectReference): Promise<AlarmState[]> {
    const props = await retrieveOne(this.client, entity, ['triggeredAlarmState']);
    return (props.triggeredAlarmState as AlarmState[] | undefined) ?? [];
  }
}

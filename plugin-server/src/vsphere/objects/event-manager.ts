import { Event, EventEx, EventFilterSpec, KeyAnyValue, ManagedObjectReference, TaskInfo } from '../generated';
import { VimClient } from '../soap/vim-client';
import { ManagedObject, requireRef } from './managed-object';

/** Fields vCenter fills in itself when an event is posted: optional here. */
type ServerFilled = 'key' | 'chainId' | 'createdTime' | 'userName';

/** An event to post; `_type` names its vim25 type (default `EventEx`). */
export type EventSpec = (Omit<EventEx, ServerFilled> | (Omit<Event, ServerFilled> & { _type: string })) &
  Partial<Pick<Event, ServerFilled>>;

/** EventManager: HDM posts its history as EventEx (eventTypeId registered in the extension's eventList). */
export class EventManager extends ManagedObject {
  constructor(client: VimClient) {
    super(client, requireRef(client.serviceContent.eventManager, 'EventManager', client));
  }

  /** PostEvent; key/chainId/createdTime/userName are placeholders the server replaces. */
  async postEvent(event: EventSpec, taskInfo?: TaskInfo): Promise<void> {
    const eventToPost = {
      _type: 'EventEx',
      key: 0,
      chainId: 0,
      createdTime: new Date(),
      userName: '',
      ...event,
    } as Event;
    await this.client.invoke('PostEvent', { _this: this.ref, eventToPost, taskInfo });
  }

  /** QueryEvents: events matching `filter`, each with its `_type` (e.g. `EventEx`). */
  async queryEvents(filter: EventFilterSpec): Promise<Event[]> {
    return this.client.invoke('QueryEvents', { _this: this.ref, filter });
  }

  /** Events about `entity` (and, with `recursion`, its children). */
  queryEventsFor(entity: ManagedObjectReference, recursion: 'self' | 'children' | 'all' = 'self', maxCount?: number): Promise<Event[]> {
    return this.queryEvents({ entity: { entity, recursion }, maxCount });
  }
}

/** Builds EventEx arguments from a plain record (values become xsd:string/int/boolean/dateTime). */
export function eventArguments(args: Record<string, string | number | boolean | Date>): KeyAnyValue[] {
  return Object.keys(args).sort().map((key) => ({ key, value: args[key] }));
}

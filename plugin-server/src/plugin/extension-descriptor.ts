import { HDM_EVENT_TYPES, HDM_TASK_TYPES, qualifiedTypeId } from './extension-catalog';

import type { Extension } from '../vsphere';

/** vim25 `Extension` as HDM registers it (the vSphere layer writes it in schema order). */
export type ExtensionSpec = Extension;

export interface ExtensionInputs {
  extensionKey: string;
  version: string;
  /** Absolute URL of plugin.json as served by this server. */
  manifestUrl: string;
  /** SHA-1 thumbprint of the certificate the server presents. */
  serverThumbprint: string;
}

const COMPANY = 'HDM';
const DESCRIPTION = { label: 'HDM', summary: 'Migrates virtual machines to a VMware cloud' };

function eventTypeSchema(id: string, label: string): string {
  const args = [...label.matchAll(/\{(\w+)\}/g)].map((m) => `<argument><name>${m[1]}</name><type>string</type></argument>`);
  return `<EventType><eventTypeID>${id}</eventTypeID><description>${escapeXml(label)}</description><arguments>${args.join('')}</arguments></EventType>`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The remote-plugin registration vCenter should hold for this server. */
export function buildExtension(inputs: ExtensionInputs): ExtensionSpec {
  const { extensionKey: key, version } = inputs;
  const tasks = Object.values(HDM_TASK_TYPES).map((t) => ({ ...t, qid: qualifiedTypeId(key, t.id) }));
  const events = Object.values(HDM_EVENT_TYPES).map((e) => ({ ...e, qid: qualifiedTypeId(key, e.id) }));
  return {
    description: DESCRIPTION,
    key,
    company: COMPANY,
    version,
    server: [
      {
        url: inputs.manifestUrl,
        description: DESCRIPTION,
        company: COMPANY,
        type: 'MANIFEST_SERVER',
        adminEmail: ['hdm-admin@localhost'],
        serverThumbprint: inputs.serverThumbprint,
      },
    ],
    client: [{ version, description: DESCRIPTION, company: COMPANY, type: 'vsphere-client-remote', url: inputs.manifestUrl }],
    taskList: tasks.map((t) => ({ taskID: t.qid })),
    eventList: events.map((e) => ({ eventID: e.qid, eventTypeSchema: eventTypeSchema(e.qid, e.label) })),
    resourceList: [
      {
        locale: 'en',
        module: 'task',
        data: tasks.flatMap((t) => [
          { key: `${t.qid}.label`, value: t.label },
          { key: `${t.qid}.summary`, value: t.summary },
        ]),
      },
      {
        locale: 'en',
        module: 'event',
        data: events.flatMap((e) => [
          { key: `${e.qid}.category`, value: e.category },
          { key: `${e.qid}.fullFormat`, value: e.label },
        ]),
      },
    ],
    lastHeartbeatTime: new Date(),
    shownInSolutionManager: true,
  };
}

/** What to do given the registration vCenter holds now: register, update, or nothing. */
export function reconcileExtension(current: Partial<ExtensionSpec> | undefined, desired: ExtensionSpec): 'register' | 'update' | 'none' {
  if (!current) return 'register';
  const ids = (list: Array<{ taskID?: string; eventID?: string }> | undefined) =>
    (list ?? []).map((x) => x.taskID ?? x.eventID ?? '').sort().join('\n');
  const server = current.server?.find((s) => s.type === 'MANIFEST_SERVER');
  const client = current.client?.find((c) => c.type === 'vsphere-client-remote');
  const want = desired.server![0]!;
  const same =
    current.version === desired.version &&
    server?.url === want.url &&
    (server?.serverThumbprint ?? '').toUpperCase() === (want.serverThumbprint ?? '').toUpperCase() &&
    client?.url === desired.client![0]!.url &&
    client?.version === desired.client![0]!.version &&
    ids(current.taskList) === ids(desired.taskList) &&
    ids(current.eventList) === ids(desired.eventList);
  return same ? 'none' : 'update';
}

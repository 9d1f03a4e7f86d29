/**
 * HDM's vCenter task and event types. vCenter accepts CreateTask / EventEx only for
 * IDs listed in the registered extension's taskList / eventList, so every ID the
 * orchestrator uses must appear here (and gets its label in the resourceList).
 */
export const HDM_TASK_TYPES = {
  migrateCold: { id: 'migration.cold', label: 'HDM: cold migration to cloud', summary: 'Copies a powered-off VM to the cloud' },
  migrateWarm: { id: 'migration.warm', label: 'HDM: warm migration to cloud', summary: 'Runs the VM in the cloud from the cache while its disks are copied' },
  tryBeforeCommit: { id: 'migration.tbc', label: 'HDM: try before commit', summary: 'Runs the VM in the cloud while its data stays on premises' },
  migrateBack: { id: 'migration.back', label: 'HDM: migrate back', summary: 'Returns the VM with every acknowledged write' },
  commit: { id: 'migration.commit', label: 'HDM: commit migration', summary: 'Writes the final cloud disks and detaches from the cache' },
  prepareGuest: { id: 'guest.prepare', label: 'HDM: prepare to migrate', summary: 'Prepares the guest for iSCSI boot in the cloud' },
  deployAppliance: { id: 'appliance.deploy', label: 'HDM: deploy appliance', summary: 'Deploys an HDM appliance VM' },
} as const;

export const HDM_EVENT_TYPES = {
  migrationStarted: { id: 'migration.started', category: 'info', label: 'HDM migration of {vm} to {cloud} started' },
  migrationCompleted: { id: 'migration.completed', category: 'info', label: 'HDM migration of {vm} to {cloud} completed' },
  migrationFailed: { id: 'migration.failed', category: 'error', label: 'HDM migration of {vm} to {cloud} failed: {reason}' },
  migrationCancelled: { id: 'migration.cancelled', category: 'warning', label: 'HDM migration of {vm} to {cloud} was cancelled' },
  applianceDeployed: { id: 'appliance.deployed', category: 'info', label: 'HDM appliance {appliance} deployed' },
  applianceHeartbeatLost: { id: 'appliance.heartbeatLost', category: 'error', label: 'HDM appliance {appliance} stopped answering' },
} as const;

export type HdmTaskType = keyof typeof HDM_TASK_TYPES;
export type HdmEventType = keyof typeof HDM_EVENT_TYPES;

/** Full vCenter ID of a task or event type: `<extensionKey>.<id>`. */
export function qualifiedTypeId(extensionKey: string, id: string): string {
  return `${extensionKey}.${id}`;
}

/** DTOs of the HDM REST API (`/api/v1`) as consumed by the plugin UI. */

export interface Cloud {
  name: string;
  url: string;
}

export interface NamedRef {
  id: string;
  name: string;
}

export interface ResourcePoolRef extends NamedRef {
  /** id of the cluster the pool belongs to */
  cluster: string;
}

export interface DatastoreRef extends NamedRef {
  freeBytes: number;
}

export interface CloudInventory {
  clusters: NamedRef[];
  resourcePools: ResourcePoolRef[];
  datastores: DatastoreRef[];
  folders: NamedRef[];
  networks: NamedRef[];
}

export interface VmDisk {
  key: number;
  label: string;
  capacityBytes: number;
}

export interface VmNetwork {
  name: string;
}

export interface VmSummary {
  moid: string;
  name: string;
  powerState: string;
  guestId: string;
  numCpu: number;
  memoryMB: number;
  disks: VmDisk[];
  networks: VmNetwork[];
}

export type MigrationKind = 'cold' | 'warm' | 'tbc' | 'burst';

export interface Placement {
  cluster: string;
  resourcePool?: string;
  datastore: string;
  folder?: string;
}

export interface MigrationRequest {
  vm: string;
  cloud: string;
  kind: MigrationKind;
  targetName: string;
  placement: Placement;
  networkMap: Record<string, string>;
  powerOn: boolean;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'done', 'failed', 'cancelled'];

export interface Job {
  id: string;
  vm: string;
  vmName: string;
  cloud: string;
  kind: MigrationKind | string;
  state: JobState;
  bytesDone: number;
  bytesTotal: number;
  rateBytesPerSec: number;
  error?: string;
  createdAt: string;
  updatedAt: string;
}

/** Body of an error response from the server. */
export interface ApiErrorBody {
  message?: string;
  [key: string]: unknown;
}

import { CloudEntity } from '../clouds/cloud.entity';
import { MigrationJobEntity } from '../migrations/migration-job.entity';
import { VcenterSessionEntity } from './vcenter-session.entity';

/** Every persisted entity; the data source is built from this list. */
export const ENTITIES = [CloudEntity, MigrationJobEntity, VcenterSessionEntity];

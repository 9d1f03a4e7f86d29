import { DynamicModule, Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { HdmConfig } from '../config/hdm-config';
import { ENTITIES } from './entities';
import { DATA_SOURCE } from './data-source.token';
import { VCENTER_SESSION_STORE } from '../vsphere/vcenter-pool';
import { DatabaseVcenterSessionStore } from './vcenter-session-store';

export { DATA_SOURCE };

/**
 * SQLite (better-sqlite3) in the data directory by default, PostgreSQL when HDM_DB_URL
 * says so. SQLite runs in WAL mode with synchronous=FULL: a state change is on disk
 * before the call that made it returns, so a crash never loses an acknowledged step.
 */
export function createDataSource(config: Pick<HdmConfig, 'dataDir' | 'databaseUrl'>): DataSource {
  if (config.databaseUrl) {
    return new DataSource({ type: 'postgres', url: config.databaseUrl, entities: ENTITIES, synchronize: true });
  }
  mkdirSync(config.dataDir, { recursive: true });
  return new DataSource({
    type: 'better-sqlite3',
    database: join(config.dataDir, 'hdm.sqlite'),
    entities: ENTITIES,
    synchronize: true,
    enableWAL: true,
    prepareDatabase: (db: { pragma(s: string): unknown }) => {
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
    },
  });
}

class DataSourceCloser implements OnApplicationShutdown {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

@Global()
@Module({})
export class DatabaseModule {
  static register(config: HdmConfig): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: DATA_SOURCE,
          useFactory: async () => {
            const ds = createDataSource(config);
            await ds.initialize();
            new Logger('database').log(config.databaseUrl ? 'PostgreSQL' : `SQLite ${join(config.dataDir, 'hdm.sqlite')}`);
            return ds;
          },
        },
        DataSourceCloser,
        { provide: VCENTER_SESSION_STORE, useClass: DatabaseVcenterSessionStore },
      ],
      exports: [DATA_SOURCE, VCENTER_SESSION_STORE],
    };
  }
}

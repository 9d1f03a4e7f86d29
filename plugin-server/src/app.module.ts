import { DynamicModule, Global, Module } from '@nestjs/common';
import { ApiModule } from './api/api.module';
import { HDM_CONFIG, HdmConfig } from './config/hdm-config';
import { PkiModule } from './pki/pki.module';
import { PkiMaterial } from './pki/pki.service';
import { PluginModule } from './plugin/plugin.module';
import { DatabaseModule } from './database/database.module';
import { VsphereModule } from './vsphere/vsphere.module';
import { SessionModule } from './session/session.module';
import { VmsModule } from './vms/vms.module';
import { CloudsModule } from './clouds/clouds.module';
import { MigrationsModule } from './migrations/migrations.module';

@Global()
@Module({})
class ConfigModule {
  static register(config: HdmConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: HDM_CONFIG, useValue: config }], exports: [HDM_CONFIG] };
  }
}

/** Root module; configuration and CA material are loaded by main.ts before Nest starts. */
@Module({})
export class AppModule {
  static register(config: HdmConfig, pki: PkiMaterial): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(config),
        PkiModule.register(pki),
        DatabaseModule.register(config),
        { ...VsphereModule.register(), global: true },
        SessionModule,
        PluginModule,
        ApiModule,
        VmsModule,
        CloudsModule,
        MigrationsModule,
      ],
    };
  }
}

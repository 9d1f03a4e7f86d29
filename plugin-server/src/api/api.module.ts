import { Module } from '@nestjs/common';
import { PluginModule } from '../plugin/plugin.module';
import { HealthController } from './health.controller';

@Module({ imports: [PluginModule], controllers: [HealthController] })
export class ApiModule {}

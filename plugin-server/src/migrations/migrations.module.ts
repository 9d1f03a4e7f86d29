import { Module } from '@nestjs/common';
import { AppliancesModule } from '../appliances/appliances.module';
import { CloudsModule } from '../clouds/clouds.module';
import { VmsModule } from '../vms/vms.module';
import { MigrationRunnerService } from './migration-runner.service';
import { MigrationsController } from './migrations.controller';
import { MigrationsService } from './migrations.service';

@Module({
  imports: [VmsModule, CloudsModule, AppliancesModule],
  controllers: [MigrationsController],
  providers: [MigrationsService, MigrationRunnerService],
})
export class MigrationsModule {}

import { Module } from '@nestjs/common';
import { ManifestController } from './manifest.controller';
import { RegistrationService } from './registration.service';

@Module({
  controllers: [ManifestController],
  providers: [RegistrationService],
  exports: [RegistrationService],
})
export class PluginModule {}
